"""The app driven as a user drives it: keys through a pilot, then assertions on the state.

Every test runs with an isolated config dir ($LLMSCOPE_CONFIG_DIR), no hardware detection and
the working directory in a temporary folder, so nothing outside the test is read or written.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from engine.architecture import Architecture
from engine.scenario import SECTIONS, Scenario
from tui.app import LlmscopeApp
from tui.screens.help import HelpScreen
from tui.widgets.builder import GROUPS, MODEL_GROUPS, FieldInput, field_id

NARROW = (80, 24)
WIDE = (200, 50)  # tui.app.WIDE_COLUMNS: all three panes side by side


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLMSCOPE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LLMSCOPE_DETECT", "0")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("LLMSCOPE_PRESET_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def field(app: LlmscopeApp, key: str) -> FieldInput:
    return app.query_one(f"#{field_id(key)}", FieldInput)


async def type_into(pilot, app: LlmscopeApp, key: str, text: str) -> None:
    """Focus a field, clear it and type `text` key by key, as a user would."""
    widget = field(app, key)
    if not widget.display or not widget.region:
        await _reveal(pilot, app, key)
    widget.focus()
    await pilot.pause()
    await pilot.press("ctrl+u", "ctrl+k", *text)
    await pilot.pause()


async def _reveal(pilot, app: LlmscopeApp, key: str) -> None:
    tab = "tab-model" if key.startswith("model.") else "tab-run"
    if key.startswith("cluster."):
        tab = "tab-hardware"
    app.query_one("#builder").active = tab
    await pilot.pause()


def test_every_setting_of_the_model_training_and_serving_is_in_exactly_one_group():
    grouped = [name for _, names in MODEL_GROUPS for name in names]
    assert sorted(grouped) == sorted(Architecture.model_fields)
    assert len(grouped) == len(set(grouped))
    keys = [key for _, keys in GROUPS for key in keys]
    for section in ("training", "serving"):
        assert {k for k in keys if k.startswith(section + ".")} == {
            f"{section}.{name}" for name in SECTIONS[section].model_fields
        }


async def test_typing_a_field_changes_the_readouts():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        before = app.readout.params.total
        await type_into(pilot, app, "model.num_layers", "64")
        assert app.scenario.model.num_layers == 64
        # Doubling the blocks roughly doubles the non-embedding parameters.
        assert app.readout.params.total > 1.8 * before - app.readout.params.embedding
        assert app.unsaved and "modified" in app.sub_title


async def test_human_forms_are_accepted():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await type_into(pilot, app, "training.tokens", "15.6T")
        assert app.scenario.training.tokens == pytest.approx(15.6e12)
        await type_into(pilot, app, "model.max_position_embeddings", "128k")
        assert app.scenario.model.max_position_embeddings == 131_072
        await type_into(pilot, app, "training.tokens", "1e13")
        assert app.scenario.training.tokens == pytest.approx(1e13)


async def test_stepping_keys_change_the_value_and_the_readouts():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        field(app, "model.hidden_size").focus()
        await pilot.pause()
        before = app.readout.params.total
        await pilot.press("plus")
        await pilot.pause()
        assert app.scenario.model.hidden_size == 4608  # next multiple of 512 above 4096
        assert app.readout.params.total > before
        assert field(app, "model.hidden_size").value == "4608"
        await pilot.press("minus")
        await pilot.pause()
        assert app.scenario.model.hidden_size == 4096
        await pilot.press("shift+up")
        await pilot.pause()
        assert app.scenario.model.hidden_size == 8192
        await pilot.press("slash")
        await pilot.pause()
        assert app.scenario.model.hidden_size == 4096


async def test_switching_to_4_bit_weights_from_the_keyboard_shrinks_the_weights():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await _reveal(pilot, app, "serving.weight_dtype")
        field(app, "serving.weight_dtype").focus()
        await pilot.pause()
        bf16_bytes = app.readout.weights.total_bytes
        seen = set()
        for _ in range(6):
            await pilot.press("plus")
            await pilot.pause()
            seen.add(app.scenario.serving.weight_dtype)
            if app.scenario.serving.weight_dtype == "int4":
                break
        assert app.scenario.serving.weight_dtype == "int4", seen
        # 4-bit weights: a quarter of bf16 plus one 2-byte scale per 128 weights.
        assert app.readout.weights.total_bytes < 0.3 * bf16_bytes


async def test_an_invalid_entry_shows_the_engines_reason_and_changes_nothing_else():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        scenario, readout = app.scenario, app.readout
        await type_into(pilot, app, "model.num_kv_heads", "5")
        assert app.scenario == scenario and app.readout is readout
        row = field(app, "model.num_kv_heads").parent.parent
        assert row.has_class("-invalid")
        reason = str(row.query_one(".field-error").render())
        assert "num_kv_heads (5) must divide num_attention_heads (32)" in reason
        assert field(app, "model.num_layers").value == "32"
        # Text that is not a number names what is expected.
        await type_into(pilot, app, "model.num_layers", "lots")
        assert app.scenario == scenario
        reason = str(field(app, "model.num_layers").parent.parent.query_one(".field-error").render())
        assert "4096" in reason and "model.num_layers" in reason
        # A valid entry clears the mark.
        await type_into(pilot, app, "model.num_kv_heads", "8")
        assert app.scenario.model.num_kv_heads == 8
        assert not field(app, "model.num_kv_heads").parent.parent.has_class("-invalid")


async def test_choosing_an_accelerator_in_the_picker_updates_the_memory_fit():
    app = LlmscopeApp(Scenario().with_values({"model.num_layers": 80, "model.hidden_size": 8192}))
    async with app.run_test(size=NARROW) as pilot:
        await _reveal(pilot, app, "cluster.count")
        h100_capacity = app.readout.training_fit.capacity_bytes
        app.query_one("#hardware-filter", Input).focus()
        await pilot.press(*"mi300x")
        await pilot.pause()
        table = app.query_one("#hardware-table", DataTable)
        assert table.row_count >= 1
        await pilot.press("enter")
        await pilot.pause()
        if app.scenario.cluster.accelerator == "nvidia-h100-sxm":  # several rows: pick with Enter
            await pilot.press("enter")
            await pilot.pause()
        assert "mi300x" in app.scenario.cluster.accelerator
        assert app.readout.accelerator.id == app.scenario.cluster.accelerator
        assert app.readout.training_fit.capacity_bytes > 2 * h100_capacity  # 192 GB against 80 GB


async def run_palette(pilot, app: LlmscopeApp, query: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*query)
    await pilot.pause(0.3)  # the palette searches in a task
    await pilot.press("enter")
    await pilot.pause()


async def test_palette_commands_switch_law_accelerator_and_theme():
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await run_palette(pilot, app, "Scaling law: Kaplan")
        assert app.scenario.scaling.law == "kaplan2020"
        await run_palette(pilot, app, "Accelerator: AMD Instinct MI300X")
        assert app.scenario.cluster.accelerator == "amd-mi300x"
        assert app.readout.accelerator.id == "amd-mi300x"
        await run_palette(pilot, app, "Theme: llmscope-light")
        assert app.theme == "llmscope-light"
    # The choice persists: a new app starts with it.
    again = LlmscopeApp()
    async with again.run_test(size=WIDE):
        assert again.theme == "llmscope-light"


async def test_palette_export_writes_a_report_here(isolated: Path):
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await run_palette(pilot, app, "Export Markdown")
        reports = list(isolated.glob("llmscope-*.md"))
        assert len(reports) == 1
        assert "Parameters" in reports[0].read_text(encoding="utf-8") or reports[0].stat().st_size


async def test_palette_quit_asks_when_there_are_unsaved_edits():
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await type_into(pilot, app, "model.num_layers", "40")
        await run_palette(pilot, app, "Quit")
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running
        await run_palette(pilot, app, "Quit")
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0
    # The session was saved on the way out and is offered back at the next start.
    again = LlmscopeApp()
    async with again.run_test(size=WIDE):
        assert again.scenario.model.num_layers == 40


async def test_help_opens_with_f1_and_question_mark_and_closes():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        # Outside a text field ? opens help; inside one it is just a character.
        await pilot.press("f3")
        app.query_one("#readouts").focus()
        await pilot.pause()
        app.set_focus(None)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_narrow_terminals_show_one_pane_at_a_time_and_wide_ones_all():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        assert app.query_one("#builder").display and not app.query_one("#readouts").display
        await pilot.press("f3")
        await pilot.pause()
        assert app.query_one("#readouts").display and not app.query_one("#builder").display
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert all(app.query_one(f"#{pane}").display for pane in ("builder", "readouts", "curves"))


async def test_pin_compares_against_the_pinned_scenario():
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        app.set_focus(None)
        await pilot.press("p")
        await pilot.pause()
        assert app.pinned is not None and app.pinned[0] == app.scenario
        await type_into(pilot, app, "model.num_layers", "48")
        assert app.pinned[0].model.num_layers == 32
        assert "pinned" in app.sub_title


def all_bound_keys() -> list[str]:
    from tui.screens.help import HelpScreen
    from tui.widgets.hardware import HardwarePicker

    keys = set()
    for owner in (LlmscopeApp, FieldInput, HelpScreen, HardwarePicker):
        for binding in owner.BINDINGS:
            keys.update(binding.key.split(","))
    keys.discard("ctrl+q")  # quitting ends the run; the palette test covers it
    return sorted(keys) + ["tab", "shift+tab", "enter", "escape", "up", "down", "left", "right",
                           "1", "k", "x", "backspace", "space"]


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_app_never_raises_on_any_sequence_of_its_keys(seed: int):
    """Random walks over every key the app binds (and the keys that move between them)."""
    rng = random.Random(seed)
    keys = all_bound_keys()
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        for _ in range(80):
            await pilot.press(rng.choice(keys))
        await pilot.pause()
        # Whatever happened, the scenario is a valid one and the readout belongs to it.
        assert Scenario.model_validate(app.scenario.model_dump()) == app.scenario
