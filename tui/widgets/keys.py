"""Keys that arrive together act in the order they were typed.

Textual hands a key to the focused widget, which handles a typed character at once; a key the
widget does not handle itself (Left, Backspace, Down, Enter, Tab...) goes on through the parents
to the app, which runs the binding it finds when it reaches that key in its own queue. Keys that
arrive in one read (typed quickly, pasted as keystrokes, or batched by SSH) were then reordered:
in Textual's Input, "mi35", Backspace, "00" gave "mi350" rather than "mi300"; in the builder,
Down Down "48" typed the "48" into the field the selection was leaving. Widgets that take text
look the bindings up on the spot instead, as the app would, and run them in order.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget
from textual.widgets import Input


# Characters that are keys rather than text wherever the user types: "[" and "]" switch the
# builder's tabs (no number, accelerator id or filter needs them; a name that does can be pasted).
KEY_CHARACTERS = frozenset("[]")


async def run_binding_now(widget: Widget, event: events.Key) -> bool:
    """Run the binding of a key that types nothing (or of a KEY_CHARACTERS character), as the
    app would once the key had bubbled up to it (the focused widget's bindings first, then its
    parents', then the app's); True when one ran. Other typed characters are left to the
    widget: "?" is text in a field, not help."""
    if event.is_printable and event.character not in KEY_CHARACTERS:
        return False
    # Textual's own lookup, private (Textual is pinned below 9; the burst pilot test in
    # tests/test_app.py fails if it changes under us).
    if await widget.app._check_bindings(event.key):
        event.stop()
        event.prevent_default()
        return True
    return False


class OrderedInput(Input):
    """Textual's Input, its keys acting in the order they came."""

    async def _on_key(self, event: events.Key) -> None:
        if not await run_binding_now(self, event):
            await super()._on_key(event)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # KEY_CHARACTERS are keys here too: their bindings stay active (and in the footer).
        return character not in KEY_CHARACTERS and super().check_consume_key(key, character)
