"""The llmscope app: one immutable Scenario, evaluated by the engine, shown by every pane.

Data flows one way. A field posts an edit; `apply_scenario` validates it through the engine,
evaluates the new scenario and hands the Readout to every pane; a rejected edit is shown on its
field and changes nothing. Panes never compute. Nothing runs while the user is idle: no timers,
no animation; the one background task is the detection of this box's accelerators at start.

Every applied edit is written to the session file (llmscope.presets.session) a moment later: one
one-shot timer, restarted by each edit, so a burst of keys writes once. Quitting, SIGHUP (a dropped
SSH connection, `tmux kill-session`) and SIGTERM write it at once and leave the terminal as it was.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.lazy import Lazy
from textual.timer import Timer
from textual.widgets import Footer, Header, Tab, TabbedContent, TabPane, Tabs

from llmscope.engine.errors import EngineInputError
from llmscope.engine.evaluate import Readout, evaluate
from llmscope.engine.hardware import Catalog
from llmscope.engine.planner import PINNABLE, search_plans
from llmscope.engine.scenario import Scenario
from llmscope.presets import paths
from llmscope.presets.accelerators import user_catalog
from llmscope.presets.errors import PresetError, PresetExistsError
from llmscope.presets.files import ORIGIN_USER, Preset, save_preset, slugify, write_atomic
from llmscope.presets.library import find_preset, list_presets
from llmscope.presets.numbers import format_usd, step_value
from llmscope.presets.report import render_json, render_markdown
from llmscope.presets.safe_text import display_safe
from llmscope.presets.session import Session, claim_session
from llmscope.presets.settings import parse_setting, setting_kind
from llmscope.presets.sources import load_source
from llmscope.tui.commands import LlmscopeCommands
from llmscope.tui.screens.planner import PlannerScreen
from llmscope.tui.screens.presets import ConfirmScreen, OpenPresetScreen, SavePresetScreen
from llmscope.tui.themes import (
    THEME_VARIABLE_DEFAULTS,
    default_theme_name,
    load_themes_with_problems,
    save_theme_name,
    saved_theme_name,
)
from llmscope.tui.widgets.builder import (
    GROUPS,
    FieldEdited,
    FieldEditor,
    FieldRestored,
    FieldStepped,
)
from llmscope.tui.widgets.curves import CurvesPane
from llmscope.tui.widgets.hardware import AcceleratorChosen, HardwarePicker
from llmscope.tui.widgets.readouts import ReadoutsPane
from llmscope.tui.widgets.summary import SummaryLine

# Terminal widths at which the panes sit side by side (see on_resize).
WIDE_COLUMNS = 190
MEDIUM_COLUMNS = 110
BUILDER_COLUMNS = 72  # the builder's width beside other panes: label column + a number

VIEWS = ("builder", "readouts", "curves")
BUILDER_TABS = ("tab-model", "tab-hardware", "tab-run")
_TAB_GROUP = Binding.Group("tab", compact=True)

# The session is written this long after the last edit: a burst of keys (typing 4096, holding +)
# writes once, and an edit is on disk well within a second.
SESSION_SAVE_DELAY_S = 0.3
# A builder tab chosen by [ or ] is focused as soon as its fields are mounted; a tab's first
# mount takes a frame or two, a second or more on a loaded machine.
BUILDER_FOCUS_RETRY_S = 0.02
BUILDER_FOCUS_WAIT_S = 5.0
# Signals that end the app with its session saved and the terminal restored: the terminal going
# away (SSH drop, tmux kill-session) and a plain `kill`.
EXIT_SIGNALS = (signal.SIGHUP, signal.SIGTERM) if hasattr(signal, "SIGHUP") else (signal.SIGTERM,)
# After such a signal the normal exit has this long to restore the terminal before the process
# ends anyway (the session is already written by then).
EXIT_GRACE_S = 2.0

# Where stepping starts for an optional number that is unset (None means "derived" or "off").
_UNSET_START: dict[str, float] = {
    "model.sliding_window": 4096,
    "model.q_lora_rank": 1536,
    "cluster.price_usd_per_hour": 2.0,
    "training.deadline_days": 90,  # a quarter, as runs are planned
    "training.budget_usd": 1e6,
    "scaling.compute_budget_flops": 1e24,  # about a 100B-parameter run
}


@dataclass(frozen=True)
class _Panes:
    editors: tuple[FieldEditor, ...]
    hardware: HardwarePicker
    readouts: ReadoutsPane
    curves: CurvesPane
    summary: SummaryLine


class LlmscopeApp(App[int]):
    """What would this model cost, and does it fit?"""

    TITLE = "llmscope"
    CSS_PATH = "app.tcss"
    AUTO_FOCUS = "#model-editor"  # the first field selected: typing edits the model at once
    COMMANDS = App.COMMANDS | {LlmscopeCommands}

    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help", tooltip="Keys and readouts explained"),
        Binding("question_mark", "help", "Help", show=False, id="app.help_question"),
        # The builder's tabs (Model, Hardware, Train & serve) from wherever the focus is; typed
        # in a field or the filter too (keys.KEY_CHARACTERS), so shown next to Help.
        Binding(
            "left_square_bracket",
            "builder_tab(-1)",
            "Tab",
            id="app.builder_tab_previous",
            tooltip="Previous builder tab",
            group=_TAB_GROUP,
        ),
        Binding(
            "right_square_bracket",
            "builder_tab(1)",
            "Tab",
            id="app.builder_tab_next",
            tooltip="Next builder tab: Model, Hardware, Train & serve",
            group=_TAB_GROUP,
        ),
        # F2-F4 are named on the view tabs they switch (and do nothing when all panes show), so
        # the footer keeps its room at 80 columns for the keys named nowhere else.
        Binding("f2", "view('builder')", "Build", show=False, id="app.view_builder"),
        Binding("f3", "view('readouts')", "Readouts", show=False, id="app.view_readouts"),
        Binding("f4", "view('curves')", "Curves", show=False, id="app.view_curves"),
        Binding("f5", "toggle_pin", "Pin A", id="app.pin", tooltip="Compare edits against this"),
        # Letter keys act outside text fields only (in a field they are typed).
        Binding("p", "toggle_pin", "Pin A", show=False, id="app.pin_p"),
        Binding("e", "export", "Export", show=False, id="app.export_e"),
        # Open and Save before the F-keys the palette also offers: in a field at 80 columns the
        # footer has no room for all, and what it cuts is on the right.
        Binding("ctrl+o", "open_preset", "Open", id="app.open", tooltip="Open a preset"),
        Binding("ctrl+s", "save_preset", "Save", id="app.save", tooltip="Save the preset"),
        Binding("f8", "plan", "Plan", id="app.plan", tooltip="Rank parallel layouts that fit"),
        # Law and Export are in the palette and help, and the curves pane shows its own l / v: the
        # footer keeps 80 columns for the keys named nowhere else on screen.
        Binding("f6", "next_law", "Law", show=False, id="app.next_law", tooltip="Next scaling law"),
        Binding("f7", "next_view", "View", show=False, id="app.next_view"),
        Binding(
            "f9", "export", "Export", show=False, id="app.export", tooltip="Markdown and JSON report"
        ),
        Binding("ctrl+r", "revert", "Revert", show=False, id="app.revert"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    def __init__(
        self,
        scenario: Scenario | None = None,
        preset: Preset | None = None,
        extra_preset_dirs: Sequence[Path] = (),
        *,
        detect_box: bool | None = None,
    ) -> None:
        super().__init__()
        self._panes: _Panes | None = None
        self.extra_preset_dirs = list(extra_preset_dirs)
        catalog_load = user_catalog()  # the same catalog as the command line's
        self.catalog: Catalog = catalog_load.catalog
        self._startup_notes: list[str] = list(catalog_load.problems)
        self.preset = preset
        # This app's session file, locked while it runs (a second app gets a file of its own).
        self.session: Session = claim_session()
        self._startup_notes.extend(self.session.notes)
        self._session_timer: Timer | None = None
        # A builder tab asked for by [ or ] and not yet focused: when to stop trying.
        self._builder_focus_until: float | None = None
        self._builder_focus_timer: Timer | None = None
        self._session_save_failed = False
        self._signals_caught = False
        self._exit_watchdog: threading.Timer | None = None
        restored = self.session.restored
        # Started on a preset while the last session holds unsaved edits: those are offered at
        # start (dropped only when the user says so), and nothing is saved until the answer.
        self._session_offer: tuple[Scenario, str | None] | None = None
        if preset is not None or scenario is not None:
            if restored is not None and self._has_unsaved_edits(*restored):
                self._session_offer = restored
            restored = None
        if preset is not None:
            scenario = preset.scenario
        self.scenario: Scenario = scenario or Scenario()
        self.saved_scenario: Scenario = self.scenario
        self.preset_name: str | None = preset.name if preset is not None else None
        if restored is not None:
            self._take_session(*restored)
        self.readout: Readout = self._evaluate_start(from_session=restored is not None)
        self.pinned: tuple[Scenario, Readout] | None = None
        self.view = "builder"
        self.layout_mode = "narrow"
        self.local_box = None
        self._detect_box = (
            os.environ.get("LLMSCOPE_DETECT", "1") != "0" if detect_box is None else detect_box
        )
        themes, theme_problems = load_themes_with_problems()
        for theme in themes:
            self.register_theme(theme)
        self._startup_notes.extend(theme_problems)
        wanted = saved_theme_name() or default_theme_name(self.no_color)
        self.theme = wanted if wanted in self.available_themes else default_theme_name(self.no_color)
        self._match_no_color_filter()

    def _find_preset(self, name: str | None) -> Preset | None:
        if not name:
            return None
        try:
            return find_preset(name, self.extra_preset_dirs)
        except (PresetError, OSError):
            return None

    def _has_unsaved_edits(self, scenario: Scenario, preset_name: str | None) -> bool:
        """Whether a saved session differs from the preset it came from (or the defaults)."""
        preset = self._find_preset(preset_name)
        return scenario != (preset.scenario if preset is not None else Scenario())

    def _take_session(self, scenario: Scenario, preset_name: str | None) -> None:
        self.scenario = scenario
        self.preset_name = preset_name
        self.preset = self._find_preset(preset_name)
        # Unsaved is measured against the preset the session came from, when it still exists.
        self.saved_scenario = self.preset.scenario if self.preset else Scenario()

    def _evaluate_start(self, from_session: bool) -> Readout:
        """The readout of the scenario the app starts on, and one coherent note about it.

        A scenario naming an accelerator that is no longer in the catalog (removed from the
        user's accelerators file) keeps everything else and runs on the default accelerator; one
        that still cannot be evaluated gives way to the default scenario, and a session file
        holding it is set aside rather than overwritten."""
        restored = "Restored your last session" + (
            f" ({self.preset_name})" if self.preset_name else ""
        )
        try:
            readout = evaluate(self.scenario, self.catalog)
        except EngineInputError as exc:
            problem = str(exc)
        else:
            if from_session:
                self._startup_notes.append(f"{restored}: Ctrl+O opens a preset instead.")
            return readout
        accelerator = self.scenario.cluster.accelerator
        fallback = Scenario().cluster.accelerator
        if self.catalog.resolve(accelerator) is None:
            try:
                candidate = self.scenario.with_value("cluster.accelerator", fallback)
                readout = evaluate(candidate, self.catalog)
            except EngineInputError:
                pass
            else:
                self.scenario = candidate
                lead = restored if from_session else "This scenario"
                self._startup_notes.append(
                    f"{lead} names the accelerator {accelerator!r}, which is not in the catalog; "
                    f"it runs on {fallback} instead (the Hardware tab offers the others)"
                )
                return readout
        if from_session:
            self._startup_notes.append(
                self.session.set_aside(f"Your last session could not be used ({problem})")
                + "; started from the default scenario"
            )
        else:
            self._startup_notes.append(f"{problem}; using the default scenario")
        self.scenario = self.saved_scenario = Scenario()
        self.preset = None
        self.preset_name = None
        return evaluate(self.scenario, self.catalog)

    # --- layout ---------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(THEME_VARIABLE_DEFAULTS)

    def compose(self) -> ComposeResult:
        # Straight on the screen, in no container of their own: every container level renders
        # each of its lines on a full frame, covered by its children or not.
        yield Header()
        yield Tabs(
            Tab("Build F2", id="tab-builder"),
            Tab("Readouts F3", id="tab-readouts"),
            Tab("Curves F4", id="tab-curves"),
            id="view-tabs",
        )
        yield from self._compose_main()
        yield SummaryLine(id="summary")
        yield Footer(compact=True)

    def _compose_main(self) -> ComposeResult:
        with Horizontal(id="main"):
            with TabbedContent(id="builder", initial="tab-model"):
                model_groups = tuple(g for g in GROUPS if g[1][0].startswith("model."))
                run_groups = tuple(g for g in GROUPS if not g[1][0].startswith("model."))
                with TabPane("Model", id="tab-model"):
                    yield FieldEditor(model_groups, self.scenario, id="model-editor")
                # The tabs not shown at start are mounted just after the first frame: they
                # hold half of the app's widgets, and start-up time grows with their number.
                self._hardware_picker = HardwarePicker(self.catalog, self.scenario, id="hardware")
                with TabPane("Hardware", id="tab-hardware"):
                    yield Lazy(self._hardware_picker)
                with TabPane("Train & serve", id="tab-run"):
                    yield Lazy(FieldEditor(run_groups, self.scenario, id="run-editor"))
            yield ReadoutsPane(id="readouts")
            yield CurvesPane(id="curves")

    def on_mount(self) -> None:
        if not gc.isenabled():  # the console script keeps it off until the first frame
            self.call_after_refresh(gc.enable)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self._layout_for(self.size.width)
        self._show_all()
        for note in self._startup_notes:
            self.notify(display_safe(note), severity="warning", timeout=8)
        self._catch_exit_signals()
        if self._session_offer is not None:
            self._offer_last_session(*self._session_offer)
        if self._detect_box:
            self._detect_local_box()

    def on_resize(self, event: events.Resize) -> None:
        self._layout_for(event.size.width)

    def _layout_for(self, width: int) -> None:
        """Three panes side by side when wide; builder beside one pane when medium; one pane at a
        time (chosen with the tabs or F2-F4) when narrow, as at 80x24."""
        self.layout_mode = (
            "wide" if width >= WIDE_COLUMNS else "medium" if width >= MEDIUM_COLUMNS else "narrow"
        )
        self._show_view(self.view)

    def _show_view(self, view: str) -> None:
        # Display and width are set inline on the three panes rather than through a class on a
        # common ancestor: a class change restyles every widget below it (hundreds of fields),
        # which made each resize and view switch take a visible moment.
        self.view = view
        mode = self.layout_mode
        shown = {
            "wide": {"builder", "readouts", "curves"},
            "medium": {"builder", "curves" if view == "curves" else "readouts"},
            "narrow": {view},
        }[mode]
        for name in VIEWS:
            pane = self.query_one(f"#{name}")
            pane.display = name in shown
        builder = self.query_one("#builder")
        builder.styles.width = "1fr" if mode == "narrow" else BUILDER_COLUMNS
        self.query_one("#view-tabs").display = mode != "wide"
        tabs = self.query_one("#view-tabs", Tabs)
        if tabs.active != f"tab-{view}":
            with tabs.prevent(Tabs.TabActivated):
                tabs.active = f"tab-{view}"

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tabs.id == "view-tabs" and event.tab.id:
            self._show_view(event.tab.id.removeprefix("tab-"))

    def action_view(self, view: str) -> None:
        self._builder_focus_until = None  # a tab asked for by [ or ] before this no longer is
        self._show_view(view)
        # F2/F3/F4 go to the pane, not only show it: at 80x24 the readouts and curves are taller
        # than the screen, and the keys that scroll them act on the focused widget.
        pane = self.query_one(f"#{view}")
        if self.focused is None or pane not in self.focused.ancestors_with_self:
            inside = [w for w in self.screen.focus_chain if pane in w.ancestors_with_self]
            # The builder's own tabs come first in it; its fields are where the work is.
            fields = [w for w in inside if not isinstance(w, Tabs)]
            if fields or inside:
                (fields or inside)[0].focus()

    def action_builder_tab(self, step: int) -> None:
        """The builder's next or previous tab, shown (on a narrow terminal the builder comes to
        the front) and focused, so the keys that follow act in it."""
        builder = self.query_one("#builder", TabbedContent)
        index = BUILDER_TABS.index(builder.active) if builder.active in BUILDER_TABS else 0
        builder.active = BUILDER_TABS[(index + step) % len(BUILDER_TABS)]
        self._show_view("builder")
        self._builder_focus_until = time.monotonic() + BUILDER_FOCUS_WAIT_S
        # Not at once: focus landing in a pane makes the TabbedContent activate that pane when it
        # handles the focus event, later; a second ] already queued would be undone by it.
        self.call_after_refresh(self._focus_builder_tab)

    def _focus_builder_tab(self) -> None:
        """Focus the first field of the builder's active tab. A tab whose fields are still being
        mounted (tabs mount lazily after the first frame, later on a busy machine) refuses the
        focus: look again on a short timer, and when its editor arrives, until
        BUILDER_FOCUS_WAIT_S has passed, rather than leave the keys that follow acting elsewhere."""
        if self._builder_focus_until is None:
            return
        if self._builder_focus_timer is not None:
            self._builder_focus_timer.stop()
            self._builder_focus_timer = None
        builder = self.query_one("#builder", TabbedContent)
        pane = builder.get_pane(builder.active)
        if self.focused is None or pane not in self.focused.ancestors_with_self:
            inside = [
                w
                for w in self.screen.focus_chain
                if pane in w.ancestors_with_self and not isinstance(w, Tabs)
            ]
            if inside:
                self.screen.set_focus(inside[0])  # at once: Widget.focus() waits for a later turn
        if self.focused is not None and pane in self.focused.ancestors_with_self:
            self._builder_focus_until = None
        elif time.monotonic() < self._builder_focus_until:
            self._builder_focus_timer = self.set_timer(BUILDER_FOCUS_RETRY_S, self._focus_builder_tab)
        else:
            self._builder_focus_until = None

    # --- the one way state changes ---------------------------------------------------------------

    def apply_scenario(self, candidate: Scenario, typing_key: str | None = None) -> str | None:
        """Evaluate `candidate` and make it the scenario; returns None, or why it was refused
        (the scenario then stays as it was)."""
        try:
            readout = evaluate(candidate, self.catalog)
        except (EngineInputError, ValueError, ArithmeticError) as exc:
            return str(exc)
        self.scenario = candidate
        self.readout = readout
        self._show_all(typing_key)
        self._session_changed()
        return None

    def _show_all(self, typing_key: str | None = None) -> None:
        panes = self._found_panes()
        problems = self._field_problems()
        stand_ins = self._stand_in_texts()
        for editor in panes.editors:
            editor.show_scenario(
                self.scenario, keep_text_of=typing_key, problems=problems, stand_ins=stand_ins
            )
        panes.hardware.show_accelerator(self.readout.accelerator)
        panes.readouts.show(self.scenario, self.readout, self.pinned)
        panes.curves.show(self.scenario, self.readout, self.pinned)
        panes.summary.show(self.readout, modified=self.unsaved)
        self._update_title()

    def _found_panes(self) -> _Panes:
        """The panes, found once (searching ~290 widgets on every key press cost ~9 ms) and
        again after an editor in a lazily mounted tab arrives."""
        if self._panes is None:
            self._panes = _Panes(
                editors=tuple(self.query(FieldEditor)),
                hardware=self._hardware_picker,
                readouts=self.query_one(ReadoutsPane),
                curves=self.query_one(CurvesPane),
                summary=self.query_one(SummaryLine),
            )
        return self._panes

    def _update_title(self) -> None:
        name = self.preset_name or self.scenario.model.name
        pinned = "  [compare: A pinned]" if self.pinned else ""
        # "modified" is on the summary line: a change of the title repaints the whole screen
        # (App.sub_title), which made the first edit after a save take twice as long.
        self.sub_title = f"{name}{pinned}"

    @property
    def unsaved(self) -> bool:
        return self.scenario != self.saved_scenario

    def set_setting(self, key: str, value: Any) -> str | None:
        """Set one dotted key; returns None, or the reason it was refused (also notified)."""
        return self.apply_updates({key: value})

    def apply_updates(self, updates: dict[str, Any]) -> str | None:
        """Set several dotted keys at once (a plan, this box); a refusal is notified."""
        try:
            problem = self.apply_scenario(self.scenario.with_values(updates))
        except EngineInputError as exc:
            problem = str(exc)
        if problem is not None:
            self.notify(display_safe(problem), severity="error")
        return problem

    def _field_problems(self) -> dict[str, str]:
        """An accepted layout that breaks a rule (engine.layout): the reason, by field."""
        return {p.field: f"invalid layout: {p.reason}" for p in self.readout.layout_problems}

    def on_field_editor_ready(self, message: FieldEditor.Ready) -> None:
        self._panes = None  # found again at the next edit, with the new editor
        message.editor.show_scenario(
            self.scenario, problems=self._field_problems(), stand_ins=self._stand_in_texts()
        )
        self.call_after_refresh(self._focus_builder_tab)  # a tab asked for by [ or ] arrived

    def editor_of(self, key: str) -> FieldEditor | None:
        """The mounted editor that holds the field `key`, or None (a tab not yet opened)."""
        for editor in self._found_panes().editors:
            if editor.has_field(key):
                return editor
        return None

    def on_field_edited(self, message: FieldEdited) -> None:
        """The whole text is applied when it is a valid value; otherwise the field's value from
        before the edit is the one in use, never a prefix that was valid a key ago (builder.py)."""
        key = message.key
        editor = self.editor_of(key)
        try:
            value = parse_setting(key, message.text)
            candidate = self.scenario.with_value(key, value)
        except (PresetError, EngineInputError) as exc:
            problem: str | None = str(exc)
        else:
            problem = self.apply_scenario(candidate, typing_key=key)
        if problem is None:
            return
        if self.scenario.value(key) != message.before:
            try:
                self.apply_scenario(self.scenario.with_value(key, message.before), typing_key=key)
            except EngineInputError:
                pass  # the value in use before the edit was valid with the same other fields
        if editor is not None:
            editor.show_error(key, problem)

    def on_field_restored(self, message: FieldRestored) -> None:
        if self.scenario.value(message.key) != message.value:
            self.set_setting(message.key, message.value)

    def on_field_stepped(self, message: FieldStepped) -> None:
        key = message.key
        kind, choices, nullable = setting_kind(key)
        current = self.scenario.value(key)
        if kind == "bool":
            value: Any = not current
        elif kind == "literal":
            options = ([None] if nullable else []) + list(choices)
            step = 1 if message.up else -1
            value = options[(options.index(current) + step) % len(options)]
        elif kind in ("int", "float"):
            if current is None:
                value = _UNSET_START.get(key, 1)
                value = self._derived_start(key, value)
            else:
                value = step_value(float(current), message.up, message.double, whole=kind == "int")
            value = int(value) if kind == "int" else value
        else:
            return
        editor = self.editor_of(key)
        try:
            candidate = self.scenario.with_value(key, value)
        except EngineInputError as exc:
            problem: str | None = str(exc)
        else:
            problem = self.apply_scenario(candidate)
        if editor is not None and problem is not None:
            editor.show_error(key, problem)

    def _derived_start(self, key: str, fallback: float) -> float:
        """The first value of an unset field stepped with + or -: what the readouts use in its
        place, so the step pins the figure shown rather than jumping to an arbitrary one."""
        stand_in = self._stand_ins().get(key)
        return fallback if stand_in is None else stand_in[0]

    def _stand_ins(self) -> dict[str, tuple[float, str]]:
        """What the readouts use in place of each unset field that has a stand-in: its value (as
        a first step sets it) and how the field shows it."""
        readout, model = self.readout, self.scenario.model
        serving = readout.serving

        def fraction(x: float) -> float:  # two digits, within the fields' (0, 1]
            return min(max(round(x, 2), 0.01), 1.0)

        found: dict[str, tuple[float, str]] = {}
        if readout.training is not None and readout.mfu_source == "predicted":
            mfu = readout.training.mfu
            found["cluster.mfu"] = (fraction(mfu), f"predicted {mfu:.1%}")
        bandwidth = serving.bandwidth_bytes_per_s / (readout.accelerator.memory_bandwidth_gbs * 1e9)
        found["serving.bandwidth_efficiency"] = (fraction(bandwidth), f"measured {bandwidth:.2f}")
        compute = serving.matmul_flops_per_s / serving.peak_flops_per_accelerator
        found["serving.compute_efficiency"] = (fraction(compute), f"measured {compute:.2f}")
        head_dim = model.hidden_size // model.num_attention_heads
        found["model.head_dim"] = (head_dim, f"{head_dim} = hidden size / heads")
        price = readout.accelerator.price_usd_per_hour
        if price:
            found["cluster.price_usd_per_hour"] = (price, f"catalog {format_usd(price)}/h")
        return found

    def _stand_in_texts(self) -> dict[str, str]:
        texts = {key: text for key, (_, text) in self._stand_ins().items()}
        weight_dtype = self.scenario.serving.weight_dtype  # engine.memory.weight_bytes
        for key in ("serving.embedding_dtype", "serving.head_dtype"):
            texts[key] = f"as weight dtype ({weight_dtype})"
        return texts

    def on_accelerator_chosen(self, message: AcceleratorChosen) -> None:
        self.set_setting("cluster.accelerator", message.accelerator_id)

    def on_curves_pane_scaling_choice(self, message: CurvesPane.ScalingChoice) -> None:
        self.set_setting(message.key, message.value)

    # --- actions ---------------------------------------------------------------------------------

    def action_help(self) -> None:
        # Imported here: its Markdown renderer is about a tenth of the app's imports, for a screen
        # that opens on F1 only (measured with python -X importtime).
        from llmscope.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_pin(self) -> None:
        self.pinned = None if self.pinned else (self.scenario, self.readout)
        self.notify("Pinned as A: edits now show as B against it" if self.pinned else "Unpinned")
        self._show_all()

    def action_next_law(self) -> None:
        self.query_one(CurvesPane).action_next_law()

    def action_next_view(self) -> None:
        self.query_one(CurvesPane).action_next_view()

    def action_plan(self) -> None:
        # The layout settings edited since the preset was loaded or saved are pinned.
        pinned = [
            key for key in self.scenario.differing_keys(self.saved_scenario) if key in PINNABLE
        ]
        search = search_plans(self.scenario, self.readout.accelerator, pinned=pinned)

        def applied(updates: dict[str, Any] | None) -> None:
            if updates and self.apply_updates(updates) is None:
                self.notify("Applied the plan to the training setup")

        self.push_screen(PlannerScreen(self.scenario, search), applied)

    def action_export(self) -> None:
        name = self.preset_name or self.scenario.model.name
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path.cwd() / f"llmscope-{slugify(name)}-{stamp}"
        meta = {"name": name}
        try:
            write_atomic(
                base.with_suffix(".md"),
                render_markdown(self.scenario, self.readout, name),
                overwrite=False,
            )
            write_atomic(
                base.with_suffix(".json"),
                render_json(self.scenario, self.readout, meta),
                overwrite=False,
            )
        except (OSError, PresetError) as exc:
            self.notify(display_safe(f"Export failed: {exc}"), severity="error")
            return
        self.notify(display_safe(f"Exported {base.name}.md and .json to {base.parent}"))

    def action_open_preset(self) -> None:
        entries = list_presets(self.extra_preset_dirs) + _cached_model_entries()

        def opened(entry: Any) -> None:
            if entry is not None:
                self._unless_declined(
                    f"Open {entry.name} and drop {self._what_is_dropped(pin=True)}?",
                    lambda: self._open_entry(entry),
                    asks=bool(self.unsaved or self.pinned),
                )

        self.push_screen(OpenPresetScreen(entries), opened)

    def _open_entry(self, entry: Any) -> None:
        try:
            scenario, preset, name = load_source(str(entry.path), self.extra_preset_dirs)
        except (PresetError, EngineInputError, OSError, ValueError) as exc:
            self.notify(display_safe(str(exc)), severity="error")
            return
        self._open_scenario(scenario, preset, name)

    def _open_scenario(self, scenario: Scenario, preset: Preset | None, name: str) -> None:
        """Make a loaded preset the scenario and its saved state, unpinned."""
        problem = self.apply_scenario(scenario)
        if problem is not None:
            self.notify(display_safe(problem), severity="error")
            return
        self.preset = preset
        self.preset_name = name
        self.saved_scenario = scenario
        self.pinned = None
        self._show_all()
        self._session_changed()
        self.notify(display_safe(f"Opened {name}"))

    def _what_is_dropped(self, pin: bool) -> str:
        """'your unsaved edits', 'the pinned A' or both, for a question before dropping them."""
        lost = (["your unsaved edits"] if self.unsaved else []) + (
            ["the pinned A"] if pin and self.pinned else []
        )
        return " and ".join(lost) or "nothing"

    def _unless_declined(self, question: str, proceed: Any, *, asks: bool) -> None:
        """Run `proceed` at once when nothing would be lost (`asks` false), else after a yes."""
        if not asks:
            proceed()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                proceed()

        self.push_screen(ConfirmScreen(question), answered)

    def action_save_preset(self) -> None:
        preset = self.preset
        if preset is not None and preset.origin == ORIGIN_USER and preset.path is not None:
            self._save(preset.path.parent, preset.name, overwrite=True)
        else:
            self.action_save_preset_as()

    def action_save_preset_as(self) -> None:
        default = self.preset_name or self.scenario.model.name

        def named(name: str | None) -> None:
            if name:
                self._save(paths.user_preset_dir(), name, overwrite=False)

        self.push_screen(SavePresetScreen(default), named)

    def _save(self, directory: Path, name: str, overwrite: bool) -> None:
        meta = dict(self.preset.meta()) if self.preset is not None else {}
        meta.update(name=name, created=meta.get("created") or _dt.date.today().isoformat())
        published = self.preset.published if self.preset is not None else None
        try:
            path = save_preset(
                self.scenario,
                directory,
                name,
                meta=meta,
                published=published,
                overwrite=overwrite,
            )
        except PresetExistsError:

            def confirmed(replace: bool | None) -> None:
                if replace:
                    self._save(directory, name, overwrite=True)

            self.push_screen(ConfirmScreen(f"A preset named {name!r} exists. Replace it?"), confirmed)
            return
        except (PresetError, OSError) as exc:
            self.notify(display_safe(f"Not saved: {exc}"), severity="error")
            return
        from llmscope.presets.files import load_preset

        self.preset = load_preset(path, ORIGIN_USER)
        self.preset_name = name
        self.saved_scenario = self.scenario
        self._show_all()
        self._session_changed()
        self.notify(display_safe(f"Saved {path}"))

    def action_revert(self) -> None:
        if not self.unsaved:
            self.notify("No unsaved edits to revert")
            return

        def revert() -> None:
            if self.apply_scenario(self.saved_scenario) is None:
                self.notify("Reverted to the saved preset")

        self._unless_declined(
            "Revert to the saved preset and drop your unsaved edits?", revert, asks=True
        )

    def choose_theme(self, name: str) -> None:
        self.theme = name  # the theme_changed_signal saves it

    def _match_no_color_filter(self) -> None:
        """Under NO_COLOR, the filter that fits the current theme.

        Textual picks its NO_COLOR filter once, in App.__init__, from the theme current then
        (its own textual-dark): Monochrome, which turns every colour into a grey. The ANSI theme
        the app then switches to paints with the terminal's default colours ("ansi_default"),
        which Monochrome turns into black text on a black background. Textual's NoColor filter
        (the one it picks for an ANSI theme) leaves the terminal's own colours instead. This
        swaps one for the other in the app's private `_filters` list, guarded: should Textual
        rename them, nothing is swapped and the snapshot test under NO_COLOR fails."""
        if not self.no_color:
            return
        try:
            from textual.filter import Monochrome, NoColor
        except ImportError:  # pragma: no cover - a Textual without these filters
            return

        wanted = NoColor if self.native_ansi_color else Monochrome
        filters = getattr(self, "_filters", None)
        if not isinstance(filters, list):
            return
        changed = False
        for index, line_filter in enumerate(filters):
            if isinstance(line_filter, (Monochrome, NoColor)) and type(line_filter) is not wanted:
                filters[index] = wanted()
                changed = True
        if changed and self.is_running:
            self.refresh_css(animate=False)  # every widget draws again, through the new filter

    def _remember_theme(self, theme: Any) -> None:
        self._match_no_color_filter()
        problem = save_theme_name(theme.name)
        if problem:
            self.notify(display_safe(problem), severity="warning")

    async def action_quit(self) -> None:
        if not self.unsaved:
            self._quit_now()
            return

        def answered(leave: bool | None) -> None:
            if leave:
                self._quit_now()

        self.push_screen(ConfirmScreen("Quit with unsaved edits? (the session is kept)"), answered)

    def _quit_now(self) -> None:
        self.save_session_now()  # never keeps anyone from quitting: a failure is only noted
        self.exit(0)

    # --- the session ----------------------------------------------------------------------------

    def _session_changed(self) -> None:
        """Write the session SESSION_SAVE_DELAY_S after the last of a burst of edits (a one-shot
        timer, restarted by each edit; nothing runs while the user is idle)."""
        if self._session_timer is not None:
            self._session_timer.reset()
        else:
            self._session_timer = self.set_timer(SESSION_SAVE_DELAY_S, self._session_timer_fired)

    def _session_timer_fired(self) -> None:
        self._session_timer = None
        self.save_session_now()

    @property
    def session_save_pending(self) -> bool:
        """Whether an edit is waiting for its debounced write to the session."""
        return self._session_timer is not None

    def save_session_now(self) -> bool:
        """Write the session at once (synchronous: a signal handler relies on it); False when
        it was not written. A failed write is reported once, not on every key."""
        if self._session_timer is not None:
            self._session_timer.stop()
            self._session_timer = None
        if self._session_offer is not None:  # still asking whether that session may be dropped
            return False
        try:
            self.session.save(self.scenario, self.preset_name)
        except (OSError, PresetError) as exc:
            if not self._session_save_failed:
                self.notify(display_safe(f"Session not saved: {exc}"), severity="warning")
            self._session_save_failed = True
            return False
        self._session_save_failed = False
        return True

    def _offer_last_session(self, scenario: Scenario, preset_name: str | None) -> None:
        """Started on a preset while the last session holds unsaved edits: ask before dropping
        them; no brings the session back instead."""
        opened = self.preset_name or self.scenario.model.name
        last = preset_name or scenario.model.name

        def answered(drop: bool | None) -> None:
            self._session_offer = None
            if drop:
                self._session_changed()
                return
            problem = self.apply_scenario(scenario)
            if problem is not None:
                self.notify(display_safe(f"Your last session cannot be used: {problem}"))
                return
            self._take_session(scenario, preset_name)
            self._show_all()
            self.notify("Restored your last session")

        self.push_screen(
            ConfirmScreen(
                f"Your last session ({last}) has unsaved edits. Open {opened} and drop them? "
                "(n: back to the session)"
            ),
            answered,
        )

    def _catch_exit_signals(self) -> None:
        """On SIGHUP and SIGTERM, save the session and leave through the normal exit, which
        restores the terminal (Textual's driver handles only SIGTSTP, SIGCONT and SIGWINCH)."""
        try:
            loop = asyncio.get_running_loop()
            for signum in EXIT_SIGNALS:
                loop.add_signal_handler(signum, self._exit_on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            return  # not the main thread, or no such signals here (Windows): the defaults stay
        self._signals_caught = True

    def _exit_on_signal(self, signum: int) -> None:
        self.save_session_now()
        return_code = 128 + signum  # the shell's convention for "ended by a signal"
        if not self.is_headless:
            if _terminal_gone():
                # Nothing to restore, and Textual's output thread would wait forever on writes
                # that fail: end here (the kernel drops the session lock with the process).
                os._exit(return_code)
            # The normal exit restores the terminal; should it stall, the process ends anyway.
            self._exit_watchdog = threading.Timer(EXIT_GRACE_S, os._exit, args=(return_code,))
            self._exit_watchdog.daemon = True
            self._exit_watchdog.start()
        self.exit(return_code=return_code)

    def on_unmount(self) -> None:
        if self._session_timer is not None:  # an edit not yet written (the app is ending)
            self.save_session_now()
        if self._signals_caught:
            loop = asyncio.get_running_loop()
            for signum in EXIT_SIGNALS:
                loop.remove_signal_handler(signum)
            self._signals_caught = False
        self.session.release()

    # --- this box ----------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="detect")
    def _detect_local_box(self) -> None:
        from llmscope.presets.detect import detect_local_accelerators

        box = detect_local_accelerators()
        if box is not None:
            self.call_from_thread(self._offer_local_box, box)

    def _offer_local_box(self, box: Any) -> None:
        self.local_box = box
        if box.accelerator_id is None:
            self.notify(display_safe(f"{box.label} (not in the catalog)"))
            return
        self.notify(display_safe(f"{box.label}: Ctrl+P → 'Use this box' to plan for it"))

    def use_local_box(self) -> None:
        from llmscope.presets.detect import cluster_updates

        if self.local_box is None:
            return
        updates = cluster_updates(self.local_box)
        if updates:
            self.apply_updates(updates)


def _terminal_gone() -> bool:
    """Whether the app's terminal has hung up (SSH drop, tmux kill-session). Textual draws on
    stderr; writing no bytes to a hung-up terminal fails with EIO, to a live one does nothing."""
    try:
        os.write(sys.__stderr__.fileno(), b"")
    except (OSError, AttributeError, ValueError):
        return True
    return False


def _cached_model_entries() -> list[Any]:
    """Models in the local Hugging Face cache, as entries of the preset picker."""
    from llmscope.presets.hf_cache import find_cached_models
    from llmscope.presets.library import PresetEntry

    return [
        PresetEntry(
            name=model.repo_id,
            path=model.config_path,
            origin="hf-cache",
            description=model.model_type or "",
            error=None if model.supported else (model.problem or "unsupported model type"),
        )
        for model in find_cached_models()
    ]


def freeze_imports() -> None:
    """What the imports made (modules, classes, Textual's and pydantic's tables) lives as long as
    the process, so the garbage collector need not walk it again on each full collection during
    start-up: ~40 ms, 6% of the command's wait for its first frame (benchmarks/bench_tui.py)."""
    gc.freeze()


def run_app(
    scenario: Scenario | None = None,
    preset: Preset | None = None,
    extra_preset_dirs: Sequence[Path] = (),
) -> int:
    """Run the app until the user quits; returns the exit status."""
    freeze_imports()
    app = LlmscopeApp(scenario=scenario, preset=preset, extra_preset_dirs=extra_preset_dirs)
    app.run()
    if app._exit_watchdog is not None:  # the exit after a signal finished in time
        app._exit_watchdog.cancel()
    return app.return_code or 0
