"""Text that changes on every edit, drawn only when it changes.

Every key press re-shows every pane. A Static lays the whole screen out again on each update
(its height may have changed); here an unchanged text is not touched at all, and a changed one
asks for a layout only when its shape may differ: another number of lines, or a line too long
for the widget's width (it would wrap). That keeps a key press to one repaint of what changed.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.content import Content
from textual.visual import VisualType
from textual.widgets import Static


def _identity(content: VisualType) -> tuple[object, ...]:
    """What makes two texts look the same: Content compares equal on plain text alone, which
    would miss a change of colour (a fit turning into a misfit with the same width of text)."""
    if isinstance(content, Content):
        return (content.plain, tuple(content.spans))
    return (type(content), content if isinstance(content, str) else id(content))


def _lines(content: VisualType) -> list[str] | None:
    if isinstance(content, Content):
        return content.plain.split("\n")
    if isinstance(content, str):
        return content.split("\n")
    return None  # another renderable: its shape is unknown


class FigureText(Static):
    """A Static whose `update` skips unchanged text and layout that cannot change."""

    def __init__(self, content: VisualType = "", **kwargs) -> None:  # noqa: ANN003
        super().__init__(content, **kwargs)
        self._identity = _identity(content)
        self._lines = _lines(content)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        identity = _identity(content)
        if identity == self._identity:
            return
        lines = _lines(content)
        if layout and lines is not None and self._lines is not None:
            width = self.content_region.width
            layout = (
                width <= 0
                or len(lines) != len(self._lines)
                or any(cell_len(line) > width for line in (*lines, *self._lines))
            )
        self._identity, self._lines = identity, lines
        super().update(content, layout=layout)
