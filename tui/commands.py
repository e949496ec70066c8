"""Command palette (Ctrl+P): presets, accelerators, scaling laws, themes, export, quit.

Each command calls one of the app's actions, so the palette, the keys and the tests share one
path. Textual's own commands (keys, screenshot, ...) stay in the palette beside these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from llmscope.engine.scaling import LAWS

if TYPE_CHECKING:
    from llmscope.tui.app import LlmscopeApp


class LlmscopeCommands(Provider):
    """The app's commands, discoverable with an empty query and fuzzy-searchable."""

    def _commands(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app: LlmscopeApp = self.app  # type: ignore[assignment]
        yield "Open preset…", app.action_open_preset, "Load a bundled, team or own preset"
        yield "Save preset", app.action_save_preset, "Save the scenario under its preset name"
        yield "Save preset as…", app.action_save_preset_as, "Save the scenario under a new name"
        yield "Revert to saved preset", app.action_revert, "Drop the edits since the last load/save"
        yield "Export Markdown and JSON", app.action_export, "Write the readouts to files here"
        yield "Pin / unpin for compare", app.action_toggle_pin, "Compare edits against this scenario"
        yield "Plan parallel layout…", app.action_plan, "Rank TP x PP x DP x EP layouts that fit"
        box = app.local_box
        if box is not None and box.accelerator_id is not None:
            yield f"Use this box: {box.label}", app.use_local_box, "Detected on this machine"
        yield "Help", app.action_help, "Keys, readouts and their sources"
        yield "Quit", app.action_quit, "Quit llmscope"
        for accelerator in app.catalog:
            yield (
                f"Accelerator: {accelerator.name}",
                partial(app.set_setting, "cluster.accelerator", accelerator.id),
                f"{accelerator.memory_gb:g} GB, {accelerator.bf16_tflops:g} bf16 TFLOP/s",
            )
        for law in LAWS.values():
            yield (
                f"Scaling law: {law.title}",
                partial(app.set_setting, "scaling.law", law.id),
                law.citation,
            )
        for name in sorted(app.available_themes):
            yield f"Theme: {name}", partial(app.choose_theme, name), "Switch and remember the theme"

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
