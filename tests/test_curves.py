"""The scaling-curves pane: every law x view draws, the scenario's point is marked, N* and D* are
shown, the keys ask the app for another law or view, and colours follow the theme."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.color import Color

from llmscope.engine.evaluate import evaluate
from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.scaling import LAW_IDS, VIEWS
from llmscope.engine.scenario import Scenario
from llmscope.tui.themes import THEME_VARIABLE_DEFAULTS, load_themes
from llmscope.tui.widgets.curves import (
    PINNED_MARKER,
    POINT_MARKER,
    CurvesPane,
    decade_ticks,
    log_ticks,
    nice_ticks,
    plot_colour,
)


@pytest.fixture(scope="module")
def llama_3_8b() -> Scenario:
    path = Path(__file__).resolve().parent / "data" / "models.json"
    if not path.exists():
        pytest.fail(f"reference facts not found at {path}: tests/data is part of the repository")
    model = next(m for m in json.loads(path.read_text())["models"] if m["id"] == "llama-3-8b")
    arch = architecture_from_hf_config(model["raw_config"], name=model["name"])
    # Llama 3 8B was trained on over 15T tokens (Llama 3 model card).
    return Scenario(model=arch, training={"tokens": 15e12})


class Host(App):
    def __init__(self, theme: str = "llmscope-dark") -> None:
        super().__init__()
        self._theme_name = theme
        self.choices: list[tuple[str, str]] = []

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return THEME_VARIABLE_DEFAULTS

    def compose(self) -> ComposeResult:
        yield CurvesPane()

    def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
        self.theme = self._theme_name

    def on_curves_pane_scaling_choice(self, message: CurvesPane.ScalingChoice) -> None:
        self.choices.append((message.key, message.value))


def plot_text(app: App) -> str:
    return app.query_one("#curve-plot").render().plain


def side_text(app: App) -> str:
    return "\n".join(
        str(app.query_one(f"#{i}").render())
        for i in ("curve-summary", "curve-legend", "curve-note")
    )


def count_text(value: float) -> str:
    """Three significant digits with k/M/B/T, derived independently of the app's formatter."""
    for factor, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            scaled = value / factor
            digits = max(0, 2 - math.floor(math.log10(scaled)))
            return f"{scaled:.{digits}f}{suffix}"
    return f"{value:.0f}"


async def test_every_law_and_view_draws_with_the_point_and_the_optimum(llama_3_8b):
    app = Host()
    async with app.run_test(size=(78, 18)) as pilot:
        pane = app.query_one(CurvesPane)
        for law in LAW_IDS:
            for view in VIEWS:
                scenario = llama_3_8b.with_values({"scaling.law": law, "scaling.view": view})
                readout = evaluate(scenario)
                pane.show(scenario, readout)
                await pilot.pause()
                assert POINT_MARKER in plot_text(app), (law, view)
                text = side_text(app)
                assert count_text(readout.scaling.optimal_params) in text, (law, view)
                assert count_text(readout.scaling.optimal_tokens) in text, (law, view)
                assert pane.current_curve is not None
                assert len(pane.current_curve.series) == (
                    5 if view == "isoflop" and law != "deepseek2024" else 1
                )


async def test_over_training_is_named(llama_3_8b):
    # ~1,870 tokens per parameter against ~20 at the Chinchilla optimum: heavily over-trained.
    scenario = llama_3_8b.with_value("scaling.law", "besiroglu2024")
    readout = evaluate(scenario)
    assert readout.scaling.tokens_per_param == pytest.approx(15e12 / readout.params.total)
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(CurvesPane).show(scenario, readout)
        await pilot.pause()
        assert "over-trained" in side_text(app)
        assert f"{15e12 / readout.params.total:,.0f}" in side_text(app)  # D/N = 1,868


async def test_hoffmann_shows_its_inconsistency_note(llama_3_8b):
    scenario = llama_3_8b.with_value("scaling.law", "hoffmann2022")
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(CurvesPane).show(scenario, evaluate(scenario))
        await pilot.pause()
        assert "Besiroglu" in side_text(app)


async def test_compare_marks_the_pinned_point_too(llama_3_8b):
    a = llama_3_8b.with_value("training.tokens", 2e12)
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(CurvesPane).show(llama_3_8b, evaluate(llama_3_8b), pinned=(a, evaluate(a)))
        await pilot.pause()
        assert PINNED_MARKER in plot_text(app) and POINT_MARKER in plot_text(app)
        assert "pinned A" in side_text(app)


async def test_keys_ask_for_the_next_law_and_view(llama_3_8b):
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(CurvesPane)
        pane.show(llama_3_8b, evaluate(llama_3_8b))
        pane.focus()
        await pilot.press("l", "v")
        await pilot.pause()
    law, view = llama_3_8b.scaling.law, llama_3_8b.scaling.view
    assert app.choices == [
        ("scaling.law", LAW_IDS[(LAW_IDS.index(law) + 1) % len(LAW_IDS)]),
        ("scaling.view", VIEWS[(VIEWS.index(view) + 1) % len(VIEWS)]),
    ]


async def test_curve_colour_comes_from_the_theme(llama_3_8b):
    for theme in load_themes():
        app = Host(theme.name)
        async with app.run_test(size=(78, 18)) as pilot:
            app.query_one(CurvesPane).show(llama_3_8b, evaluate(llama_3_8b))
            await pilot.pause()
            rendered = app.query_one("#curve-plot").render()
            braille = [
                span.style
                for span in rendered.spans
                if any(0x2801 <= ord(ch) <= 0x28FF for ch in rendered.plain[span.start : span.end])
            ]
            assert braille, theme.name
            colour = braille[0].color
            expected = theme.variables["curve-1"]
            if theme.ansi:
                assert colour.number == plot_colour(expected), theme.name
            else:
                assert colour.triplet is not None
                assert tuple(colour.triplet) == Color.parse(expected).rgb, theme.name


async def test_every_iso_flop_budget_has_its_own_colour_in_every_theme(llama_3_8b):
    scenario = llama_3_8b.with_value("scaling.view", "isoflop")
    for theme in load_themes():
        app = Host(theme.name)
        async with app.run_test(size=(120, 30)) as pilot:
            pane = app.query_one(CurvesPane)
            pane.show(scenario, evaluate(scenario))
            await pilot.pause()
            assert len(pane.current_curve.series) == 5
            rendered = app.query_one("#curve-plot").render()
            colours = {
                span.style.color
                for span in rendered.spans
                if any(0x2801 <= ord(ch) <= 0x28FF for ch in rendered.plain[span.start : span.end])
            }
            assert len(colours) == 5, theme.name


def test_plot_colour_maps_ansi_names_to_palette_indices():
    assert plot_colour("ansi_red") == 1
    assert plot_colour("ansi_bright_white") == 15
    assert plot_colour("#102030") == (16, 32, 48)


@given(
    low_exp=st.floats(-3, 30),
    span=st.floats(0.01, 12),
)
def test_log_ticks_lie_inside_the_range_in_order(low_exp, span):
    low, high = 10.0**low_exp, 10.0 ** (low_exp + span)
    positions, labels = log_ticks(low, high, as_count=False)
    assert len(positions) == len(labels)
    assert positions == sorted(positions)
    assert all(math.log10(low) - 1e-6 <= p <= math.log10(high) + 1e-6 for p in positions)
    if span >= 1:
        assert len(positions) >= 1


def test_decade_ticks_label_round_counts():
    positions, labels = decade_ticks(1e8, 1e13, as_count=True)
    assert labels == ["100M", "1B", "10B", "100B", "1T", "10T"]
    assert positions == pytest.approx([8, 9, 10, 11, 12, 13])


@given(low=st.floats(0.1, 100), width=st.floats(0.01, 100))
def test_nice_ticks_are_round_and_within_range(low, width):
    ticks = nice_ticks(low, low + width)
    assert 2 <= len(ticks) <= 11
    assert all(low - 1e-9 <= t <= low + width + 1e-9 for t in ticks)


async def test_switching_theme_recolours_the_curve(llama_3_8b):
    app = Host("llmscope-dark")
    themes = {t.name: t for t in load_themes()}
    async with app.run_test(size=(78, 18)) as pilot:
        app.query_one(CurvesPane).show(llama_3_8b, evaluate(llama_3_8b))
        await pilot.pause()
        app.theme = "llmscope-light"
        await pilot.pause()
        rendered = app.query_one("#curve-plot").render()
        colours = {
            tuple(span.style.color.triplet)
            for span in rendered.spans
            if span.style.color is not None and span.style.color.triplet is not None
        }
    assert Color.parse(themes["llmscope-light"].variables["curve-1"]).rgb in colours
    assert Color.parse(themes["llmscope-dark"].variables["curve-1"]).rgb not in colours


async def test_a_scenario_the_law_cannot_place_is_explained_not_raised(llama_3_8b, monkeypatch):
    from llmscope.engine.errors import EngineInputError
    from llmscope.tui.widgets import curves

    def refuse(*args, **kwargs):
        raise EngineInputError("params_non_embedding: must be greater than 0 (got 0)")

    app = Host()
    async with app.run_test(size=(78, 18)) as pilot:
        pane = app.query_one(CurvesPane)
        monkeypatch.setattr(curves, "curve", refuse)
        pane.show(llama_3_8b, evaluate(llama_3_8b))
        await pilot.pause()
        title = str(app.query_one("#curve-title").render())
    assert "No curve for this scenario" in title and "params_non_embedding" in title
    assert pane.current_curve is None


async def test_a_mixture_of_experts_is_plotted_where_its_figures_place_it():
    """Mixtral 8x7B: 46.7B parameters, 12.9B active (Jiang et al. 2024). The laws place it by
    its active parameters (C = 6 N D counts what each token uses); the plotted point must stand
    at the compute shown beside it, not at 6 x total x D."""
    path = Path(__file__).resolve().parent / "data" / "models.json"
    model = next(m for m in json.loads(path.read_text())["models"] if m["id"] == "mixtral-8x7b-v0.1")
    scenario = Scenario(
        model=architecture_from_hf_config(model["raw_config"]), training={"tokens": 2e12}
    )
    readout = evaluate(scenario)
    assert readout.params.active < 0.3 * readout.params.total
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(CurvesPane)
        pane.show(scenario, readout)
        await pilot.pause()
        x, _ = pane.current_curve.point
        assert x == pytest.approx(readout.scaling.compute_flops, rel=1e-9)
        assert x == pytest.approx(6 * readout.params.active * 2e12, rel=1e-9)
        assert "N active" in side_text(app)


# --- the serving view ---------------------------------------------------------------------------


def _llama_70b_fp8(view: str = "serving"):
    from llmscope.presets.sources import load_source

    scenario, _, _ = load_source("llama3.1-70b")
    return scenario.with_values(
        {
            "serving.weight_dtype": "fp8",
            "serving.kv_dtype": "fp8",
            "serving.tensor_parallel": 4,
            "serving.batch_size": 64,
            "scaling.view": view,
        }
    )


async def test_serving_view_draws_one_curve_per_tensor_parallel_degree_with_the_point():
    scenario = _llama_70b_fp8()
    readout = evaluate(scenario)
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(CurvesPane)
        pane.show(scenario, readout)
        await pilot.pause()
        shown = pane.current_curve
        assert [s.label for s in shown.series] == ["TP 1", "TP 2", "TP 4", "TP 8"]
        # The curves are the frontier of the readout (`show --json` serving.frontier) as drawn.
        frontier = readout.serving_frontier
        assert sum(len(s.x) for s in shown.series) == len(frontier.points)
        for series, tp in zip(shown.series, frontier.tensor_parallel_degrees):
            curve_points = frontier.curve(tp)
            assert list(series.x) == [p.tokens_per_s_per_user for p in curve_points]
            assert list(series.y) == [p.tokens_per_s_per_accelerator for p in curve_points]
        assert shown.point == (
            readout.serving.decode_tokens_per_s, readout.serving.tokens_per_s_per_accelerator
        )
        assert POINT_MARKER in plot_text(app)
        text = side_text(app)
        best = frontier.best_at_target
        assert "Cheapest ≥20 tok/s/user" in text
        assert f"{best.tensor_parallel} x {best.batch}" in text
        assert f"${best.usd_per_million_output_tokens_all_in:.2f}" in text
        assert "Serving frontier" in str(app.query_one("#curve-title").render())


async def test_serving_view_follows_serving_edits_and_marks_the_pinned_point():
    scenario = _llama_70b_fp8()
    bigger = scenario.with_value("serving.batch_size", 128)
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(CurvesPane)
        pane.show(scenario, evaluate(scenario))
        await pilot.pause()
        pane.show(bigger, evaluate(bigger), pinned=(scenario, evaluate(scenario)))
        await pilot.pause()
        assert "4 x 128" in side_text(app)
        assert PINNED_MARKER in plot_text(app) and POINT_MARKER in plot_text(app)


async def test_v_reaches_the_serving_view_after_the_scaling_views():
    scenario = _llama_70b_fp8("isoflop")
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(CurvesPane)
        pane.show(scenario, evaluate(scenario))
        pane.focus()
        await pilot.press("v")
        await pilot.pause()
        serving = scenario.with_value("scaling.view", "serving")
        pane.show(serving, evaluate(serving))
        await pilot.press("v")
        await pilot.pause()
    assert app.choices == [("scaling.view", "serving"), ("scaling.view", "frontier")]


async def test_serving_view_says_when_no_degree_in_a_node_holds_the_model():
    from llmscope.presets.sources import load_source

    scenario, _, _ = load_source("llama3.1-405b")
    scenario = scenario.with_values(
        {"scaling.view": "serving", "cluster.per_node": 2, "cluster.count": 8}
    )
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(CurvesPane)
        pane.show(scenario, evaluate(scenario))
        await pilot.pause()
        assert pane.current_curve is None
        assert "no tensor-parallel degree up to 2" in str(app.query_one("#curve-title").render())
