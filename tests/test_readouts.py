"""The readouts pane shows real scenarios' figures, formatted, with fit colours and compare deltas.

Expected strings are derived here from the exact parameter counts recorded in
tests/data/models.json (transformers on the meta device), not from the pane's formatter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual.app import App, ComposeResult

from llmscope.engine.evaluate import evaluate
from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.scenario import Scenario
from llmscope.tui.themes import THEME_VARIABLE_DEFAULTS, load_themes
from llmscope.tui.widgets.bars import MemoryBar, bar_cells
from llmscope.tui.widgets.readouts import ReadoutsPane


@pytest.fixture(scope="module")
def reference() -> Path:
    path = Path(__file__).resolve().parent / "data"
    if not (path / "models.json").exists():
        pytest.fail(f"reference facts not found at {path}: tests/data is part of the repository")
    return path


@pytest.fixture(scope="module")
def models(reference: Path) -> dict[str, dict]:
    return {m["id"]: m for m in json.loads((reference / "models.json").read_text())["models"]}


def scenario_for(model: dict, **sections) -> Scenario:
    arch = architecture_from_hf_config(model["raw_config"], name=model["name"])
    return Scenario(model=arch, **sections)


def billions(n: int) -> str:
    """Three significant digits in billions, as a reader would round by hand."""
    value = n / 1e9
    return f"{value:.2f}B" if value < 10 else (f"{value:.1f}B" if value < 100 else f"{value:.0f}B")


class Host(App):
    def __init__(self, theme: str = "llmscope-dark") -> None:
        super().__init__()
        self._theme_name = theme

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return THEME_VARIABLE_DEFAULTS

    def compose(self) -> ComposeResult:
        yield ReadoutsPane()

    def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
        self.theme = self._theme_name


def pane_text(app: App) -> str:
    """Every line the pane's widgets render, scrolled or not."""
    pane = app.query_one(ReadoutsPane)
    parts = []
    for widget in pane.query("Static, MemoryBar"):
        rendered = widget.render()
        parts.append(str(rendered.plain if hasattr(rendered, "plain") else rendered))
    return "\n".join(parts)


async def test_llama_3_8b_parameters_and_memory(models):
    model = models["llama-3-8b"]
    scenario = scenario_for(model)
    readout = evaluate(scenario)
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        app.query_one(ReadoutsPane).show(scenario, readout)
        await pilot.pause()
        text = pane_text(app)
    total = model["computed_params_hf_impl"]  # 8,030,261,248
    assert billions(total) == "8.03B"
    # Dense: every parameter is active.
    assert "8.03B total, 8.03B active per token" in text
    # The embedding table: vocab 128,256 x hidden 4,096 = 525,336,576 -> "525M".
    assert model["raw_config"]["vocab_size"] * model["raw_config"]["hidden_size"] == 525_336_576
    assert "embedding 525M" in text
    # A dense model has no expert rows.
    assert "routed experts" not in text
    assert readout.accelerator.name in text


async def test_mixtral_shows_active_and_expert_parameters(models):
    model = models["mixtral-8x7b-v0.1"]
    scenario = scenario_for(model)
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        app.query_one(ReadoutsPane).show(scenario, evaluate(scenario))
        await pilot.pause()
        text = pane_text(app)
    assert billions(model["computed_params_hf_impl"]) in text  # 46.7B total
    assert billions(model["computed_active_params_hf_impl"]) in text  # 12.9B active
    assert "routed experts" in text and "router" in text


async def test_fit_class_follows_the_memory_status(models):
    model = models["llama-3-8b"]
    # 8B parameters with mixed-precision Adam and no sharding need 16 bytes each (Rajbhandari et
    # al. 2020, ZeRO Sec. 3.1): 128 GB, more than one 80 GB accelerator holds.
    alone = scenario_for(
        model,
        cluster={"count": 1, "per_node": 1},
        training={"zero_stage": 0},
    )
    # Spread over 64 accelerators with ZeRO-3 the same model fits easily.
    sharded = scenario_for(model, cluster={"count": 64}, training={"zero_stage": 3})
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.query_one(ReadoutsPane)
        bar = app.query_one("#training-memory", MemoryBar)
        readout = evaluate(alone)
        assert readout.training_fit.used_bytes > 16 * model["computed_params_hf_impl"]
        pane.show(alone, readout)
        await pilot.pause()
        assert bar.has_class("-over") and not bar.has_class("-fits")
        assert "does not fit" in pane_text(app)
        # Without ZeRO every replica holds all states: no number of replicas helps.
        assert readout.training_fit.min_accelerators is None
        assert "no cluster size alone fits" in pane_text(app)
        styles = {str(span.style) for span in bar.render().spans}
        assert any("$fit-over" in style for style in styles)

        pane.show(sharded, evaluate(sharded))
        await pilot.pause()
        assert bar.has_class("-fits") and not bar.has_class("-over")

        # ZeRO-3 on one accelerator is still over, but sharding over enough replicas fits.
        zero3_alone = scenario_for(
            model, cluster={"count": 1, "per_node": 1}, training={"zero_stage": 3}
        )
        readout = evaluate(zero3_alone)
        pane.show(zero3_alone, readout)
        await pilot.pause()
        assert bar.has_class("-over")
        smallest = readout.training_fit.min_accelerators
        assert smallest is not None and smallest > 1
        assert f"smallest cluster that fits: {smallest}" in pane_text(app)


async def test_serving_70b_in_bf16_does_not_fit_one_accelerator(models):
    # 70.6B parameters x 2 bytes = 141 GB of weights alone: more than 80 GB.
    model = models["llama-3.1-70b"]
    scenario = scenario_for(model, serving={"tensor_parallel": 1})
    readout = evaluate(scenario)
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        app.query_one(ReadoutsPane).show(scenario, readout)
        await pilot.pause()
        bar = app.query_one("#serving-memory", MemoryBar)
        assert bar.has_class("-over")
        assert readout.serving_fit.min_accelerators is not None
        assert f"smallest that fits: {readout.serving_fit.min_accelerators}" in pane_text(app)


async def test_compare_mode_shows_both_and_the_change(models):
    small, large = models["llama-3-8b"], models["llama-3.1-70b"]
    a = scenario_for(small)
    b = scenario_for(large)
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.query_one(ReadoutsPane)
        pane.show(b, evaluate(b), pinned=(a, evaluate(a)))
        await pilot.pause()
        text = pane_text(app)
        assert pane.has_class("-compare")
        assert f"A: {small['name']}" in text and f"B: {large['name']}" in text
        line = next(x for x in text.splitlines() if x.startswith("total parameters"))
        delta = large["computed_params_hf_impl"] - small["computed_params_hf_impl"]
        percent = delta / small["computed_params_hf_impl"] * 100  # +778.6%
        assert billions(large["computed_params_hf_impl"]) in line  # 70.6B
        assert billions(small["computed_params_hf_impl"]) in line  # 8.03B
        assert f"+{billions(delta)}" in line  # +62.5B
        assert f"+{percent:.0f}%" in line
        # Leaving compare mode removes the A column again, in the same widgets.
        widgets_before = list(pane.query("*"))
        pane.show(b, evaluate(b))
        await pilot.pause()
        assert list(pane.query("*")) == widgets_before
        assert not pane.has_class("-compare")
        assert "A: " not in pane_text(app)


async def test_compare_lines_fit_78_columns(models):
    a = scenario_for(models["llama-3-8b"])
    b = scenario_for(models["deepseek-v3"], cluster={"count": 2048})
    app = Host()
    async with app.run_test(size=(78, 18)) as pilot:
        pane = app.query_one(ReadoutsPane)
        pane.show(b, evaluate(b), pinned=(a, evaluate(a)))
        await pilot.pause()
        for widget_id in ("parameters", "training", "serving"):
            rendered = str(pane.query_one(f"#{widget_id}").render())
            longest = max(len(line) for line in rendered.splitlines())
            assert longest <= 76, (widget_id, longest)


async def test_uncertain_catalog_figures_are_marked(models):
    from llmscope.engine.hardware import builtin_catalog

    uncertain = [acc for acc in builtin_catalog() if "memory_gb" in acc.uncertain]
    assert uncertain, "the catalog marks some accelerators' memory as unconfirmed"
    accelerator = uncertain[0]
    scenario = scenario_for(models["llama-3-8b"], cluster={"accelerator": accelerator.id})
    app = Host()
    async with app.run_test(size=(100, 40)) as pilot:
        app.query_one(ReadoutsPane).show(scenario, evaluate(scenario))
        await pilot.pause()
        text = pane_text(app)
        heading = str(app.query_one("#memory-heading").render())
    assert "~" in heading  # the capacity rests on the unconfirmed memory figure
    for field in accelerator.uncertain:
        assert field in text


@pytest.mark.parametrize("theme", [t.name for t in load_themes()] + ["textual-light"])
async def test_pane_renders_under_every_theme(models, theme):
    scenario = scenario_for(models["qwen3-30b-a3b"])
    app = Host(theme)
    async with app.run_test(size=(78, 18)) as pilot:
        app.query_one(ReadoutsPane).show(scenario, evaluate(scenario))
        await pilot.pause()
        assert "Parameters" in pane_text(app)


def test_bar_cells_round_boundaries_not_parts():
    thirds = (("a", 1.0), ("b", 1.0), ("c", 1.0))
    assert bar_cells(thirds, 3.0, 10) == [3, 4, 3]  # boundaries at 3.33 -> 3 and 6.67 -> 7
    assert bar_cells(thirds, 6.0, 10) == [2, 1, 2]  # boundaries at 1.67 -> 2, 3.33 -> 3, 5


@given(
    sizes=st.lists(st.floats(0, 1e12), min_size=1, max_size=6),
    spare=st.floats(0, 1e12),
    width=st.integers(1, 200),
)
def test_bar_cells_fill_exactly_the_used_share(sizes, spare, width):
    components = tuple((str(i), size) for i, size in enumerate(sizes))
    scale = sum(sizes) + spare
    cells = bar_cells(components, scale, width)
    assert all(cell >= 0 for cell in cells)
    expected = round(sum(sizes) / scale * width) if scale > 0 else 0
    assert sum(cells) == min(width, expected)


async def test_training_figures_scale_their_units(models):
    # Llama 3 8B on 15T tokens: ~7.2e23 FLOPs. On 8 accelerators that is years; on 2,048, days.
    model = models["llama-3-8b"]
    app = Host()
    async with app.run_test(size=(100, 60)) as pilot:
        pane = app.query_one(ReadoutsPane)
        for count, unit in ((8, "years"), (2048, "days")):
            scenario = scenario_for(
                model, cluster={"count": count},
                training={"tokens": 15e12, "global_batch_size": 2048},
            )  # fmt: skip
            readout = evaluate(scenario)
            pane.show(scenario, readout)
            await pilot.pause()
            text = str(pane.query_one("#training").render())
            # Wall clock = model FLOPs / (accelerators x dense bf16 peak x MFU) (PaLM, App. B).
            peak = readout.accelerator.bf16_tflops * 1e12
            seconds = readout.training.flops / (count * peak * readout.training.mfu)
            value = seconds / (365.25 * 86400 if unit == "years" else 86400)
            digits = max(0, 2 - int(f"{value:e}".split("e")[1]))
            line = next(x for x in text.splitlines() if x.startswith("wall clock"))
            assert line.split()[-2:] == [f"{value:.{digits}f}", unit]
            cost = next(x for x in text.splitlines() if x.startswith("cost"))
            # The default accelerator has a dated catalog price; the bill for this run is $M.
            assert readout.training.cost_usd is not None and readout.training.cost_usd > 1e6
            assert cost.rstrip().endswith("M")


async def test_compare_with_the_same_model_keeps_parameters_short(models):
    a = scenario_for(models["llama-3-8b"], training={"tokens": 2e12})
    b = a.with_value("training.tokens", 8e12)
    app = Host()
    async with app.run_test(size=(100, 60)) as pilot:
        pane = app.query_one(ReadoutsPane)
        pane.show(b, evaluate(b), pinned=(a, evaluate(a)))
        await pilot.pause()
        text = pane_text(app)
    assert "Parameters (A: the same)" in text
    assert "total parameters" not in text
    # Four times the tokens: four times the training FLOPs, +300%.
    flops = next(x for x in text.splitlines() if x.startswith("training FLOPs"))
    assert flops.rstrip().endswith("(+300%)")


def _bundled_readouts():
    from llmscope.presets.library import bundled_dir
    from llmscope.presets.sources import load_source

    for path in sorted(bundled_dir().glob("*.toml")):
        scenario = load_source(str(path))[0]
        yield path.stem, evaluate(scenario)
        # and with a layout that breaks a rule (3 does not divide the heads)
        yield f"{path.stem} TP3", evaluate(scenario.with_value("training.tensor_parallel", 3))


def test_summary_line_fits_one_line_of_an_80_column_terminal_for_every_bundled_preset():
    """At 80 columns (78 inside the padding) the summary takes one line, modified or not, and
    keeps every figure: parameters, both fit words, time, dollars and the serving setup."""
    from llmscope.presets.numbers import format_count, format_usd
    from llmscope.tui.widgets.bars import STATUS_WORDS
    from llmscope.tui.widgets.summary import TERSE_STATUS_WORDS, summary_for_width

    for name, readout in _bundled_readouts():
        for modified in (False, True):
            text = summary_for_width(readout, modified, 78).plain
            assert len(text) <= 78, (name, text)
            assert text.startswith("●") == modified, (name, text)
            assert format_count(readout.params.total) in text, (name, text)
            for fit in (readout.training_fit.status, readout.serving_fit.status):
                assert STATUS_WORDS[fit] in text or TERSE_STATUS_WORDS[fit] in text, (name, text)
            if readout.training is not None and readout.training.cost_usd is not None:
                assert format_usd(readout.training.cost_usd) in text, (name, text)
            if readout.training is None and readout.training_problems:
                assert "invalid layout" in text, (name, text)
            best = readout.serving_frontier.best_at_target
            if best is not None:
                assert f"TP{best.tensor_parallel} x{best.batch}" in text, (name, text)
        # With room, the full sentence.
        wide = summary_for_width(readout, True, 200).plain
        assert wide.startswith("● modified · ") and " params" in wide and "train: " in wide


def test_summary_line_gives_the_cheapest_serving_setup_at_the_per_user_target():
    from llmscope.engine.evaluate import evaluate
    from llmscope.presets.sources import load_source
    from llmscope.tui.widgets.summary import summary_content

    scenario, _, _ = load_source("llama3.1-70b")
    scenario = scenario.with_values(
        {"serving.weight_dtype": "fp8", "serving.kv_dtype": "fp8", "serving.batch_size": 1}
    )
    readout = evaluate(scenario)
    best = readout.serving_frontier.best_at_target
    text = summary_content(readout).plain
    assert f"TP{best.tensor_parallel} x{best.batch} at ≥20 tok/s/user" in text
    # Not the batch-1 figure of the scenario itself.
    assert f"{readout.serving.decode_tokens_per_s:.1f} tok/s/user" not in text
    # No setup reaches 100,000 tok/s per user: the scenario's own point instead.
    unreachable = evaluate(scenario.with_value("serving.min_tokens_per_s_per_user", 100_000.0))
    assert unreachable.serving_frontier.best_at_target is None
    assert " tok/s/user" in summary_content(unreachable).plain
