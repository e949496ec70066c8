"""The scenario editor: every setting of the model, training, serving and scaling as a labelled
field.

A field never changes the scenario itself: typing posts `FieldEdited(key, text, before)` and the
stepping keys post `FieldStepped(key, ...)`; the app applies the edit through the engine and sends
the outcome back with `show_scenario` / `show_error`.

What typing applies, the one rule: the scenario holds the field's whole text when that text is a
valid value, and otherwise the value the field had when editing began (`before`). Each key checks
the whole text: "4096" typed over 5120 shows 4, 40, 409, 4096 on the way, and any of them the
engine accepts is in use while it stands; but text that ends invalid ("4096.0", "409") leaves
the value from before the edit in use, never a prefix that happened to be valid. A rejected text
stays in the field, marked, with the engine's reason under it. Esc gives the field back its value
from before the edit and applies it. Editing a field ends when the selection leaves it with a
valid text, when a stepping key applies a value, or when the scenario changes elsewhere.

One editor is one widget that draws a line per field (Textual's line API) and edits the selected
field's text itself, rather than a label and an `Input` per field: Textual's start-up, styling and
layout cost grows with the number of widgets, and ~75 fields as ~220 widgets made start-up
~40x a bare app and a typed key take two frames (the input's echo, then the applied edit).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from llmscope.engine.architecture import MLA_FIELDS, MOE_FIELDS, Architecture
from llmscope.engine.scenario import SECTIONS, Scenario
from llmscope.presets.numbers import format_field_value
from llmscope.presets.settings import setting_kind
from llmscope.tui.widgets.keys import run_binding_now

# Field groups as people think of a model; every Architecture field appears exactly once
# (tests/test_app.py checks it).
MODEL_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Shape", ("name", "family", "hidden_size", "num_layers")),
    (
        "Attention",
        (
            "attention",
            "num_attention_heads",
            "num_kv_heads",
            "head_dim",
            "sliding_window",
            "sliding_window_pattern",
            "qk_norm",
            "attention_qkv_bias",
            "attention_out_bias",
        ),
    ),
    ("Latent attention (MLA)", MLA_FIELDS),
    ("MLP", ("mlp", "intermediate_size", "mlp_bias")),
    ("Mixture of experts", ("num_experts", *MOE_FIELDS)),
    (
        "Vocabulary and context",
        (
            "vocab_size",
            "max_position_embeddings",
            "tie_word_embeddings",
            "position_embedding",
            "norm",
            "norms_per_layer",
            "final_norm",
        ),
    ),
)

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    *((title, tuple(f"model.{name}" for name in names)) for title, names in MODEL_GROUPS),
    ("Training", tuple(f"training.{name}" for name in SECTIONS["training"].model_fields)),
    ("Serving", tuple(f"serving.{name}" for name in SECTIONS["serving"].model_fields)),
    # The law and view F6 / F7 cycle, and a compute budget to size a model for.
    ("Scaling", tuple(f"scaling.{name}" for name in SECTIONS["scaling"].model_fields)),
)

CLUSTER_KEYS: tuple[str, ...] = tuple(
    f"cluster.{name}" for name in SECTIONS["cluster"].model_fields if name != "accelerator"
)


# Groups whose fields the engine ignores for some models say so on their title line rather than
# hiding (a value typed there takes effect as soon as the model uses the group).
GROUP_NOT_IN_USE: dict[str, tuple[str, Callable[[Architecture], str]]] = {
    "Latent attention (MLA)": (MLA_FIELDS[0], lambda m: f"not used: attention is {m.attention}"),
    "Mixture of experts": (MOE_FIELDS[0], lambda m: "not used: num experts is 0"),
}


def field_label(dotted_key: str) -> str:
    return dotted_key.partition(".")[2].replace("_", " ")


def field_description(dotted_key: str) -> str:
    section, _, name = dotted_key.partition(".")
    return SECTIONS[section].model_fields[name].description or ""


LABEL_CELLS = 33  # " " + the longest label (31) + " ": where every value starts


class FieldEdited(Message):
    """The user typed into a field: the app parses `text` and applies it to `key`; while `text`
    is not a valid value the field's value from before the edit (`before`) is the one in use."""

    def __init__(self, key: str, text: str, before: Any) -> None:
        super().__init__()
        self.key = key
        self.text = text
        self.before = before


class FieldRestored(Message):
    """Esc in a field: apply `value`, what the field held when editing began."""

    def __init__(self, key: str, value: Any) -> None:
        super().__init__()
        self.key = key
        self.value = value


class FieldStepped(Message):
    """A stepping key on a field: the next sensible value up or down, or x2 / /2."""

    def __init__(self, key: str, up: bool, double: bool) -> None:
        super().__init__()
        self.key = key
        self.up = up
        self.double = double


_STEP_GROUP = Binding.Group("step", compact=True)
# The stepping keys: (key, the character it types, up, double, footer label, binding id, tooltip).
_STEP_KEYS = (
    ("plus", "+", True, False, "Next", "field.step_up", "Next value"),
    ("minus", "-", False, False, "Prev", "field.step_down", "Previous"),
    ("asterisk", "*", True, True, "x2", "field.double", "Double"),
    ("slash", "/", False, True, "/2", "field.halve", "Halve"),
)

# What a line of the editor is: a group's title, a field, or a line of a rejected entry's reason.
_GROUP, _FIELD, _REASON = "group", "field", "reason"


class FieldEditor(ScrollView, can_focus=True):
    """Groups of fields, one line each, with one way in and out: `show_scenario`, `show_error`
    and the messages. Up and down select a field; typing edits the selected field's text (each
    key an edit); +/- step it (cycle a choice, toggle a switch), * and / double and halve."""

    BINDINGS = [
        # One footer item for the four stepping keys: at 80 columns the footer has no room for four.
        *(
            Binding(key, f"step({up}, {double})", label, id=id_, tooltip=tooltip, group=_STEP_GROUP)
            for key, _, up, double, label, id_, tooltip in _STEP_KEYS
        ),
        Binding("shift+up", "step(True, True)", "x2", show=False, id="field.double_shift"),
        Binding("shift+down", "step(False, True)", "/2", show=False, id="field.halve_shift"),
        Binding("down,enter", "select_next", "Next field", show=False, id="field.next"),
        Binding("up", "select_previous", "Previous field", show=False, id="field.previous"),
        Binding(
            "pagedown",
            "select_next(True)",
            "Page down",
            show=False,
            id="field.page_down",
        ),
        Binding("pageup", "select_previous(True)", "Page up", show=False, id="field.page_up"),
        Binding("left", "caret(-1)", "Caret left", show=False, id="field.caret_left"),
        Binding("right", "caret(1)", "Caret right", show=False, id="field.caret_right"),
        Binding(
            "home,ctrl+a",
            "caret_to(False)",
            "Start of text",
            show=False,
            id="field.home",
        ),
        Binding("end,ctrl+e", "caret_to(True)", "End of text", show=False, id="field.end"),
        Binding("backspace", "delete(-1)", "Delete left", show=False, id="field.delete_left"),
        Binding(
            "delete,ctrl+d",
            "delete(1)",
            "Delete right",
            show=False,
            id="field.delete_right",
        ),
        Binding("ctrl+u", "clear_left", "Clear to start", show=False, id="field.clear_left"),
        Binding("ctrl+k", "clear_right", "Clear to end", show=False, id="field.clear_right"),
        Binding("escape", "restore", "Restore value", show=False, id="field.restore"),
    ]

    COMPONENT_CLASSES = {
        "field-editor--group",
        "field-editor--rule",
        "field-editor--note",
        "field-editor--label",
        "field-editor--value",
        "field-editor--invalid",
        "field-editor--reason",
        "field-editor--selected",
        "field-editor--caret",
    }

    DEFAULT_CSS = """
    FieldEditor {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
        & > .field-editor--group { color: $primary; text-style: bold; }
        & > .field-editor--rule { color: $text-muted; }
        & > .field-editor--note { color: $text-muted; text-style: italic; }
        & > .field-editor--label { color: $text-muted; }
        & > .field-editor--value { color: $foreground; }
        & > .field-editor--invalid { color: $error; text-style: bold; }
        & > .field-editor--reason { color: $error; }
        & > .field-editor--selected {
            background: $block-cursor-blurred-background;
            text-style: bold;  /* the selected row shows where the background cannot (ANSI) */
        }
        & > .field-editor--caret {
            background: $input-cursor-background;
            color: $input-cursor-foreground;
        }
    }
    """

    # Keys that step instead of typing. "-" types a minus where a number's text can take one:
    # as the first character of an empty field, or as an exponent's sign after "e" ("1e-5").
    # No setting is negative today, so "-5" is typed and refused with the field's range rather
    # than stepping the value.
    _STEP_CHARACTERS = {character: (up, double) for _, character, up, double, *_ in _STEP_KEYS}

    class Ready(Message):
        """The editor is mounted: it can show a scenario and be found by the app (an editor in
        a tab not yet opened is mounted after the first frame)."""

        def __init__(self, editor: FieldEditor) -> None:
            super().__init__()
            self.editor = editor

    def __init__(
        self,
        groups: tuple[tuple[str, tuple[str, ...]], ...],
        scenario: Scenario | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.groups = groups
        self.keys: tuple[str, ...] = tuple(key for _, keys in groups for key in keys)
        # Text fields (a name) take + - * / as characters; every other field steps on them.
        self._steppable = frozenset(key for key in self.keys if setting_kind(key)[0] != "str")
        self._shown: dict[str, str] = dict.fromkeys(self.keys, "")  # the scenario's values
        self._values: dict[str, Any] = {}  # the same, as values
        # Fields being edited -> their value when editing began (what Esc and a rejected text
        # fall back to).
        self._before: dict[str, Any] = {}
        self._texts: dict[str, str] = dict(self._shown)  # what each field shows now
        self._reasons: dict[str, str] = {}  # rejected entries: why
        self._notes: dict[str, str] = {}  # group title -> why the engine ignores it
        self.selected_key = self.keys[0]
        self._caret = 0
        # (kind, key or group title, reason text) per line; the scrolled size changes (a layout)
        # only when their number or the width does.
        self._lines: list[tuple[str, str, str]] = []
        self._line_of: dict[str, int] = {}
        self._style_cache: dict[str, Style] | None = None
        self._stand_ins: dict[str, str] = {}
        if scenario is not None:
            self.show_scenario(scenario)
        self._caret = len(self._texts[self.selected_key])

    # --- what the app calls ------------------------------------------------------------------

    def show_scenario(
        self,
        scenario: Scenario,
        keep_text_of: str | None = None,
        problems: Mapping[str, str] | None = None,
        stand_ins: Mapping[str, str] | None = None,
    ) -> None:
        """Show every field's value; the field being typed in (`keep_text_of`) keeps its text, so
        "70" on its way to "70B" is not rewritten under the caret. Every rejected entry is
        cleared and every other edit ends: the fields show the scenario. A selected field whose
        text is rewritten (a step) gets the caret at its end, where the next key continues.
        `problems` (dotted key -> reason: the rules an accepted but invalid layout breaks,
        engine.layout) are marked on their fields. `stand_ins` (dotted key -> text) say what the
        readouts use in place of an unset field ("predicted 42%"), shown dim after its "none"."""
        selected_text = self._texts[self.selected_key]
        for key in self.keys:
            value = scenario.value(key)
            text = format_field_value(value)
            self._shown[key] = text
            self._values[key] = value
            if key != keep_text_of:
                self._texts[key] = text
                self._before.pop(key, None)
        text = self._texts[self.selected_key]
        self._caret = len(text) if text != selected_text else min(self._caret, len(text))
        ignored = scenario.model.ignored_fields
        self._notes = {
            title: reason_for(scenario.model)
            for title, (probe_field, reason_for) in GROUP_NOT_IN_USE.items()
            if probe_field in ignored
        }
        self._stand_ins = {key: text for key, text in (stand_ins or {}).items() if key in self._shown}
        self._reasons.clear()
        for key, reason in (problems or {}).items():
            if key in self._shown:
                self._reasons[key] = reason
        self._lay_out()

    def show_error(self, key: str, message: str | None) -> None:
        if key not in self._shown:
            return
        if message is None:
            self._reasons.pop(key, None)
        else:
            self._reasons[key] = message
        self._lay_out()  # also the answer to an edit, whose text is drawn only now

    def has_field(self, key: str) -> bool:
        return key in self._shown

    def text_of(self, key: str) -> str:
        """The field's text as shown: the scenario's value, or what is being typed."""
        return self._texts[key]

    def reason_of(self, key: str) -> str | None:
        """Why the field's text was rejected, or None."""
        return self._reasons.get(key)

    def reason_lines(self, key: str) -> list[str]:
        """The lines under the field that give the reason of its rejected text, as drawn."""
        return [text for kind, name, text in self._lines if kind == _REASON and name == key]

    def is_editing(self, key: str) -> bool:
        """Whether the field is being edited (typed in since it was selected or last applied)."""
        return key in self._before

    def stand_in_of(self, key: str) -> str | None:
        """What the readouts use in place of the unset field `key`, as shown after it, or None."""
        return self._stand_ins.get(key) if self._values.get(key) is None else None

    def note_of(self, group_title: str) -> str:
        """Why the engine ignores a group's fields for this model, or ""."""
        return self._notes.get(group_title, "")

    def select(self, key: str) -> None:
        """Select a field, the caret after its text; the field left shows the scenario's value
        again unless its text was rejected (kept for correcting)."""
        if key == self.selected_key:
            return
        left = self.selected_key
        if left not in self._reasons:  # a valid text is applied: its edit is over
            self._texts[left] = self._shown[left]
            self._before.pop(left, None)
        self.selected_key = key
        self._caret = len(self._texts[key])
        self.tooltip = field_description(key)
        self._scroll_to_selected()
        self.refresh()

    # --- lines ---------------------------------------------------------------------------------

    def _lay_out(self) -> None:
        """The lines: a title per group, a line per field, the reason of a rejected entry wrapped
        under its field."""
        width = max(self.scrollable_content_region.width - LABEL_CELLS, 20)
        lines: list[tuple[str, str, str]] = []
        for title, keys in self.groups:
            lines.append((_GROUP, title, ""))
            for key in keys:
                self._line_of[key] = len(lines)
                lines.append((_FIELD, key, ""))
                reason = self._reasons.get(key)
                if reason:
                    lines.extend((_REASON, key, part) for part in textwrap.wrap(reason, width))
        self._lines = lines
        size = Size(self.scrollable_content_region.width, len(lines))
        if size != self.virtual_size:
            self.virtual_size = size
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out()
        # A smaller editor must not leave the selected field below its last row, where keys
        # would edit a field nobody sees.
        self._scroll_to_selected()

    def selection_visible(self) -> bool:
        """Whether the selected field's line is inside the editor's visible rows."""
        line = self._line_of.get(self.selected_key, 0)
        top = self.scroll_offset.y
        return self.display and top <= line < top + self.scrollable_content_region.height

    def render_line(self, y: int) -> Strip:
        scroll_y = self.scroll_offset.y  # no horizontal scrolling: lines fit the width
        width = self.scrollable_content_region.width
        index = scroll_y + y
        styles = self._styles()
        base = styles["base"]
        if index >= len(self._lines):
            return Strip.blank(width, base)
        kind, name, text = self._lines[index]
        style = styles.__getitem__
        if kind == _GROUP:
            # "─ Title ─────── note ─" across the width.
            note = self._notes.get(name, "")
            tail = f" {note} ─" if note else ""
            fill = "─" * max(width - len(name) - len(tail) - 3, 1)
            segments = [
                Segment("─ ", style("field-editor--rule")),
                Segment(name, style("field-editor--group")),
                Segment(f" {fill}", style("field-editor--rule")),
            ]
            if note:
                segments += [
                    Segment(f" {note}", style("field-editor--note")),
                    Segment(" ─", style("field-editor--rule")),
                ]
        elif kind == _REASON:
            segments = [
                Segment(" " * LABEL_CELLS, base),
                Segment(text, style("field-editor--reason")),
            ]
        else:
            segments = self._field_segments(name, width)
        return Strip(segments).adjust_cell_length(width, base)

    def _field_segments(self, key: str, width: int) -> list[Segment]:
        style = self._styles().__getitem__
        selected = key == self.selected_key and self.has_focus
        row: Style = style("field-editor--selected") if selected else Style()
        label = f" {field_label(key)}".ljust(LABEL_CELLS)
        value_style = style(
            "field-editor--invalid" if key in self._reasons else "field-editor--value"
        )
        text = self._texts[key]
        segments = [Segment(label, style("field-editor--label") + row)]
        # Unset, and nothing typed over it: what the readouts use in its place, dim after it.
        stand_in = self.stand_in_of(key) if text == self._shown[key] else None
        if not selected:
            hint = [Segment(f"  {stand_in}", style("field-editor--note"))] if stand_in else []
            return [*segments, Segment(text, value_style), *hint]
        caret = self._caret
        shown = text + " "  # the caret can sit after the last character
        # After the text's cells: a stand-in's hint (the caret's cell after the text is the first
        # of the two spaces before it), then blanks to the edge.
        tail, tail_style = (
            (f" {stand_in}", style("field-editor--note")) if stand_in else ("", value_style)
        )
        return [
            *segments,
            Segment(shown[:caret], value_style + row),
            Segment(shown[caret], value_style + style("field-editor--caret")),
            Segment(shown[caret + 1 :], value_style + row),
            Segment(tail.ljust(width - LABEL_CELLS - len(shown)), tail_style + row),
        ]

    def _styles(self) -> dict[str, Style]:
        """The component styles, looked up once per theme or state rather than per line and
        segment (each lookup resolves the CSS: ~3 ms a frame for a screenful of fields)."""
        if self._style_cache is None:
            self._style_cache = {
                name: self.get_component_rich_style(name) for name in self.COMPONENT_CLASSES
            }
            self._style_cache["base"] = self.rich_style
        return self._style_cache

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache = None

    def _scroll_to_selected(self) -> None:
        line = self._line_of.get(self.selected_key, 0)
        # The group's title too when the field is its first, and the reason under the field.
        top = line - 1 if line > 0 and self._lines[line - 1][0] == _GROUP else line
        bottom = line + sum(
            1
            for kind, key, _ in self._lines[line + 1 :]
            if kind == _REASON and key == self.selected_key
        )
        height = self.scrollable_content_region.height
        if top < self.scroll_offset.y:
            self.scroll_to(y=top, animate=False, immediate=True)
        elif bottom >= self.scroll_offset.y + height > 0:
            self.scroll_to(y=bottom - height + 1, animate=False, immediate=True)

    # --- keys and mouse --------------------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        # Down, Down, "4" typed quickly must put the "4" in the field selected last (keys.py).
        if await run_binding_now(self, event):
            return
        character = event.character
        if not event.is_printable or character is None:
            return
        event.stop()
        event.prevent_default()
        if not self._shows_selection():
            return
        if (
            character in self._STEP_CHARACTERS
            and self.selected_key in self._steppable
            and not self._types_minus(character)
        ):
            self.action_step(*self._STEP_CHARACTERS[character])
        else:
            self._insert(character)

    def _types_minus(self, character: str) -> bool:
        """A "-" that is a sign: the first character of an empty field, or after an exponent's
        "e" that follows a digit ("1e-5")."""
        if character != "-":
            return False
        before_caret = self._texts[self.selected_key][: self._caret]
        return before_caret == "" or (
            len(before_caret) >= 2 and before_caret[-1] in "eE" and before_caret[-2].isdigit()
        )

    def _shows_selection(self) -> bool:
        """A key edits only a field the user can see: when the selection is off screen, the key
        brings it into view instead of acting on it."""
        if self.selection_visible():
            return True
        self._scroll_to_selected()
        self.refresh()
        return False

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        if self._shows_selection():
            self._insert(" ".join(event.text.split()))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = offset.y + self.scroll_offset.y
        if 0 <= index < len(self._lines) and self._lines[index][0] != _GROUP:
            self.select(self._lines[index][1])

    def on_focus(self) -> None:
        self.tooltip = field_description(self.selected_key)
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_step(self, up: bool, double: bool) -> None:
        if self.selected_key in self._steppable and self._shows_selection():
            self.post_message(FieldStepped(self.selected_key, up, double))

    def action_select_next(self, page: bool = False) -> None:
        self._move_selection(max(self.scrollable_content_region.height - 2, 1) if page else 1)

    def action_select_previous(self, page: bool = False) -> None:
        self._move_selection(-max(self.scrollable_content_region.height - 2, 1) if page else -1)

    def _move_selection(self, fields: int) -> None:
        index = self.keys.index(self.selected_key) + fields
        self.select(self.keys[min(max(index, 0), len(self.keys) - 1)])

    def action_caret(self, cells: int) -> None:
        if not self._shows_selection():
            return
        self._caret = min(max(self._caret + cells, 0), len(self._texts[self.selected_key]))
        self.refresh()

    def action_caret_to(self, end: bool) -> None:
        if not self._shows_selection():
            return
        self._caret = len(self._texts[self.selected_key]) if end else 0
        self.refresh()

    def action_delete(self, direction: int) -> None:
        if not self._shows_selection():
            return
        text, caret = self._texts[self.selected_key], self._caret
        if direction < 0 and caret > 0:
            self._edit(text[: caret - 1] + text[caret:], caret - 1)
        elif direction > 0 and caret < len(text):
            self._edit(text[:caret] + text[caret + 1 :], caret)

    def action_clear_left(self) -> None:
        if not self._shows_selection():
            return
        self._edit(self._texts[self.selected_key][self._caret :], 0)

    def action_clear_right(self) -> None:
        if not self._shows_selection():
            return
        text = self._texts[self.selected_key]
        self._edit(text[: self._caret], self._caret)

    def action_restore(self) -> None:
        """Back to the value the field had when editing began, applied again; a rejected entry
        is dropped."""
        key = self.selected_key
        if not self._shows_selection():
            return
        before = self._before.pop(key, self._values.get(key))
        if key in self._values and before != self._values[key]:
            self.post_message(FieldRestored(key, before))
        text = format_field_value(before) if key in self._values else self._shown[key]
        self._texts[key] = text
        self._caret = len(text)
        self.show_error(key, None)  # redraws

    def _insert(self, characters: str) -> None:
        text, caret = self._texts[self.selected_key], self._caret
        self._edit(text[:caret] + characters + text[caret:], caret + len(characters))

    def _edit(self, text: str, caret: int) -> None:
        key = self.selected_key
        self._caret = caret
        if text == self._texts[key]:
            self.refresh()
            return
        self._texts[key] = text
        before = self._before.setdefault(key, self._values.get(key))
        # Not redrawn here: the app answers every edit with show_scenario or show_error, which
        # redraw; drawing the echo first made a typed key two frames, the second one paced
        # 1/60 s after the first.
        self.post_message(FieldEdited(key, text, before))

    def on_mount(self) -> None:
        self._lay_out()
        self.post_message(self.Ready(self))
