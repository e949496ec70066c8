"""Dialogs for presets: open one (fuzzy filter), name one to save, confirm a question.

Each is a ModalScreen the app pushes with a callback (or `push_screen_wait`):

    OpenPresetScreen(entries)       -> PresetEntry | None
    SavePresetScreen(default_name)  -> str | None
    ConfirmScreen(question)         -> bool

Every text that comes from a preset file (name, author, tags, description, error) is shown
through `display_safe`, so markup and terminal escapes in it appear literally.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from llmscope.presets.errors import PresetError
from llmscope.presets.files import slugify
from llmscope.presets.library import PresetEntry
from llmscope.presets.safe_text import display_safe, plain_safe
from llmscope.tui.widgets.keys import OrderedInput

_DIALOG_CSS = """
{name} {{
    align: center middle;
}}
{name} > Vertical {{
    width: 90%;
    max-width: 120;
    height: auto;
    max-height: 90%;
    padding: 1 2;
    border: thick $accent;
    background: $surface;
}}
{name} Label.title {{
    text-style: bold;
    margin-bottom: 1;
}}
{name} .message {{
    color: $error;
    height: auto;
}}
{name} .hint {{
    color: $text-muted;
    height: auto;
}}
"""


def _subsequence_gaps(needle: str, haystack: str) -> int | None:
    """Letters skipped to find `needle` in order inside `haystack`, or None if it is not there."""
    position, gaps = 0, 0
    for char in needle:
        found = haystack.find(char, position)
        if found < 0:
            return None
        gaps += found - position
        position = found + 1
    return gaps


def fuzzy_filter(entries: Sequence[PresetEntry], query: str) -> list[PresetEntry]:
    """Entries whose name, tags, author or origin match every word of `query`: as a substring
    first, then as letters in order (closest first). An empty query keeps the given order."""
    words = query.casefold().split()
    if not words:
        return list(entries)
    scored = []
    for index, entry in enumerate(entries):
        name = entry.name.casefold()
        haystack = " ".join([name, *entry.tags, entry.author, entry.origin]).casefold()
        total = 0
        for word in words:
            if word in name:
                score = 0
            elif word in haystack:
                score = 1
            else:
                gaps = _subsequence_gaps(word, haystack)
                if gaps is None:
                    break
                score = 2 + gaps
            total += score
        else:
            scored.append((total, index, entry))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [entry for _, _, entry in scored]


def _cell(text: str, width: int) -> str:
    """Plain text cut or padded to `width` columns, then made safe as markup."""
    plain = plain_safe(text)
    plain = plain if len(plain) <= width else plain[: max(0, width - 1)] + "…"
    return display_safe(plain.ljust(width))


def entry_prompt(entry: PresetEntry) -> str:
    """One line of the list: name, origin, author, tags; broken or shadowed entries say so."""
    name = _cell(entry.name, 28)
    origin = _cell(entry.origin, 22)
    if entry.error:
        return f"[b]{name}[/b] {origin} [red]broken[/red]"
    author = _cell(entry.author or "-", 16)
    tags = display_safe(", ".join(entry.tags))
    style = "dim" if entry.shadowed else "b"
    shadowed = " [dim](shadowed)[/dim]" if entry.shadowed else ""
    return f"[{style}]{name}[/{style}] {origin} {author} [dim]{tags}[/dim]{shadowed}"


class OpenPresetScreen(ModalScreen[PresetEntry | None]):
    """Pick a preset; type to filter. Enter opens the highlighted one, Escape cancels."""

    DEFAULT_CSS = (
        _DIALOG_CSS.format(name="OpenPresetScreen")
        + """
    OpenPresetScreen OptionList {
        height: auto;
        max-height: 20;
    }
    """
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "cursor(1)", "Next", show=False),
        Binding("up", "cursor(-1)", "Previous", show=False),
    ]

    def __init__(self, entries: Sequence[PresetEntry], title: str = "Open preset") -> None:
        super().__init__()
        self.entries = list(entries)
        self.title_text = title
        self.shown: list[PresetEntry] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(display_safe(self.title_text), classes="title")
            yield OrderedInput(placeholder="filter by name, tag or author", id="preset-filter")
            yield OptionList(id="preset-options")
            yield Static("", id="preset-detail", classes="hint")
            yield Static("", id="preset-message", classes="message")

    def on_mount(self) -> None:
        self.refill("")
        self.query_one("#preset-filter", Input).focus()

    def refill(self, query: str) -> None:
        options = self.query_one("#preset-options", OptionList)
        self.shown = fuzzy_filter(self.entries, query)
        options.clear_options()
        options.add_options([Option(entry_prompt(e), id=str(i)) for i, e in enumerate(self.shown)])
        if self.shown:
            options.highlighted = 0
        else:
            self.query_one("#preset-detail", Static).update("no preset matches")

    @on(Input.Changed, "#preset-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one("#preset-message", Static).update("")
        self.refill(event.value)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        entry = self.shown[event.option_index]
        if entry.error:
            detail = f"cannot open: {display_safe(entry.error)}"
        else:
            detail = display_safe(entry.description or str(entry.path))
        self.query_one("#preset-detail", Static).update(detail)

    def action_cursor(self, step: int) -> None:
        options = self.query_one("#preset-options", OptionList)
        if self.shown:
            current = options.highlighted if options.highlighted is not None else -step
            options.highlighted = max(0, min(len(self.shown) - 1, current + step))

    def choose(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.shown):
            return
        entry = self.shown[index]
        if entry.error:
            self.query_one("#preset-message", Static).update(
                f"{display_safe(entry.path.name)} is broken: {display_safe(entry.error)}"
            )
            self.app.bell()
            return
        self.dismiss(entry)

    @on(Input.Submitted, "#preset-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        self.choose(self.query_one("#preset-options", OptionList).highlighted)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.choose(event.option_index)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SavePresetScreen(ModalScreen[str | None]):
    """Ask for a preset name; Enter saves (when the name can be a file name), Escape cancels."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="SavePresetScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, default_name: str = "", title: str = "Save preset as") -> None:
        super().__init__()
        self.default_name = default_name
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(display_safe(self.title_text), classes="title")
            yield OrderedInput(value=self.default_name, placeholder="preset name", id="preset-name")
            yield Static("", id="save-file", classes="hint")
            yield Static("", id="save-message", classes="message")

    def on_mount(self) -> None:
        self.query_one("#preset-name", Input).focus()
        self._show_file(self.default_name)

    def _show_file(self, name: str) -> bool:
        try:
            slug = slugify(name)
        except PresetError as exc:
            self.query_one("#save-file", Static).update("")
            self.query_one("#save-message", Static).update(display_safe(exc))
            return False
        self.query_one("#save-file", Static).update(f"file: {display_safe(slug)}.toml")
        self.query_one("#save-message", Static).update("")
        return True

    @on(Input.Changed, "#preset-name")
    def _changed(self, event: Input.Changed) -> None:
        self._show_file(event.value)

    @on(Input.Submitted, "#preset-name")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._show_file(event.value):
            self.dismiss(event.value.strip())
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y or the Yes button -> True; n, Escape or No -> False."""

    DEFAULT_CSS = (
        _DIALOG_CSS.format(name="ConfirmScreen")
        + """
    ConfirmScreen .title {
        width: 100%;  /* a question longer than the dialog wraps instead of being cut */
    }
    ConfirmScreen Horizontal {
        height: auto;
        margin-top: 1;
    }
    ConfirmScreen Button {
        margin-right: 2;
    }
    """
    )
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
        Binding("left", "app.focus_previous", "Previous", show=False),
        Binding("right", "app.focus_next", "Next", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(display_safe(self.question), classes="title")
            with Horizontal():
                yield Button("Yes", id="confirm-yes", variant="primary")
                yield Button("No", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()  # the safe answer is the default

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
