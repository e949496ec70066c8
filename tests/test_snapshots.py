"""Pictures of the app at 80x24 and 160x48, compared with the accepted SVGs in __snapshots__/.

Each test also checks the state behind its picture (scenario, readout, which panes are shown), so
an accepted picture of a wrong screen cannot pass silently. The pictures are kept free of anything
that varies between runs or machines: the theme is fixed, detection of this box is off, settings
and presets live in a temporary folder, the text cursor does not blink and no toast (which times
out) is on screen. Regenerate with `pytest tests/test_snapshots.py --snapshot-update` and look at
the new pictures before committing them.
"""

from __future__ import annotations

import pytest
from pilot import (  # noqa: F401 (hermetic is a fixture)
    colours_drawn,
    error_text,
    field_text,
    hermetic,
    is_focused,
    is_invalid,
    step,
    type_into,
)
from textual.widgets import Input, Static, Tabs

from llmscope.engine.scenario import Scenario
from llmscope.presets.library import find_preset
from llmscope.tui.app import LlmscopeApp

NARROW = (80, 24)
WIDE = (160, 48)
THEME = "llmscope-dark"


pytestmark = pytest.mark.usefixtures("hermetic")


def make_app(scenario: Scenario | None = None, preset_name: str | None = None) -> LlmscopeApp:
    preset = find_preset(preset_name) if preset_name else None
    app = LlmscopeApp(scenario=scenario, preset=preset, detect_box=False)
    app.theme = THEME
    return app


# --- helpers: what a person does, and settling the screen before the picture -------------------


def shown_panes(app: LlmscopeApp) -> set[str]:
    return {name for name in ("builder", "readouts", "curves") if app.query_one(f"#{name}").display}


async def settle(pilot) -> None:
    """Freeze what would change with time: the blinking cursor (shown, steady) and toasts."""
    app = pilot.app
    for widget in app.query(Input):
        widget.cursor_blink = False
    app.clear_notifications()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    assert app.theme == THEME
    assert len(app.screen_stack) == 1  # the main screen: no dialog, help or planner over it


# --- 80x24: one pane at a time ----------------------------------------------------------------


def test_start_shows_the_builder_with_the_default_scenario(snap_compare):
    app = make_app()

    async def run_before(pilot) -> None:
        await settle(pilot)
        assert app.layout_mode == "narrow" and app.view == "builder"
        assert shown_panes(app) == {"builder"}
        assert app.query_one("#builder").active == "tab-model"
        assert app.query_one("#view-tabs", Tabs).active == "tab-builder"
        assert app.scenario == Scenario() and not app.unsaved and app.pinned is None
        assert field_text(app, "model.num_layers") == str(Scenario().model.num_layers)
        assert app.sub_title == Scenario().model.name

    assert snap_compare(app, terminal_size=NARROW, run_before=run_before)


def test_readouts_of_the_llama_3_1_8b_preset(snap_compare):
    app = make_app(preset_name="llama3.1-8b")

    async def run_before(pilot) -> None:
        await step(pilot, "f3")
        await settle(pilot)
        assert app.view == "readouts" and shown_panes(app) == {"readouts"}
        assert app.query_one("#view-tabs", Tabs).active == "tab-readouts"
        assert app.preset_name == "llama3.1-8b" and not app.unsaved
        model = app.scenario.model
        # Llama 3.1 8B: 32 layers, hidden 4096, 32 query and 8 KV heads (Meta's config.json).
        assert (model.num_layers, model.hidden_size) == (32, 4096)
        assert (model.num_attention_heads, model.num_kv_heads) == (32, 8)
        # transformers counts 8,030,261,248 parameters for this config; dense, so all active.
        assert app.readout.params.total == 8_030_261_248
        assert app.readout.params.active == app.readout.params.total
        assert "8.03B" in str(app.query_one("#parameters", Static).render())

    assert snap_compare(app, terminal_size=NARROW, run_before=run_before)


def test_an_invalid_kv_head_count_shows_its_reason_on_the_field(snap_compare):
    app = make_app()

    async def run_before(pilot) -> None:
        before = app.scenario
        await type_into(pilot, app, "model.num_kv_heads", "5")
        await settle(pilot)
        # 5 KV heads cannot be shared evenly by 32 query heads (GQA): refused, nothing changes.
        assert app.scenario == before and not app.unsaved
        assert is_invalid(app, "model.num_kv_heads")
        reason = error_text(app, "model.num_kv_heads")
        assert "num_kv_heads" in reason and "32" in reason
        assert field_text(app, "model.num_kv_heads") == "5"
        assert is_focused(app, "model.num_kv_heads")
        assert shown_panes(app) == {"builder"}

    assert snap_compare(app, terminal_size=NARROW, run_before=run_before)


# --- 160x48: the builder beside one other pane ------------------------------------------------


def test_medium_layout_shows_the_builder_beside_the_readouts(snap_compare):
    app = make_app(preset_name="mistral-7b")

    async def run_before(pilot) -> None:
        await settle(pilot)
        assert app.layout_mode == "medium" and app.view == "builder"
        assert shown_panes(app) == {"builder", "readouts"}
        assert app.query_one("#view-tabs").display
        assert app.query_one("#builder").outer_size.width == 72  # tui.app.BUILDER_COLUMNS
        # Mistral 7B: 4096-token sliding window (Jiang et al. 2023, Sec. 2).
        assert app.scenario.model.sliding_window == 4096
        assert app.preset_name == "mistral-7b" and not app.unsaved

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_curves_view_plots_the_scaling_law_beside_the_builder(snap_compare):
    app = make_app(preset_name="llama3.1-8b")

    async def run_before(pilot) -> None:
        await step(pilot, "f4")
        await settle(pilot)
        assert app.view == "curves" and shown_panes(app) == {"builder", "curves"}
        assert app.query_one("#view-tabs", Tabs).active == "tab-curves"
        title = str(app.query_one("#curve-title", Static).render())
        assert app.scenario.scaling.view in ("frontier", "loss_vs_params", "isoflop")
        assert "·" in title and title.strip()

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_pinned_scenario_compared_with_an_edit(snap_compare):
    app = make_app()

    async def run_before(pilot) -> None:
        await step(pilot, "f5")
        await type_into(pilot, app, "model.num_layers", "48")
        await settle(pilot)
        assert app.pinned is not None
        pinned_scenario, pinned_readout = app.pinned
        assert pinned_scenario == Scenario() and pinned_scenario.model.num_layers == 32
        assert app.scenario.model.num_layers == 48 and app.unsaved
        # Half as many blocks again: half as many non-embedding parameters again.
        grown = app.readout.params.total - app.readout.params.embedding
        base = pinned_readout.params.total - pinned_readout.params.embedding
        assert grown == pytest.approx(1.5 * base, rel=0.01)
        header = str(app.query_one("#readouts-header", Static).render())
        assert "A:" in header and "B:" in header
        # Both are "custom": the header says what B changed.
        assert "B changes num layers 32 → 48" in header
        assert "[compare: A pinned]" in app.sub_title
        assert shown_panes(app) == {"builder", "readouts"}

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


# --- the serving frontier in the curves pane (80x24 and 200x50) -------------------------------


def _serving_frontier_app() -> LlmscopeApp:
    preset = find_preset("llama3.1-70b")
    scenario = preset.scenario.with_values(
        {
            "cluster.accelerator": "nvidia-h100-sxm",
            "serving.weight_dtype": "fp8",
            "serving.kv_dtype": "fp8",
            "serving.tensor_parallel": 4,
            "serving.batch_size": 64,
        }
    )
    return make_app(scenario=scenario)


async def _to_serving_view(pilot) -> None:
    app = pilot.app
    await step(pilot, "f4")
    for _ in range(3):  # frontier -> loss vs N -> iso-FLOP -> serving
        await step(pilot, "f7")
    await settle(pilot)
    assert app.view == "curves" and "curves" in shown_panes(app)
    assert app.scenario.scaling.view == "serving"
    title = str(app.query_one("#curve-title", Static).render())
    assert title.startswith("Serving frontier")
    best = app.readout.serving_frontier.best_at_target
    assert best is not None and best.tensor_parallel == 4


@pytest.mark.parametrize("size", [NARROW, (200, 50)], ids=["80x24", "200x50"])
def test_serving_frontier_view(snap_compare, size):
    app = _serving_frontier_app()
    assert snap_compare(app, terminal_size=size, run_before=_to_serving_view)


# --- NO_COLOR ---------------------------------------------------------------------------------------


def test_no_color_draws_in_the_terminals_default_colours(snap_compare, monkeypatch):
    """https://no-color.org: the terminal's own default text on its own default background (no
    colour set anywhere); it was black on black. Focus and emphasis stay, as bold and reverse."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = LlmscopeApp(detect_box=False)

    async def run_before(pilot) -> None:
        for widget in app.query(Input):
            widget.cursor_blink = False
        app.clear_notifications()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        assert app.no_color and app.theme == "llmscope-ansi"
        assert app.scenario == Scenario() and shown_panes(app) == {"builder"}
        assert colours_drawn(app) == set()

    assert snap_compare(app, terminal_size=NARROW, run_before=run_before)
