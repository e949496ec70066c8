"""The scenario editor: every setting of the model, training and serving as a labelled field.

A field never changes the scenario itself: typing posts `FieldEdited(key, text)` and the stepping
keys post `FieldStepped(key, ...)`; the app applies the edit through the engine and sends the
outcome back with `show_value` / `show_error`. Text that does not parse or that the engine
rejects stays in the field, marked, with the engine's reason under it; the scenario stays at its
last valid state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Static

from engine.architecture import MLA_FIELDS, MOE_FIELDS, Architecture
from engine.scenario import SECTIONS, Scenario
from tui.numbers import format_field_value
from tui.presets import setting_kind

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
)

CLUSTER_KEYS: tuple[str, ...] = tuple(
    f"cluster.{name}" for name in SECTIONS["cluster"].model_fields if name != "accelerator"
)


# Groups whose fields the engine ignores for some models say so on their border rather than
# hiding (a value typed there takes effect as soon as the model uses the group).
GROUP_NOT_IN_USE: dict[str, tuple[str, Callable[[Architecture], str]]] = {
    "Latent attention (MLA)": (MLA_FIELDS[0], lambda m: f"not used: attention is {m.attention}"),
    "Mixture of experts": (MOE_FIELDS[0], lambda m: "not used: num experts is 0"),
}


def field_id(dotted_key: str) -> str:
    return "field-" + dotted_key.replace(".", "--")


def field_label(dotted_key: str) -> str:
    return dotted_key.partition(".")[2].replace("_", " ")


def field_description(dotted_key: str) -> str:
    section, _, name = dotted_key.partition(".")
    return SECTIONS[section].model_fields[name].description or ""


class FieldEdited(Message):
    """The user typed into a field: the app parses `text` and applies it to `key`."""

    def __init__(self, key: str, text: str) -> None:
        super().__init__()
        self.key = key
        self.text = text


class FieldStepped(Message):
    """A stepping key on a field: the next sensible value up or down, or x2 / /2."""

    def __init__(self, key: str, up: bool, double: bool) -> None:
        super().__init__()
        self.key = key
        self.up = up
        self.double = double


_STEP_GROUP = Binding.Group("step")


class FieldInput(Input):
    """One setting's text. +/- step it (cycle a choice, toggle a switch), * and / double and
    halve numbers; up and down move to the previous and next field."""

    BINDINGS = [
        # One footer item for the four stepping keys: at 80 columns the footer has no room for four.
        Binding("plus", "step(True, False)", "Next", id="field.step_up", tooltip="Next value",
                group=_STEP_GROUP),
        Binding("minus", "step(False, False)", "Prev", id="field.step_down", tooltip="Previous",
                group=_STEP_GROUP),
        Binding("asterisk", "step(True, True)", "x2", id="field.double", tooltip="Double",
                group=_STEP_GROUP),
        Binding("slash", "step(False, True)", "/2", id="field.halve", tooltip="Halve",
                group=_STEP_GROUP),
        Binding("shift+up", "step(True, True)", "x2", show=False, id="field.double_shift"),
        Binding("shift+down", "step(False, True)", "/2", show=False, id="field.halve_shift"),
        Binding("down", "app.focus_next", "Next field", show=False, id="field.next"),
        Binding("up", "app.focus_previous", "Previous field", show=False, id="field.previous"),
    ]

    # Keys that step instead of typing; the field's text never needs them (a negative or an
    # exponent's sign is never a valid setting here: "1e-5" is written 0.00001).
    _STEP_CHARACTERS = {"+": (True, False), "-": (False, False), "*": (True, True), "/": (False, True)}

    def __init__(self, key: str, **kwargs: Any) -> None:
        # Compact through CSS (app.tcss), not Input's `compact` flag: setting that reactive on
        # each of ~75 fields cost ~1 ms apiece at start-up.
        super().__init__(id=field_id(key), select_on_focus=False, **kwargs)
        self.key = key
        self.kind, self.choices, self.nullable = setting_kind(key)
        self.tooltip = field_description(key)

    async def _on_key(self, event: events.Key) -> None:
        if self.kind != "str" and event.character in self._STEP_CHARACTERS:
            event.stop()
            event.prevent_default()
            up, double = self._STEP_CHARACTERS[event.character]
            self.post_message(FieldStepped(self.key, up, double))
            return
        await super()._on_key(event)

    def action_step(self, up: bool, double: bool) -> None:
        if self.kind != "str":
            self.post_message(FieldStepped(self.key, up, double))


class FieldRow(Horizontal):
    """Label and text; when the text is rejected, the reason on a line under the row.

    Two widgets a field: the editor holds ~75 of them and start-up time grows with the number of
    widgets. The reason's line is mounted the first time it is needed."""

    def __init__(self, key: str, text: str = "") -> None:
        super().__init__(classes="field-row")
        self.key = key
        self.input = FieldInput(key, value=text)
        self.error: Static | None = None
        self._reason: str | None = None
        # The text last shown for the scenario's value: the input echoes it once as a change
        # when mounted, and that echo is not an edit.
        self.shown_text = text

    @property
    def invalid(self) -> bool:
        return self._reason is not None

    def compose(self) -> ComposeResult:
        yield Label(field_label(self.key), classes="field-label")
        yield self.input

    def show_error(self, message: str | None) -> None:
        """Mark the row with `message`, or clear it. Unchanged rows are left alone: every edit
        re-shows every row, and touching a Static lays the screen out again."""
        if message == self._reason:
            return
        self._reason = message
        self.set_class(message is not None, "-invalid")
        if self.error is None:
            if message is None:
                return
            self.error = Static("", classes="field-error", markup=False)
            self.parent.mount(self.error, after=self)
        self.error.update(message or "")
        self.error.display = message is not None


class FieldGroup(Vertical):
    """A titled group of fields."""

    def __init__(
        self, title: str, keys: tuple[str, ...], scenario: Scenario | None = None, **kwargs: Any
    ) -> None:
        super().__init__(classes="field-group", **kwargs)
        self.border_title = title
        self.keys = keys
        self.scenario = scenario

    def compose(self) -> ComposeResult:
        for key in self.keys:
            text = "" if self.scenario is None else format_field_value(self.scenario.value(key))
            yield FieldRow(key, text)


class FieldEditor(VerticalScroll):
    """Groups of fields with one way in and out: `show_scenario`, `show_error`, the messages."""

    def __init__(
        self,
        groups: tuple[tuple[str, tuple[str, ...]], ...],
        scenario: Scenario | None = None,
        **kwargs: Any,
    ) -> None:
        """`scenario` fills the fields as they are built: cheaper than setting ~80 values after
        mounting, each of which re-validates and repaints its field."""
        super().__init__(**kwargs)
        self.groups = groups
        self.scenario = scenario
        self._rows: dict[str, FieldRow] = {}

    def compose(self) -> ComposeResult:
        for title, keys in self.groups:
            yield FieldGroup(title, keys, self.scenario)

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FieldInput):
            event.stop()
            row = event.input.parent
            if isinstance(row, FieldRow) and event.value == row.shown_text and not row.invalid:
                return  # the scenario's own value: nothing to re-evaluate
            self.post_message(FieldEdited(event.input.key, event.value))

    class Ready(Message):
        """The editor is mounted: it can show a scenario and be found by the app (an editor in
        a tab not yet opened is mounted after the first frame)."""

        def __init__(self, editor: FieldEditor) -> None:
            super().__init__()
            self.editor = editor

    def on_mount(self) -> None:
        # Built once: show_scenario runs on every edit and must not search the widget tree.
        self._rows = {row.key: row for row in self.query(FieldRow)}
        self._conditional_groups = [
            (group, *GROUP_NOT_IN_USE[group.border_title])
            for group in self.query(FieldGroup)
            if group.border_title in GROUP_NOT_IN_USE
        ]
        if self.scenario is not None:
            self._mark_groups_in_use(self.scenario)
        self.post_message(self.Ready(self))

    def _mark_groups_in_use(self, scenario: Scenario) -> None:
        ignored = scenario.model.ignored_fields
        for group, probe_field, reason_for in self._conditional_groups:
            reason = reason_for(scenario.model) if probe_field in ignored else ""
            if group.border_subtitle != reason:
                group.border_subtitle = reason

    def show_scenario(self, scenario: Scenario, keep_text_of: str | None = None) -> None:
        """Show every field's value; the field being typed in (`keep_text_of`) keeps its text, so
        "70" on its way to "70B" is not rewritten under the cursor. Only what changed is touched,
        so an edit repaints a few fields, not the whole editor."""
        self.scenario = scenario  # shown when composed, if that is still to come
        for key, row in self._rows.items():
            text = format_field_value(scenario.value(key))
            row.shown_text = text
            if key != keep_text_of and row.input.value != text:
                with row.input.prevent(Input.Changed):
                    row.input.value = text
            row.show_error(None)
        if self._rows:
            self._mark_groups_in_use(scenario)

    def show_error(self, key: str, message: str | None) -> None:
        row = self._rows.get(key)
        if row is not None:
            row.show_error(message)

    def has_field(self, key: str) -> bool:
        return key in self._rows
