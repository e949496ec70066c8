"""Reports: every readout key reaches JSON and Markdown, units follow the key names, diffs are
b - a."""

from __future__ import annotations

import json

import pytest

from llmscope.engine.evaluate import evaluate
from llmscope.engine.scenario import Scenario
from llmscope.presets import report
from llmscope.presets.files import load_preset
from llmscope.presets.library import bundled_dir


@pytest.fixture(autouse=True)
def hermetic(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMSCOPE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("LLMSCOPE_PRESET_PATH", raising=False)


class StubReadout:
    """A readout with keys the engine may grow later: reports must take whatever is there."""

    def __init__(self, flat):
        self.flat = flat

    def to_flat_dict(self):
        return dict(self.flat)


STUB = {
    "params.total": 70_553_706_496,
    "memory.weights_bytes": 5 * 2**30,
    "training.wall_clock_s": 86_400.0 * 3,
    "training.cost_usd": 1234.5,
    "serving.decode_tokens_per_s": 1500.0,
    "serving.fits": True,
    "serving.price_source": "catalog | 2026 [bold]x[/]",
    "scaling.loss": 1.95,
    "newgroup.something_else": float("inf"),
}


def test_json_holds_every_flat_key_the_scenario_and_the_meta():
    scenario = load_preset(bundled_dir() / "mixtral-8x7b.toml").scenario
    readout = evaluate(scenario)
    doc = json.loads(report.render_json(scenario, readout, {"name": "mixtral"}))
    flat = readout.to_flat_dict()
    for key, value in flat.items():
        if isinstance(value, float) and value != value:
            continue
        assert key in doc
    assert doc["params.total"] == 46_702_792_704  # models.json computed_params_hf_impl
    assert Scenario.model_validate(doc["scenario"]) == scenario
    assert doc["preset"] == {"name": "mixtral"}


def test_json_takes_unknown_keys_and_writes_no_infinity():
    text = report.render_json(Scenario(), StubReadout(STUB), {})
    doc = json.loads(text)
    assert doc["newgroup.something_else"] is None
    assert doc["serving.fits"] is True
    assert "Infinity" not in text and "NaN" not in text


def test_markdown_has_one_table_per_group_with_units_scaled():
    text = report.render_markdown(Scenario(), StubReadout(STUB), "stub | name")
    assert text.startswith("# stub \\| name") or text.startswith("# stub | name")
    for title in (
        "## Parameters",
        "## Memory",
        "## Training",
        "## Serving",
        "## Scaling laws",
        "## Newgroup",
    ):
        assert title in text
    assert "| weights_bytes | 5.00 GiB | 5,368,709,120 |" in text
    assert "| total | 70.6B | 70,553,706,496 |" in text
    assert "3.00 days" in text
    assert "/s" in text.split("decode_tokens_per_s", 1)[1].splitlines()[0]
    # a pipe inside a value must not split the table row
    assert "catalog \\| 2026 [bold]x[/]" in text


def test_text_report_shows_control_characters_escaped():
    scenario = Scenario().with_value("model.name", "evil\x1b]0;title\x07")
    text = report.render_text(scenario, evaluate(scenario))
    assert "\x1b" not in text and "\\x1b]0;title\\x07" in text


@pytest.mark.parametrize(
    ("key", "value", "unit"),
    [
        ("memory.weights_bytes", 2 * 2**40, "TiB"),
        ("kv_cache.bytes_per_token", 327_680, "KiB"),
        ("serving.ttft_s", 0.0156, "ms"),
        ("flops.forward_per_token", 1.5e11, "1.50e11 FLOP"),
        ("training.flops", 3.7e24, "3.70e24 FLOP"),
        ("params.total", 8.03e9, "B"),
        ("serving.tokens_per_s_per_accelerator", 35.3, "/s"),
        ("training.cost_usd", 14_000_000.0, "$"),
    ],
)
def test_units_follow_the_key_name(key, value, unit):
    assert unit in report.format_value(key, value)


def test_diff_reports_b_minus_a_and_settings_that_differ():
    a = load_preset(bundled_dir() / "llama2-7b.toml").scenario
    b = load_preset(bundled_dir() / "llama2-70b.toml").scenario
    doc = json.loads(report.render_diff(("a", a), ("b", b), "json"))
    total = doc["readout"]["params.total"]
    assert (total["a"], total["b"]) == (6_738_415_616, 68_976_648_192)  # models.json
    assert total["delta"] == 68_976_648_192 - 6_738_415_616
    assert total["ratio"] == pytest.approx(68_976_648_192 / 6_738_415_616)
    assert doc["settings"]["model.num_layers"] == {"a": 32, "b": 80}
    assert "training.tokens" not in doc["settings"]  # both 2T
    text = report.render_diff(("a", a), ("b", b))
    assert "model.num_layers" in text and "+62.2B" in text
    assert report.render_diff(("a", a), ("b", b), "md").startswith("# a vs b")


def test_published_figures_are_set_beside_the_computed_ones():
    preset = load_preset(bundled_dir() / "mixtral-8x22b.toml")
    readout = evaluate(preset.scenario)
    rows = {
        row[0]: row
        for row in report.published_rows(preset.published, readout.to_flat_dict(), preset.scenario)
    }
    total = rows["params_total"]
    assert total[1] == "141,000,000,000"
    assert total[2] == f"{readout.params.total:,}"
    assert float(total[3]) == pytest.approx(readout.params.total / 141e9, abs=1e-4)
    assert rows["source"][2] == "" and rows["source"][3] == ""
    text = report.render_text(preset.scenario, readout, "m", preset.published)
    assert "Published figures" in text and "mistral.ai" in text
