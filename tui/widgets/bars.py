"""A memory bar: what one accelerator holds, by component, against its capacity.

Components are told apart by glyph (not only by colour, so the bar reads under NO_COLOR and in
monochrome); the filled part takes the fit colour ($fit-ok / $fit-tight / $fit-over) and the widget
carries the class -fits / -tight / -over. The bar is drawn to the widget's width on each render.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

from llmscope.presets.numbers import format_bytes, percent_change

GLYPHS = ("█", "▓", "▒", "░", "▚", "▞")
FREE_GLYPH = "·"
CAPACITY_GLYPH = "│"
STATUS_WORDS = {"fits": "fits", "tight": "tight", "over": "does not fit"}
STATUS_VARIABLES = {"fits": "$fit-ok", "tight": "$fit-tight", "over": "$fit-over"}
STATUS_CLASSES = {"fits": "-fits", "tight": "-tight", "over": "-over"}
COMPONENT_NAMES = {
    "weights": "weights",
    "gradients": "gradients",
    "optimizer": "optimizer",
    "activations": "activations",
    "overhead": "overhead",
    "kv_cache": "KV cache",
}


@dataclass(frozen=True, slots=True)
class BarData:
    """What one bar shows (plain data so that the pane builds it without touching the widget)."""

    title: str
    components: tuple[tuple[str, float], ...]  # (name, bytes per accelerator)
    used_bytes: float
    capacity_bytes: float
    status: str  # "fits" | "tight" | "over"
    capacity_uncertain: bool
    smallest_fit: str  # e.g. "smallest cluster that fits: 16"
    pinned_used_bytes: float | None = None
    pinned_status: str | None = None


def bar_cells(
    components: tuple[tuple[str, float], ...], scale_bytes: float, width: int
) -> list[int]:
    """Cells per component for a bar `width` cells wide representing `scale_bytes`.

    Boundaries are rounded from cumulative sums so the parts add up to the rounded total (no drift
    of a cell per component)."""
    cells: list[int] = []
    cumulative = 0.0
    previous = 0
    for _, size in components:
        cumulative += max(size, 0.0)
        boundary = min(width, round(cumulative / scale_bytes * width)) if scale_bytes > 0 else 0
        cells.append(boundary - previous)
        previous = boundary
    return cells


class MemoryBar(Widget):
    """Per-accelerator memory, by component, against capacity; `show(BarData)` to update."""

    DEFAULT_CSS = """
    MemoryBar {
        height: auto;
        width: 1fr;
        padding: 0 1;
    }
    """

    LABEL_WIDTH = 9
    MIN_BAR_WIDTH = 10

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._data: BarData | None = None

    @property
    def data(self) -> BarData | None:
        return self._data

    def show(self, data: BarData) -> None:
        if data == self._data:
            return  # most edits leave a bar as it was: no repaint, no layout
        self._data = data
        for status, css_class in STATUS_CLASSES.items():
            self.set_class(data.status == status, css_class)
        # A layout of the whole screen only when the bar's lines, at its width, no longer match
        # the height it has on screen. A bar not on screen (a hidden pane: no width) is laid out
        # when it is shown.
        region = self.content_region
        self.refresh(layout=region.width > 0 and len(self._lines(region.width)) != region.height)

    def render(self) -> RenderResult:
        return Content("\n").join(self._lines(self.content_region.width))

    def _lines(self, width: int) -> list[Content]:
        data = self._data
        if data is None:
            return []
        width = width or 78
        colour = STATUS_VARIABLES[data.status]
        tilde = "~" if data.capacity_uncertain else ""
        figures = f" {format_bytes(data.used_bytes)} / {tilde}{format_bytes(data.capacity_bytes)} "
        status_word = STATUS_WORDS[data.status]
        bar_width = max(
            self.MIN_BAR_WIDTH, width - self.LABEL_WIDTH - len(figures) - len(status_word)
        )
        scale = max(data.used_bytes, data.capacity_bytes)
        cells = bar_cells(data.components, scale, bar_width)
        capacity_cell = round(data.capacity_bytes / scale * bar_width) if scale > 0 else bar_width
        parts: list[Content | str] = [
            Content(f"{data.title:<{self.LABEL_WIDTH}}"[: self.LABEL_WIDTH])
        ]
        filled = "".join(GLYPHS[i % len(GLYPHS)] * n for i, n in enumerate(cells))
        if data.used_bytes > data.capacity_bytes and 0 < capacity_cell < len(filled):
            # The capacity line inside an over-full bar: everything right of it does not fit.
            filled = filled[:capacity_cell] + CAPACITY_GLYPH + filled[capacity_cell + 1 :]
        parts.append(Content.styled(filled, colour))
        parts.append(Content.styled(FREE_GLYPH * (bar_width - len(filled)), "dim"))
        parts.append(Content(figures))
        parts.append(Content.styled(status_word, f"bold {colour}"))
        lines = [Content("").join(parts)]
        items = [
            f"{GLYPHS[i % len(GLYPHS)]} {COMPONENT_NAMES.get(name, name)} {format_bytes(size)}"
            for i, (name, size) in enumerate(data.components)
        ]
        indent = " " * self.LABEL_WIDTH
        # Wrap between items, never inside one, so a glyph stays beside its name and size.
        line = ""
        for item in items:
            if line and len(indent) + len(line) + 2 + len(item) > width:
                lines.append(Content(indent + line))
                line = item
            else:
                line = f"{line}  {item}" if line else item
        if line:
            lines.append(Content(indent + line))
        # Wrapped here, under the bar, rather than by the terminal at its left edge.
        for part in textwrap.wrap(data.smallest_fit, max(20, width - self.LABEL_WIDTH)):
            lines.append(Content(indent + part))
        if data.pinned_used_bytes is not None and data.pinned_status is not None:
            delta = data.used_bytes - data.pinned_used_bytes
            sign = "+" if delta >= 0 else "-"
            pinned_colour = STATUS_VARIABLES[data.pinned_status]
            lines.append(
                Content("").join(
                    [
                        Content(
                            " " * self.LABEL_WIDTH + f"A: {format_bytes(data.pinned_used_bytes)} "
                        ),
                        Content.styled(STATUS_WORDS[data.pinned_status], pinned_colour),
                        Content(
                            f"   Δ {sign}{format_bytes(abs(delta))} "
                            f"({percent_change(data.used_bytes, data.pinned_used_bytes)})"
                            if delta
                            else "   ="
                        ),
                    ]
                )
            )
        return lines
