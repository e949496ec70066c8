"""The app driven through a pilot, key by key, as a person at 80x24 or 160x48 would drive it.

Each test is hermetic: $LLMSCOPE_CONFIG_DIR is a temporary folder (settings, presets, the
session), detection is off, no teammate preset path is set, and the working directory (where
exports land) is a temporary folder. Expected values come from the engine's own rules (the
stepping series, the memory-fit thresholds) and from published shapes, never from the app.
"""

from __future__ import annotations

import gc
import random
import re
from pathlib import Path

import pytest
import tomllib
from pilot import (  # noqa: F401 (hermetic is a fixture)
    error_text,
    field_text,
    focus_field,
    hermetic,
    is_focused,
    is_invalid,
    show_tab_of,
    step,
    type_into,
    until,
)
from textual import events
from textual.widgets import DataTable, Input, OptionList, Static

from llmscope.engine.architecture import MLA_FIELDS, Architecture
from llmscope.engine.evaluate import evaluate
from llmscope.engine.hardware import load_catalog
from llmscope.engine.scenario import SECTIONS, Scenario
from llmscope.presets import paths
from llmscope.presets.numbers import format_count, format_flops, step_value
from llmscope.presets.settings import parse_setting
from llmscope.tui.app import LlmscopeApp
from llmscope.tui.commands import LlmscopeCommands
from llmscope.tui.screens.help import HelpScreen
from llmscope.tui.screens.planner import PlannerScreen
from llmscope.tui.screens.presets import ConfirmScreen, OpenPresetScreen, SavePresetScreen
from llmscope.tui.widgets.builder import GROUPS, MODEL_GROUPS, FieldEditor, field_label
from llmscope.tui.widgets.hardware import HardwarePicker

NARROW = (80, 24)
WIDE = (160, 48)


pytestmark = pytest.mark.usefixtures("hermetic")


# --- helpers: what a person does ------------------------------------------------------------


def readouts_text(app: LlmscopeApp) -> str:
    pane = app.query_one("#readouts")
    return "\n".join(str(static.render()) for static in pane.query(Static))


def screen_text(app: LlmscopeApp) -> str:
    """The characters on the screen, as a terminal would show them."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


# --- editing ----------------------------------------------------------------------------------


def test_every_setting_of_the_model_training_and_serving_is_in_exactly_one_group():
    grouped = [name for _, names in MODEL_GROUPS for name in names]
    assert sorted(grouped) == sorted(Architecture.model_fields)
    assert len(grouped) == len(set(grouped))
    keys = [key for _, keys in GROUPS for key in keys]
    for section in ("training", "serving"):
        assert {k for k in keys if k.startswith(section + ".")} == {
            f"{section}.{name}" for name in SECTIONS[section].model_fields
        }


async def test_typing_a_layer_count_changes_the_scenario_and_the_readouts():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        before = app.readout.params
        shown_before = str(app.query_one("#parameters", Static).render())
        await type_into(pilot, app, "model.num_layers", "64")
        assert app.scenario.model.num_layers == 64
        # Twice the blocks: twice the non-embedding parameters (embedding and head unchanged).
        per_block_before = before.total - before.embedding
        per_block_after = app.readout.params.total - app.readout.params.embedding
        assert per_block_after == pytest.approx(2 * per_block_before, rel=0.01)
        assert app.readout.params.total > before.total
        # The pane shows the new figures, not the old ones.
        assert str(app.query_one("#parameters", Static).render()) != shown_before
        assert app.unsaved and "modified" in str(app.query_one("#summary", Static).render())


async def test_starting_evaluates_the_scenario_once_not_once_per_field(monkeypatch):
    """Each field echoes its text as a change when mounted; those echoes are not edits."""
    import llmscope.tui.app

    calls = []
    monkeypatch.setattr(llmscope.tui.app, "evaluate", lambda *a, **k: calls.append(1) or evaluate(*a, **k))
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert len(calls) <= 2
        assert not app.unsaved


async def test_the_collector_the_console_script_held_off_is_back_after_the_first_frame():
    gc.disable()  # as tui/console.py leaves it for the app
    try:
        app = LlmscopeApp()
        async with app.run_test(size=NARROW) as pilot:
            await pilot.pause()
            assert gc.isenabled()
    finally:
        gc.enable()


async def test_retyping_the_value_a_field_showed_applies_each_keystroke():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await type_into(pilot, app, "model.num_layers", "32")  # "", "3", then "32" again
        assert app.scenario.model.num_layers == 32
        await type_into(pilot, app, "model.num_layers", "64")
        await type_into(pilot, app, "model.num_layers", "6")
        assert app.scenario.model.num_layers == 6


async def test_human_number_forms_are_read_as_people_write_them():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await type_into(pilot, app, "training.tokens", "70B")
        assert app.scenario.training.tokens == 70e9
        await type_into(pilot, app, "serving.prompt_tokens", "128k")
        # A context length of "128k" is the binary 128 x 1024 (Llama 3.1's 131,072).
        assert app.scenario.serving.prompt_tokens == 131_072
        await type_into(pilot, app, "training.tokens", "15.6T")
        assert app.scenario.training.tokens == pytest.approx(15.6e12)


async def test_a_deadline_and_a_budget_typed_in_show_what_they_take_and_buy():
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        assert "days " not in readouts_text(app)  # no question asked, no line
        await type_into(pilot, app, "training.deadline_days", "30")
        await type_into(pilot, app, "training.budget_usd", "2.5M")
        assert app.scenario.training.budget_usd == 2.5e6
        targets = app.readout.training_targets
        # 30 days is ~10x shorter than this run on its 8 accelerators: ~10x the accelerators.
        days = app.readout.training.wall_clock_days
        assert targets.accelerators_for_deadline == pytest.approx(8 * days / 30, abs=1)
        text = readouts_text(app)
        assert re.search(rf"accelerators for 30 days +{targets.accelerators_for_deadline:,}", text)
        assert re.search(rf"tokens for \$2\.50M +~?{format_count(targets.tokens_for_budget)}", text)
        await type_into(pilot, app, "training.deadline_days", "none")
        assert app.scenario.training.deadline_days is None
        assert "accelerators for 30" not in readouts_text(app)


async def test_plus_minus_star_slash_step_numbers_choices_and_switches():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await focus_field(pilot, app, "model.hidden_size")
        await step(pilot, "plus")
        # 4096 steps by 512, the largest power of two at most an eighth of it.
        assert app.scenario.model.hidden_size == 4096 + 512
        assert field_text(app, "model.hidden_size") == "4608"
        await step(pilot, "minus")
        assert app.scenario.model.hidden_size == 4096
        await step(pilot, "asterisk")
        assert app.scenario.model.hidden_size == 8192
        await step(pilot, "slash")
        await step(pilot, "slash")
        assert app.scenario.model.hidden_size == 2048

        # A choice cycles through its options and comes back.
        await focus_field(pilot, app, "training.recompute")
        first = app.scenario.training.recompute
        seen = [first]
        for _ in range(3):
            await step(pilot, "plus")
            seen.append(app.scenario.training.recompute)
        assert len(set(seen[:3])) == 3 and seen[3] == first  # none, selective, full
        await step(pilot, "minus")
        assert app.scenario.training.recompute == seen[2]

        # A switch toggles.
        await focus_field(pilot, app, "training.flash_attention")
        assert app.scenario.training.flash_attention is True
        await step(pilot, "plus")
        assert app.scenario.training.flash_attention is False
        assert field_text(app, "training.flash_attention").lower() in {"false", "no", "off"}
        await step(pilot, "minus")
        assert app.scenario.training.flash_attention is True


async def test_switching_to_4_bit_weights_from_the_keyboard_shrinks_the_weights():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await focus_field(pilot, app, "serving.weight_dtype")
        bf16_bytes = app.readout.weights.total_bytes
        seen = []
        for _ in range(8):
            await step(pilot, "plus")
            seen.append(app.scenario.serving.weight_dtype)
            if seen[-1] == "int4":
                break
        assert app.scenario.serving.weight_dtype == "int4", seen
        # 4-bit weights: a quarter of bf16, plus the group scales.
        assert 0.25 * bf16_bytes < app.readout.weights.total_bytes < 0.3 * bf16_bytes


async def test_groups_the_engine_ignores_for_this_model_say_so():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        editor = app.query_one("#model-editor", FieldEditor)
        mla, moe = "Latent attention (MLA)", "Mixture of experts"
        assert "not used" in editor.note_of(mla) and "not used" in editor.note_of(moe)
        # Selecting the group's first field scrolls its title, and the note, into view.
        await focus_field(pilot, app, f"model.{MLA_FIELDS[0]}")
        assert f"not used: attention is {app.scenario.model.attention}" in screen_text(app)
        await focus_field(pilot, app, "model.attention")
        await step(pilot, "plus")
        assert app.scenario.model.attention == "mla"
        assert not editor.note_of(mla) and "not used" in editor.note_of(moe)


async def test_an_invalid_layout_is_accepted_marked_on_its_field_and_edits_stay_order_free():
    """The layout rules judge the whole scenario (engine.layout): an edit that breaks one is
    accepted, its field shows the reason and the readouts no numbers for training, until a later
    edit, of any field, makes the layout valid again."""
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await type_into(pilot, app, "training.tensor_parallel", "3")
        await pilot.pause()
        assert app.scenario.training.tensor_parallel == 3
        assert is_invalid(app, "training.tensor_parallel")
        assert "invalid layout: 3 must divide the 32 attention heads" in error_text(
            app, "training.tensor_parallel"
        )
        assert app.readout.training is None and app.readout.performance is None
        training = str(app.query_one("#training").render())
        assert "invalid layout: training.tensor_parallel" in training
        # fixed by another field: 48 heads (and 48 kv heads) are divisible by 3
        assert app.apply_updates({"model.num_attention_heads": 48, "model.num_kv_heads": 48,
                                  "model.hidden_size": 6144, "cluster.count": 9,
                                  "training.global_batch_size": 9}) is None  # fmt: skip
        await pilot.pause()
        assert not is_invalid(app, "training.tensor_parallel")
        assert app.readout.performance is not None


async def test_an_invalid_entry_is_marked_with_its_reason_and_changes_nothing():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        scenario = app.scenario
        await type_into(pilot, app, "model.num_kv_heads", "5")
        # 5 KV heads cannot be shared evenly by 32 query heads (GQA, Ainslie et al. 2023).
        assert app.scenario == scenario
        assert is_invalid(app, "model.num_kv_heads")
        reason = error_text(app, "model.num_kv_heads")
        assert "num_kv_heads" in reason and "32" in reason
        assert field_text(app, "model.num_kv_heads") == "5"  # the text stays for correcting
        assert field_text(app, "model.num_layers") == "32"
        assert not is_invalid(app, "model.num_layers")

        await type_into(pilot, app, "model.num_layers", "abc")
        assert app.scenario == scenario
        assert is_invalid(app, "model.num_layers")
        assert "num_layers" in error_text(app, "model.num_layers")

        await type_into(pilot, app, "model.num_layers", "0")
        assert app.scenario == scenario
        assert "num_layers" in error_text(app, "model.num_layers")

        # A valid entry clears the mark and is applied.
        await type_into(pilot, app, "model.num_layers", "40")
        assert app.scenario.model.num_layers == 40
        assert not is_invalid(app, "model.num_layers")
        assert app.scenario.model.num_kv_heads == 32


async def test_the_builder_is_focused_at_start_and_arrows_walk_the_fields_in_order():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        editor = app.query_one("#model-editor", FieldEditor)
        assert app.focused is editor and editor.selected_key == "model.name"
        keys = [key for _, keys in MODEL_GROUPS for key in keys]
        for expected in keys[1:]:
            await pilot.press("down")
            assert editor.selected_key == f"model.{expected}"
            # The selected field stays on screen as the editor scrolls (24 rows show ~16 fields).
            assert field_label(editor.selected_key) in screen_text(app)
        await pilot.press("down")  # the last field stays selected
        assert editor.selected_key == f"model.{keys[-1]}"
        await pilot.press("pageup", "pageup", "pageup", "pageup", "pageup")
        assert editor.selected_key == "model.name"
        assert "─ Shape " in screen_text(app)  # the first group's title is back in view
        await pilot.press("enter")  # Enter also moves on, as in a form
        assert editor.selected_key == "model.family"


async def test_keys_arriving_together_act_in_the_order_they_were_typed():
    """Over SSH a burst of keys arrives in one read: the app must not reorder them. Moving to a
    field, clearing it and typing, all at once, must edit that field and no other."""
    keys = [("down", None)] * 3 + [("ctrl+u", None), ("4", "4"), ("8", "8")]
    keys += [("left", None), ("backspace", None), ("1", "1")]  # "48" -> "8" -> "18"
    keys += [("up", None), ("ctrl+u", None)] + [(digit, digit) for digit in "5120"]
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert is_focused(app, "model.name")
        for key, character in keys:  # posted before any is handled
            app.post_message(events.Key(key, character))
        for _ in range(5):
            await pilot.pause()
        assert app.scenario.model.name == "custom"
        assert app.scenario.model.num_layers == 18
        assert app.scenario.model.hidden_size == 5120
        assert not is_invalid(app, "model.num_layers") and not is_invalid(app, "model.hidden_size")
        # The same in a text box (the hardware filter, a Textual Input underneath).
        await show_tab_of(pilot, app, "cluster.count")
        box = app.query_one("#hardware-filter", Input)
        box.focus()
        await pilot.pause()
        for key in ("m", "i", "3", "5", "backspace", "0", "0"):
            app.post_message(events.Key(key, None if len(key) > 1 else key))
        for _ in range(5):
            await pilot.pause()
        assert box.value == "mi300"


async def test_the_caret_edits_anywhere_in_the_text_and_escape_restores_the_value():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await focus_field(pilot, app, "model.num_layers")  # "32", the caret at the end
        await pilot.press("home", "delete")  # "2"
        assert app.scenario.model.num_layers == 2
        await pilot.press("4")  # "42": typed at the caret, not at the end
        assert app.scenario.model.num_layers == 42
        await pilot.press("end", "left", "backspace")  # "2", the caret before it
        await pilot.press("1")  # "12"
        assert field_text(app, "model.num_layers") == "12"
        assert app.scenario.model.num_layers == 12
        await pilot.press("ctrl+k")  # clears after the caret: "1"
        assert app.scenario.model.num_layers == 1
        await pilot.press("ctrl+a", "ctrl+k", *"48")
        assert app.scenario.model.num_layers == 48

        # A rejected entry stays while other fields are visited, and Esc drops it.
        await type_into(pilot, app, "model.num_kv_heads", "7")
        assert is_invalid(app, "model.num_kv_heads")
        await pilot.press("down", "up")
        assert field_text(app, "model.num_kv_heads") == "7"
        assert is_invalid(app, "model.num_kv_heads")
        await pilot.press("escape")
        assert not is_invalid(app, "model.num_kv_heads")
        assert field_text(app, "model.num_kv_heads") == str(app.scenario.model.num_kv_heads)
        assert error_text(app, "model.num_kv_heads") == ""


async def test_pasting_and_clicking_edit_the_field_under_them():
    from textual import events

    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        editor = await focus_field(pilot, app, "model.num_layers")
        await pilot.press("ctrl+u")
        editor.post_message(events.Paste("80\n"))  # a pasted line, its newline dropped
        await pilot.pause()
        assert app.scenario.model.num_layers == 80
        # Clicking a field's line selects it; the caret goes after its text.
        lines = screen_text(app).splitlines()
        row = next(index for index, line in enumerate(lines) if " vocab size " in line)
        await pilot.click(editor, offset=(40, row - editor.region.y))
        assert editor.selected_key == "model.vocab_size"
        await pilot.press("backspace")
        vocab = str(Scenario().model.vocab_size)
        assert app.scenario.model.vocab_size == int(vocab[:-1])


def forty_heads() -> Scenario:
    """40 query and KV heads of 128 on a 5120-wide residual stream (LLaMA-13B's shape): a
    hidden size must split evenly over the 40 heads, so "4096" is refused while "40" is not."""
    return Scenario().with_values(
        {"model.num_attention_heads": 40, "model.num_kv_heads": 40, "model.hidden_size": 5120}
    )


async def test_a_rejected_entry_leaves_no_prefix_applied_and_escape_restores_the_value_before():
    app = LlmscopeApp(scenario=forty_heads())
    async with app.run_test(size=NARROW) as pilot:
        scenario = app.scenario
        # "4", "40" (valid), "409", "4096", "4096.", "4096.0" (none a hidden size for 40 heads).
        await type_into(pilot, app, "model.hidden_size", "4096.0")
        assert app.scenario == scenario  # not 40, the prefix that was valid on the way
        assert field_text(app, "model.hidden_size") == "4096.0"
        assert "hidden_size" in error_text(app, "model.hidden_size")
        await pilot.press("escape")
        assert app.scenario == scenario
        assert field_text(app, "model.hidden_size") == "5120" and not is_invalid(
            app, "model.hidden_size"
        )
        # A valid whole text is in use while it stands; Esc gives back the value from before.
        await type_into(pilot, app, "model.hidden_size", "40")
        assert app.scenario.model.hidden_size == 40
        await pilot.press("escape")
        assert app.scenario == scenario and field_text(app, "model.hidden_size") == "5120"
        # Once the selection leaves a valid entry, that entry is the value in use.
        await type_into(pilot, app, "model.num_layers", "48")
        await pilot.press("down", "up", "escape")
        assert app.scenario.model.num_layers == 48


async def test_a_step_puts_the_caret_at_the_end_of_the_new_value():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await type_into(pilot, app, "model.num_layers", "48")
        await pilot.press("slash", "slash", "slash", "asterisk")  # 24, 12, 6, 12
        await pilot.pause()
        assert field_text(app, "model.num_layers") == "12"
        await pilot.press("backspace")  # the last digit, as after typing "12"
        assert field_text(app, "model.num_layers") == "1"
        assert app.scenario.model.num_layers == 1


async def test_resizing_keeps_the_selection_on_screen_and_keys_act_only_on_a_visible_field():
    app = LlmscopeApp()
    async with app.run_test(size=(120, 40)) as pilot:
        editor = await focus_field(pilot, app, "serving.tensor_parallel")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert editor.selection_visible()
        assert "tensor parallel" in screen_text(app)
        # Scrolled away (the mouse wheel), a key brings the selected field back into view
        # rather than changing it unseen; the next one acts.
        editor.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert not editor.selection_visible()
        tensor_parallel = app.scenario.serving.tensor_parallel
        await pilot.press("plus")
        assert app.scenario.serving.tensor_parallel == tensor_parallel
        assert editor.selection_visible()
        await pilot.press("plus")
        assert app.scenario.serving.tensor_parallel > tensor_parallel


async def test_a_minus_sign_can_be_typed_where_a_sign_can_stand():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        scenario = app.scenario
        await type_into(pilot, app, "model.num_layers", "-5")
        # No setting takes a negative number: the field says so rather than stepping.
        assert field_text(app, "model.num_layers") == "-5"
        assert app.scenario == scenario
        assert "num_layers" in error_text(app, "model.num_layers")
        # An exponent's sign: 1e-5 is 0.00001, not "1e" then a step down.
        await type_into(pilot, app, "training.framework_overhead_gib", "1e-5")
        assert field_text(app, "training.framework_overhead_gib") == "1e-5"
        assert app.scenario.training.framework_overhead_gib == 1e-5
        # Anywhere else "-" steps, as before.
        await type_into(pilot, app, "model.num_layers", "32")
        await pilot.press("minus")
        await pilot.pause()
        assert app.scenario.model.num_layers == step_value(32, up=False) == 28


# Keys a person editing fields presses: digits and the characters of numbers, the stepping
# keys, the caret and clearing keys, Esc, and moving between fields.
EDIT_KEYS = [*"0123456789", "full_stop", "e", "k", "B", "minus", "plus", "asterisk", "slash"]
EDIT_KEYS += ["backspace", "delete", "left", "right", "home", "end", "ctrl+u", "ctrl+k"]
EDIT_KEYS += ["escape", "up", "down", "enter"]


@pytest.mark.parametrize("seed", [21, 22, 23])
async def test_no_sequence_of_keys_leaves_a_rejected_entry_applied(seed: int):
    """After every key: the scenario is the engine's; each field shows the value in use, or its
    edit is marked rejected while the value in use is the one it had just before that edit
    began (observed here, not taken from the app)."""
    rng = random.Random(seed)
    app = LlmscopeApp(scenario=forty_heads())
    catalog = load_catalog(paths.user_accelerators_file()).catalog
    async with app.run_test(size=NARROW) as pilot:
        editor = await focus_field(pilot, app, "model.hidden_size")
        began_with: dict[str, object] = {}
        walk: list[str] = []
        rejected_while_editing = 0
        for _ in range(80):
            key = rng.choice(EDIT_KEYS)
            walk.append(key)
            before = app.scenario
            await pilot.press(key)
            for name in editor.keys:
                if editor.is_editing(name) and name not in began_with:
                    began_with[name] = before.value(name)  # seen by the test, not the app
                elif not editor.is_editing(name):
                    began_with.pop(name, None)
            assert app.readout == evaluate(app.scenario, catalog), walk
            for name in editor.keys:
                value = app.scenario.value(name)
                if editor.is_editing(name) and editor.reason_of(name) is not None:
                    assert value == began_with[name], (name, walk)
                    rejected_while_editing += 1
                else:  # the text shown is the value in use (a refused step keeps both)
                    assert parse_setting(name, editor.text_of(name)) == value, (name, walk)
        assert rejected_while_editing, walk  # the walk went through rejected texts



async def test_brackets_shown_in_the_footer_walk_the_builder_tabs_from_anywhere():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert "[] tab" in screen_text(app).splitlines()[-1]  # the footer names them
        builder = app.query_one("#builder")
        visits = []
        for key in ("right_square_bracket",) * 3 + ("left_square_bracket",):
            await pilot.press(key)
            # the keys that follow act in the tab
            await until(pilot, lambda: app.focused is not None and builder in app.focused.ancestors)
            visits.append(builder.active)
        assert visits == ["tab-hardware", "tab-run", "tab-model", "tab-run"]
        assert app.scenario == Scenario()  # nothing was typed into a field on the way
        # From the hardware filter too, where other characters are typed; and from another view
        # (at 80x24 the builder comes to the front).
        await pilot.press("left_square_bracket")
        box = app.query_one("#hardware-filter", Input)
        await until(pilot, lambda: app.focused is box)
        assert builder.active == "tab-hardware"
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert builder.active == "tab-run" and box.value == ""
        await pilot.press("f3", "left_square_bracket")
        await pilot.pause()
        assert app.view == "builder" and builder.active == "tab-hardware"


@pytest.mark.parametrize("keys", [("]", "]"), ("]", "]", "]", "]"), ("[", "[", "["), ("]", "[", "]")])
async def test_brackets_arriving_in_one_burst_each_move_a_tab(keys):
    """Keys typed faster than frames (a terminal delivers "]]" in one read) each count: the focus
    that follows one bracket never undoes the tab the next one chose."""
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        for character in keys:  # queued together, before the app handles any of them
            name = "right_square_bracket" if character == "]" else "left_square_bracket"
            app.post_message(events.Key(name, character))
        steps = sum(1 if character == "]" else -1 for character in keys)
        expected = ["tab-model", "tab-hardware", "tab-run"][steps % 3]
        builder = app.query_one("#builder")
        await until(pilot, lambda: app.focused is not None and builder in app.focused.ancestors)
        await pilot.pause(0.2)  # later focus events change nothing
        assert builder.active == expected
        assert app.focused is not None and builder.get_pane(expected) in app.focused.ancestors
        assert app.query_one("#hardware-filter", Input).value == ""  # no bracket typed there


async def test_a_compute_budget_typed_in_shows_the_optimal_model_under_every_law():
    from llmscope.engine.scaling import LAWS, budget_optimum, get_law

    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await type_into(pilot, app, "scaling.compute_budget_flops", "1e24")
        assert app.scenario.scaling.compute_budget_flops == 1e24
        pane = app.query_one("#curves")
        text = "\n".join(str(w.render()) for w in pane.query("#curve-summary"))
        assert f"Budget {format_flops(1e24)} FLOPs" in text  # 1.00e24
        for law_id in LAWS:
            optimum = budget_optimum(law_id, 1e24)
            n_text, d_text = format_count(optimum.optimal_params), format_count(optimum.optimal_tokens)
            row = f"{get_law(law_id).title.split()[0]:<10}{n_text:>8}{d_text:>8}"
            assert row in text
        await pilot.press("ctrl+u", *"none")
        await pilot.pause()
        assert app.scenario.scaling.compute_budget_flops is None
        text = "\n".join(str(w.render()) for w in pane.query("#curve-summary"))
        assert "Budget" not in text

# --- hardware ---------------------------------------------------------------------------------


def big_model() -> Scenario:
    """About 65B parameters: some 130 GB of bf16 weights, over an 80 GB H100 and under the
    192 GB of an MI300X (AMD datasheet)."""
    return Scenario().with_values({"model.num_layers": 80, "model.hidden_size": 8192,
                                   "model.intermediate_size": 28672, "model.num_kv_heads": 8,
                                   "model.num_attention_heads": 64})



async def test_the_app_reads_the_same_accelerators_file_as_the_commands(hermetic: Path):
    from test_cli import USER_ACCELERATORS  # the README's example and a bad entry

    paths.user_accelerators_file().parent.mkdir(parents=True)
    paths.user_accelerators_file().write_text(USER_ACCELERATORS)
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert app.catalog.get("acme-x1").memory_bytes == 64 * 2**30
        notes = [n.message for n in app._notifications]
        assert any("acme-broken" in note and "memory_gb" in note for note in notes)
        problem = app.set_setting("cluster.accelerator", "acme-x1")
        assert problem is None and app.readout.accelerator.id == "acme-x1"

async def test_filtering_the_picker_and_pressing_enter_switches_accelerator_and_fit():
    app = LlmscopeApp(big_model())
    async with app.run_test(size=NARROW) as pilot:
        assert app.readout.serving_fit.status == "over"
        await show_tab_of(pilot, app, "cluster.count")
        app.query_one("#hardware-filter", Input).focus()
        await pilot.press(*"mi300x")
        await pilot.pause()
        table = app.query_one("#hardware-table", DataTable)
        assert [key.value for key in table.rows] == ["amd-mi300x"]
        await step(pilot, "enter")
        assert app.scenario.cluster.accelerator == "amd-mi300x"
        assert app.readout.accelerator.id == "amd-mi300x"
        assert app.readout.serving_fit.status == "fits"
        assert "MI300X" in str(app.query_one("#hardware-current", Static).render())


async def test_choosing_a_row_of_the_picker_switches_the_accelerator():
    app = LlmscopeApp(big_model())
    async with app.run_test(size=NARROW) as pilot:
        await show_tab_of(pilot, app, "cluster.count")
        table = app.query_one("#hardware-table", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("nvidia-h200-sxm"))
        await step(pilot, "enter")
        assert app.scenario.cluster.accelerator == "nvidia-h200-sxm"
        # 141 GB (NVIDIA datasheet) holds the ~130 GB of weights, but only just.
        assert app.readout.serving_fit.status in {"fits", "tight"}


# --- palette ----------------------------------------------------------------------------------


def palette_command(app: LlmscopeApp, title: str):
    commands = {name: callback for name, callback, _ in LlmscopeCommands(app.screen)._commands()}
    return commands[title]


async def run_palette(pilot, query: str) -> None:
    """Ctrl+P, type the query, Enter: what a person does."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*query)
    await pilot.pause(0.2)  # the palette searches in a worker
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def test_palette_switches_law_accelerator_and_theme_and_keeps_the_theme():
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await run_palette(pilot, "Scaling law: Kaplan")
        assert app.scenario.scaling.law == "kaplan2020"
        palette_command(app, "Accelerator: AMD Instinct MI300X")()
        await pilot.pause()
        assert app.scenario.cluster.accelerator == "amd-mi300x"
        other = "llmscope-light" if app.theme != "llmscope-light" else "llmscope-dark"
        await run_palette(pilot, f"Theme: {other}")
        assert app.theme == other
    settings = tomllib.loads(paths.settings_file().read_text(encoding="utf-8"))
    assert other in settings.values() or other in str(settings)
    again = LlmscopeApp()
    async with again.run_test(size=NARROW):
        assert again.theme == other


async def test_export_writes_markdown_and_json_into_the_working_directory(hermetic: Path):
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        palette_command(app, "Export Markdown and JSON")()
        await pilot.pause()
        markdown = list(hermetic.glob("llmscope-*.md"))
        json_files = list(hermetic.glob("llmscope-*.json"))
        assert len(markdown) == 1 and len(json_files) == 1
        await step(pilot, "f9")
        assert len(list(hermetic.glob("llmscope-*.md"))) >= 1
    import json

    data = json.loads(json_files[0].read_text(encoding="utf-8"))
    assert data  # a parsed report, not an empty file
    assert str(app.readout.params.total) in json_files[0].read_text(encoding="utf-8")


# --- screens ----------------------------------------------------------------------------------


def test_help_names_every_key_the_app_binds():
    from llmscope.tui.screens.help import READOUTS_HELP

    keys_table = READOUTS_HELP.split("## Keys", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in keys_table.splitlines() if line.startswith("| ")]
    tokens = set(re.findall(r"[A-Za-z0-9+?]+|[\[\]]", " ".join(rows)))
    for binding in LlmscopeApp.BINDINGS:
        key = binding.key
        if key == "question_mark":
            shown = "?"
        elif key.endswith("_square_bracket"):
            shown = "[" if key.startswith("left") else "]"
        elif key.startswith("ctrl+"):
            shown = "Ctrl+" + key.removeprefix("ctrl+").upper()
        else:
            shown = key.upper() if len(key) > 1 else key  # F5; letters as typed
        assert shown in tokens, f"{key} ({binding.description}) is not in help's key table"


async def test_help_opens_with_f1_and_question_mark_and_escape_closes_it():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await step(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)
        await step(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)

        # In a text field "?" is only a character: help stays closed.
        await focus_field(pilot, app, "model.name")
        await step(pilot, "question_mark")
        assert not isinstance(app.screen, HelpScreen)
        assert field_text(app, "model.name").endswith("?")

        # Outside a text field it opens help.
        await step(pilot, "f3")
        app.query_one("#readouts").focus()
        await pilot.pause()
        assert not isinstance(app.focused, Input)
        await step(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await step(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_pin_then_edit_shows_both_scenarios():
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await step(pilot, "f5")
        assert app.pinned is not None and app.pinned[0] == app.scenario
        await type_into(pilot, app, "model.num_layers", "48")
        assert app.pinned[0].model.num_layers == 32
        assert app.scenario.model.num_layers == 48
        header = str(app.query_one("#readouts-header", Static).render())
        assert "A:" in header and "B:" in header
        await step(pilot, "f5")
        assert app.pinned is None
        assert "A:" not in str(app.query_one("#readouts-header", Static).render())


async def test_compare_lines_fit_the_pane_beside_builder_and_curves():
    # At 200 columns the readouts sit between the builder and the curves, ~62 cells wide: the
    # change column keeps the relative change only rather than wrap every line.
    app = LlmscopeApp()
    async with app.run_test(size=(200, 50)) as pilot:
        await step(pilot, "f5")
        await type_into(pilot, app, "model.num_layers", "48")
        training = app.query_one("#training", Static)
        width = training.content_region.width
        lines = str(training.render()).splitlines()
        assert all(len(line) <= width for line in lines)
        assert any(re.search(r"wall clock .* \+49\.\d%$", line) for line in lines)
        await pilot.resize_terminal(*WIDE)  # builder and readouts only: room for both forms
        await pilot.pause()
        await pilot.pause()
        lines = str(training.render()).splitlines()
        assert any(re.search(r"wall clock .* \+\d+ days \(\+49\.\d%\)$", line) for line in lines)


def seventy_b() -> Scenario:
    """A 70B-class model (Llama 2 70B's shape) on 64 H100s with no model parallelism: Adam's 16
    bytes per parameter sharded only by ZeRO-1 do not fit in 80 GB, so a plan must change it."""
    return Scenario().with_values({
        "model.num_layers": 80, "model.hidden_size": 8192, "model.intermediate_size": 28672,
        "model.num_attention_heads": 64, "model.num_kv_heads": 8, "cluster.count": 64,
    })


async def test_f8_plans_and_enter_applies_a_layout_that_fits():
    app = LlmscopeApp(seventy_b())
    async with app.run_test(size=WIDE) as pilot:
        assert app.readout.training_fit.status == "over"
        await step(pilot, "f8")
        assert isinstance(app.screen, PlannerScreen)
        plans = app.screen.search.plans
        assert plans, app.screen.search.message
        await step(pilot, "enter")
        assert not isinstance(app.screen, PlannerScreen)
        t = app.scenario.training
        layout = (t.tensor_parallel, t.pipeline_parallel, t.expert_parallel, t.zero_stage)
        assert layout != (1, 1, 1, 1)
        assert t.tensor_parallel * t.pipeline_parallel <= app.scenario.cluster.count
        assert app.readout.training_fit.status in {"fits", "tight"}
        # the readouts show the MFU the plan showed: one step-time model for both
        assert app.readout.training.mfu == pytest.approx(plans[0].mfu, rel=1e-12)
        assert app.readout.mfu_source == "predicted"


@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_f8_when_no_layout_fits_says_so_in_a_dialog_wide_enough_to_read(size):
    """70B on one node of 8 fits no layout: the dialog has no table, and its sentences (which
    gave it its width when there is one) are shown whole, not squeezed to nothing."""
    app = LlmscopeApp(seventy_b().with_value("cluster.count", 8))
    async with app.run_test(size=size) as pilot:
        await step(pilot, "f8")
        assert isinstance(app.screen, PlannerScreen) and not app.screen.search.plans
        dialog = app.screen.query_one("#planner-dialog")
        assert dialog.region.width >= min(size[0], 60)
        assert "no plan fits on 8 x" in screen_text(app)
        current = app.screen.query_one("#planner-current")
        assert "GiB per accelerator, more than its 80.0 GiB" in str(current.render())
        assert current.region.width > 40 and current.region.height >= 2  # shown, whole
        await step(pilot, "escape")
        assert not isinstance(app.screen, PlannerScreen)


async def test_f8_pins_the_layout_settings_edited_in_the_app():
    app = LlmscopeApp(seventy_b())
    async with app.run_test(size=WIDE) as pilot:
        assert app.apply_updates({"training.tensor_parallel": 8}) is None
        await step(pilot, "f8")
        search = app.screen.search
        assert "training.tensor_parallel" in search.pinned
        assert {plan.tensor_parallel for plan in search.plans} == {8}
        await step(pilot, "escape")


async def test_ctrl_o_lists_the_bundled_presets_and_opens_one():
    app = LlmscopeApp()
    bundled = sorted(p.stem for p in (Path(__file__).parents[1] / "presets").glob("*.toml"))
    async with app.run_test(size=WIDE) as pilot:
        await step(pilot, "ctrl+o")
        assert isinstance(app.screen, OpenPresetScreen)
        listed = {entry.name for entry in app.screen.shown}
        assert set(bundled) <= listed
        assert app.screen.query_one(OptionList).option_count >= len(bundled)
        await pilot.press(*"mixtral-8x7b")
        await step(pilot, "enter")
        assert not isinstance(app.screen, OpenPresetScreen)
        # Mixtral 8x7B: 8 experts, 2 per token (Jiang et al. 2024, Sec. 2).
        assert app.scenario.model.num_experts == 8
        assert app.scenario.model.experts_per_token == 2
        assert "mixtral-8x7b" in app.sub_title and not app.unsaved


async def test_ctrl_s_on_a_bundled_preset_saves_under_a_new_name():
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await step(pilot, "ctrl+o")
        await pilot.press(*"llama3.1-8b")
        await step(pilot, "enter")
        await type_into(pilot, app, "model.num_layers", "40")
        await step(pilot, "ctrl+s")
        assert isinstance(app.screen, SavePresetScreen)  # bundled presets are never overwritten
        await pilot.press("ctrl+shift+a", "backspace", *"my llama")
        await step(pilot, "enter")
        saved = list((paths.config_dir() / "presets").glob("*.toml"))
        assert [p.name for p in saved] == ["my-llama.toml"]
        assert not app.unsaved and "my llama" in app.sub_title
        assert "modified" not in str(app.query_one("#summary", Static).render())
        bundled_file = Path(__file__).parents[1] / "presets" / "llama3.1-8b.toml"
        assert "num_layers = 32" in bundled_file.read_text(encoding="utf-8")
        assert "num_layers = 40" in saved[0].read_text(encoding="utf-8")


async def test_quitting_with_unsaved_edits_asks_and_the_session_comes_back():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await type_into(pilot, app, "model.num_layers", "44")
        edited = app.scenario
        await step(pilot, "ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        await step(pilot, "n")
        assert app.is_running and not isinstance(app.screen, ConfirmScreen)
        await step(pilot, "ctrl+q")
        await step(pilot, "y")
    assert app.return_code == 0
    again = LlmscopeApp()
    async with again.run_test(size=NARROW):
        assert again.scenario == edited


async def test_a_teammates_preset_opened_edited_saved_as_and_restored(
    hermetic: Path, monkeypatch: pytest.MonkeyPatch
):
    """Issue #5: a team folder on $LLMSCOPE_PRESET_PATH, one preset opened from it, edited,
    saved under a new name; the next start brings the edited scenario back."""
    team = hermetic / "team"
    team.mkdir()
    source = (Path(__file__).parents[1] / "presets" / "mistral-7b.toml").read_text("utf-8")
    (team / "team-mistral.toml").write_text(
        source.replace('name = "mistral-7b"', 'name = "team-mistral"', 1), encoding="utf-8"
    )
    monkeypatch.setenv("LLMSCOPE_PRESET_PATH", str(team))
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await step(pilot, "ctrl+o")
        await pilot.press(*"team-mistral")
        await step(pilot, "enter")
        assert app.preset_name == "team-mistral"
        assert app.scenario.model.sliding_window == 4096  # Mistral 7B, Sec. 2
        await type_into(pilot, app, "serving.batch_size", "16")
        edited = app.scenario
        await step(pilot, "ctrl+s")
        assert isinstance(app.screen, SavePresetScreen)  # a teammate's file is not overwritten
        await pilot.press("ctrl+shift+a", "backspace", *"mistral batch 16")
        await step(pilot, "enter")
        await step(pilot, "ctrl+q")  # saved: quits without asking
    assert app.return_code == 0
    assert "batch_size" not in (team / "team-mistral.toml").read_text(encoding="utf-8")
    assert (paths.user_preset_dir() / "mistral-batch-16.toml").is_file()
    again = LlmscopeApp()
    async with again.run_test(size=WIDE):
        assert again.scenario == edited
        assert again.preset_name == "mistral batch 16"
        assert not again.unsaved


async def test_narrow_terminals_show_one_pane_at_a_time_and_wide_ones_all():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        assert app.query_one("#builder").display and not app.query_one("#readouts").display
        # Edits made while the readouts are hidden show in full once they are shown: the
        # hidden panes skip their layout, and showing them lays them out.
        # Dense to a mixture of experts one field at a time, as a person would.
        await type_into(pilot, app, "model.experts_per_token", "2")
        await type_into(pilot, app, "model.expert_intermediate_size", "14336")
        await type_into(pilot, app, "model.num_experts", "8")
        assert app.scenario.model.num_experts == 8
        await step(pilot, "f3")
        assert app.query_one("#readouts").display and not app.query_one("#builder").display
        shown = screen_text(app)
        assert "active per token" in shown and "experts" in shown
        total = readouts_text(app).split("Parameters", 1)[1].split("total", 1)[0].strip()
        assert total == format_count(app.readout.params.total) and total in shown
        await pilot.resize_terminal(200, 50)  # past tui.app.WIDE_COLUMNS
        await pilot.pause()
        assert all(app.query_one(f"#{pane}").display for pane in ("builder", "readouts", "curves"))


async def test_f2_f3_f4_go_to_their_pane_so_its_keys_scroll_it_at_80x24():
    app = LlmscopeApp()
    async with app.run_test(size=NARROW) as pilot:
        await focus_field(pilot, app, "model.num_layers")
        await step(pilot, "f3")
        assert "Serving  " not in screen_text(app)  # below the fold at 24 rows
        await step(pilot, "end")
        assert "Serving  " in screen_text(app) and "Price:" in screen_text(app)
        await step(pilot, "f4")
        assert app.focused is app.query_one("#curves")
        await step(pilot, "f2")  # back in the field that was selected, ready for typing
        assert is_focused(app, "model.num_layers")
        for key in ("ctrl+u", "4", "8"):
            await step(pilot, key)
        assert app.scenario.model.num_layers == 48


async def test_palette_quit_asks_when_there_are_unsaved_edits():
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        await type_into(pilot, app, "model.num_layers", "40")
        await run_palette(pilot, "Quit")
        assert isinstance(app.screen, ConfirmScreen)
        await step(pilot, "n")
        assert app.is_running
        await run_palette(pilot, "Quit")
        await step(pilot, "y")
    assert app.return_code == 0


# --- never raises -----------------------------------------------------------------------------


def bound_keys() -> list[str]:
    """Every key the app and its fields bind, and the keys that move between widgets."""
    from llmscope.tui.widgets.curves import CurvesPane

    keys: set[str] = set()
    for owner in (LlmscopeApp, FieldEditor, HardwarePicker, HelpScreen, CurvesPane, PlannerScreen):
        for binding in owner.BINDINGS:
            keys.update(k.strip() for k in binding.key.split(","))  # type: ignore[union-attr]
    keys -= {"ctrl+q", "ctrl+c"}  # quitting ends the walk; the quit test covers it
    keys -= {"f9", "e"}  # exports write a file per press; the export test covers it
    moves = ["tab", "shift+tab", "up", "down", "enter", "escape", "backspace"]
    typed = list("0123456789kmbtx") + ["plus", "minus", "asterisk", "slash", "question_mark"]
    return sorted(keys) + moves + typed


@pytest.mark.parametrize(
    ("seed", "size"), [(11, NARROW), (12, NARROW), (13, WIDE), (14, WIDE)]
)
async def test_no_sequence_of_keys_breaks_the_app(seed: int, size: tuple[int, int]):
    rng = random.Random(seed)
    keys = bound_keys()
    app = LlmscopeApp()
    async with app.run_test(size=size) as pilot:
        walk = [rng.choice(keys) for _ in range(40)]
        for key in walk:
            await pilot.press(key)
        await pilot.pause()
        assert app.is_running, walk
        # Whatever the walk did, the scenario is one the engine accepts and the readout is its own.
        assert Scenario.model_validate(app.scenario.model_dump()) == app.scenario
        assert app.readout == evaluate(app.scenario, load_catalog(paths.user_accelerators_file()).catalog)


async def test_a_per_user_speed_typed_in_moves_the_cheapest_serving_setup():
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        summary = str(app.query_one("#summary", Static).render())
        assert "at ≥20 tok/s/user" in summary
        before = app.readout.serving_frontier.best_at_target
        await type_into(pilot, app, "serving.min_tokens_per_s_per_user", "60")
        assert app.scenario.serving.min_tokens_per_s_per_user == 60
        after = app.readout.serving_frontier.best_at_target
        assert after.tokens_per_s_per_user >= 60
        assert after.tokens_per_s_per_accelerator < before.tokens_per_s_per_accelerator
        summary = str(app.query_one("#summary", Static).render())
        assert f"TP{after.tensor_parallel} x{after.batch} at ≥60 tok/s/user" in summary
        assert "cheapest ≥60 tok/s: TP" in readouts_text(app)
        # The measured efficiencies are predictions until a value is typed over them.
        assert app.scenario.serving.bandwidth_efficiency is None
        step_s = app.readout.serving.decode_step_s
        assert "efficiency typed in" not in readouts_text(app)
        await type_into(pilot, app, "serving.bandwidth_efficiency", "0.5")
        assert app.readout.serving.decode_step_s > step_s
        assert "bandwidth efficiency typed in" in readouts_text(app)  # labelled an override


@pytest.mark.parametrize(
    "key", ["cluster.mfu", "serving.bandwidth_efficiency", "serving.compute_efficiency"]
)
async def test_stepping_an_unset_prediction_pins_the_value_the_readouts_use(key):
    """Unset, these fields are predicted; + or - on one pins the prediction shown (to two
    digits), so the readouts barely move, rather than jumping to 1.0."""
    predicted = {
        "cluster.mfu": lambda r: r.training.mfu,
        "serving.bandwidth_efficiency": lambda r: (
            r.serving.bandwidth_bytes_per_s / (r.accelerator.memory_bandwidth_gbs * 1e9)
        ),
        "serving.compute_efficiency": lambda r: (
            r.serving.matmul_flops_per_s / r.serving.peak_flops_per_accelerator
        ),
    }[key]
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        assert app.scenario.value(key) is None
        before = app.readout
        pinned = round(predicted(before), 2)
        await focus_field(pilot, app, key)
        await step(pilot, "plus")
        assert app.scenario.value(key) == pytest.approx(pinned)
        # Pinned at the prediction: the figures it drives move by the rounding alone.
        if key == "cluster.mfu":
            assert app.readout.training.wall_clock_s == pytest.approx(
                before.training.wall_clock_s, rel=0.02
            )
        else:
            assert app.readout.serving.tokens_per_s_per_accelerator == pytest.approx(
                before.serving.tokens_per_s_per_accelerator, rel=0.03
            )
        await step(pilot, "plus")  # a second step moves it on from there
        assert app.scenario.value(key) > pinned


async def test_an_unset_field_says_what_the_readouts_use_in_its_place():
    """"mfu none" alone reads as no MFU at all; the field says the predicted figure the readouts
    use, and the hint goes once a value is set (typed or stepped)."""
    app = LlmscopeApp()
    async with app.run_test(size=WIDE) as pilot:
        editor = await focus_field(pilot, app, "cluster.mfu")
        predicted = app.readout.training.mfu
        assert editor.stand_in_of("cluster.mfu") == f"predicted {predicted:.1%}"
        assert f"none  predicted {predicted:.1%}" in screen_text(app)
        price = app.readout.accelerator.price_usd_per_hour
        assert editor.stand_in_of("cluster.price_usd_per_hour") == f"catalog ${price:.2f}/h"
        await pilot.press("ctrl+u", *"0.4")
        await pilot.pause()
        assert app.scenario.cluster.mfu == 0.4 and app.readout.mfu_source == "set"
        assert editor.stand_in_of("cluster.mfu") is None
        assert "predicted 4" not in screen_text(app)
        model = await focus_field(pilot, app, "model.head_dim")
        heads = app.scenario.model.num_attention_heads
        expected = f"{app.scenario.model.hidden_size // heads} = hidden size / heads"
        assert model.stand_in_of("model.head_dim") == expected
        serving = await focus_field(pilot, app, "serving.embedding_dtype")
        assert serving.stand_in_of("serving.embedding_dtype") == "as weight dtype (bf16)"
