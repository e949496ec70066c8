"""The llmscope app: one immutable Scenario, evaluated by the engine, shown by every pane.

Data flows one way. A field posts an edit; `apply_scenario` validates it through the engine,
evaluates the new scenario and hands the Readout to every pane; a rejected edit is shown on its
field and changes nothing. Panes never compute. Nothing runs while the user is idle: no timers,
no animation; the one background task is the detection of this box's accelerators at start.
"""

from __future__ import annotations

import datetime as _dt
import gc
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.widgets import Footer, Header, Tab, TabbedContent, TabPane, Tabs

from llmscope.engine.errors import EngineInputError
from llmscope.engine.evaluate import Readout, evaluate
from llmscope.engine.hardware import Catalog, load_catalog
from llmscope.engine.planner import PINNABLE, search_plans
from llmscope.engine.scenario import Scenario
from llmscope.presets import paths
from llmscope.presets.errors import PresetError, PresetExistsError
from llmscope.presets.files import ORIGIN_USER, Preset, save_preset, slugify, write_atomic
from llmscope.presets.library import find_preset, list_presets
from llmscope.presets.numbers import step_value
from llmscope.presets.report import render_json, render_markdown
from llmscope.presets.safe_text import display_safe
from llmscope.presets.session import load_session, save_session
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
from llmscope.tui.widgets.builder import GROUPS, FieldEdited, FieldEditor, FieldStepped
from llmscope.tui.widgets.curves import CurvesPane
from llmscope.tui.widgets.hardware import AcceleratorChosen, HardwarePicker
from llmscope.tui.widgets.readouts import ReadoutsPane
from llmscope.tui.widgets.summary import SummaryLine

# Terminal widths at which the panes sit side by side (see on_resize).
WIDE_COLUMNS = 190
MEDIUM_COLUMNS = 110
BUILDER_COLUMNS = 72  # the builder's width beside other panes: label column + a number

VIEWS = ("builder", "readouts", "curves")

# Where stepping starts for an optional number that is unset (None means "derived" or "off").
_UNSET_START: dict[str, float] = {
    "model.sliding_window": 4096,
    "model.q_lora_rank": 1536,
    "cluster.price_usd_per_hour": 2.0,
    "training.deadline_days": 90,  # a quarter, as runs are planned
    "training.budget_usd": 1e6,
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
        Binding("f6", "next_law", "Law", id="app.next_law", tooltip="Next scaling law"),
        Binding("f7", "next_view", "View", show=False, id="app.next_view"),
        Binding("f9", "export", "Export", id="app.export", tooltip="Markdown and JSON report"),
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
        catalog_load = load_catalog(paths.user_accelerators_file())
        self.catalog: Catalog = catalog_load.catalog
        self._startup_notes: list[str] = list(catalog_load.problems)
        self.preset = preset
        restored = None
        if preset is not None:
            scenario = preset.scenario
        elif scenario is None:
            restored = load_session()
            if restored is not None:
                scenario = restored[0]
                self._startup_notes.append(
                    "Restored your last session"
                    + (f" ({restored[1]})" if restored[1] else "")
                    + ": Ctrl+O opens a preset instead."
                )
        self.scenario: Scenario = scenario or Scenario()
        self.saved_scenario: Scenario = self.scenario
        self.preset_name: str | None = preset.name if preset is not None else None
        if restored is not None:
            self.preset_name = restored[1]
            self.preset = self._find_preset(restored[1])
            # Unsaved is measured against the preset the session came from, when it still exists.
            self.saved_scenario = self.preset.scenario if self.preset else Scenario()
        self.readout: Readout = self._evaluate_or_default()
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

    def _find_preset(self, name: str | None) -> Preset | None:
        if not name:
            return None
        try:
            return find_preset(name, self.extra_preset_dirs)
        except (PresetError, OSError):
            return None

    def _evaluate_or_default(self) -> Readout:
        try:
            return evaluate(self.scenario, self.catalog)
        except EngineInputError as exc:  # e.g. a session naming an accelerator since removed
            self._startup_notes.append(f"{exc}; using the default scenario")
            self.scenario = self.saved_scenario = Scenario()
            return evaluate(self.scenario, self.catalog)

    # --- layout ---------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(THEME_VARIABLE_DEFAULTS)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="body"):
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
        return None

    def _show_all(self, typing_key: str | None = None) -> None:
        panes = self._found_panes()
        # an accepted layout that breaks a rule (engine.layout) shows the reason on its field
        problems = {p.field: f"invalid layout: {p.reason}" for p in self.readout.layout_problems}
        for editor in panes.editors:
            editor.show_scenario(self.scenario, keep_text_of=typing_key, problems=problems)
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

    def on_field_editor_ready(self, message: FieldEditor.Ready) -> None:
        self._panes = None  # found again at the next edit, with the new editor
        problems = {p.field: f"invalid layout: {p.reason}" for p in self.readout.layout_problems}
        message.editor.show_scenario(self.scenario, problems=problems)

    def editor_of(self, key: str) -> FieldEditor | None:
        """The mounted editor that holds the field `key`, or None (a tab not yet opened)."""
        for editor in self._found_panes().editors:
            if editor.has_field(key):
                return editor
        return None

    def on_field_edited(self, message: FieldEdited) -> None:
        editor = self.editor_of(message.key)
        try:
            value = parse_setting(message.key, message.text)
            candidate = self.scenario.with_value(message.key, value)
        except (PresetError, EngineInputError) as exc:
            problem: str | None = str(exc)
        else:
            problem = self.apply_scenario(candidate, typing_key=message.key)
        if editor is not None and problem is not None:
            editor.show_error(message.key, problem)

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
        if key == "model.head_dim":
            model = self.scenario.model
            return model.hidden_size // model.num_attention_heads
        if key == "cluster.price_usd_per_hour" and self.readout.accelerator.price_usd_per_hour:
            return self.readout.accelerator.price_usd_per_hour
        return fallback

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
            if entry is None:
                return

            try:
                scenario, preset, name = load_source(str(entry.path), self.extra_preset_dirs)
            except (PresetError, EngineInputError, OSError, ValueError) as exc:
                self.notify(display_safe(str(exc)), severity="error")
                return
            problem = self.apply_scenario(scenario)
            if problem is not None:
                self.notify(display_safe(problem), severity="error")
                return
            self.preset = preset
            self.preset_name = name
            self.saved_scenario = scenario
            self.pinned = None
            self._show_all()
            self.notify(display_safe(f"Opened {name}"))

        self.push_screen(OpenPresetScreen(entries), opened)

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
        self.notify(display_safe(f"Saved {path}"))

    def action_revert(self) -> None:
        if self.apply_scenario(self.saved_scenario) is None:
            self.notify("Reverted to the saved preset")

    def choose_theme(self, name: str) -> None:
        self.theme = name  # the theme_changed_signal saves it

    def _remember_theme(self, theme: Any) -> None:
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
        try:
            save_session(self.scenario, self.preset_name)
        except (OSError, PresetError):
            pass  # the session is a convenience: never keep someone from quitting over it
        self.exit(0)

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
    return app.return_code or 0
