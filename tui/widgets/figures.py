"""Text that changes on every edit, drawn only when it changes.

Every key press re-shows every pane. A Static lays the whole screen out again on each update
(its height may have changed); here an unchanged text is not touched at all, and a changed one
asks for a layout only when, wrapped at the widget's width, it is taller or shorter than the
text shown. That keeps a key press to one repaint of what changed.
"""

from __future__ import annotations

from textual.content import Content
from textual.visual import VisualType, visualize
from textual.widgets import Static


def _identity(content: VisualType) -> tuple[object, ...]:
    """What makes two texts look the same: Content compares equal on plain text alone, which
    would miss a change of colour (a fit turning into a misfit with the same width of text)."""
    if isinstance(content, Content):
        return (content.plain, tuple(content.spans))
    return (type(content), content if isinstance(content, str) else id(content))


class FigureText(Static):
    """A Static whose `update` skips unchanged text and layout that cannot change."""

    def __init__(self, content: VisualType = "", **kwargs) -> None:  # noqa: ANN003
        super().__init__(content, **kwargs)
        self._identity = _identity(content)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        identity = _identity(content)
        if identity == self._identity:
            return
        self._identity = identity
        width, height = self.content_region.width, self.content_region.height
        if layout and width > 0:
            # Wrapped at the widget's width, is the new text as tall as what is shown? (The
            # visual is handed on, so the text is not prepared twice.)
            content = visualize(self, content, markup=self._render_markup)
            layout = content.get_height(self.styles, width) != height
        elif width == 0:
            layout = False  # not on screen (a hidden pane): showing it lays it out
        super().update(content, layout=layout)
