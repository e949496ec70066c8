"""The curves pane: a braille plot of one scaling law in one view, with the scenario's point
marked, and the compute-optimal N*, D* and the over/under-training ratio beside it; or, in the
"serving" view, the serving frontier: output tokens/s per accelerator against tokens/s per user,
one curve per tensor-parallel degree over batch sizes (engine.serving.serving_frontier), the
scenario's point marked, the per-user target as a vertical line and the cheapest setup at it
beside the plot.

The plot is drawn by textual-plotext on log axes of our own (log10 of the data on linear axes,
ticks labelled per decade), so the tick labels read "1e21" / "10B" rather than plotext's raw
floats. Colours come only from theme variables ($curve-1..4, $curve-point); the plot canvas uses
plotext's "clear" theme, i.e. the widget's own background and foreground. Under an ANSI theme the
curve colours are passed as terminal palette indices, so they follow the terminal's palette.

`l` and `v` cycle the law and the view: the pane posts `CurvesPane.ScalingChoice` with the dotted
key and the new value, and the app edits the scenario (state flows one way).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual_plotext import PlotextPlot

from llmscope.engine.errors import EngineInputError
from llmscope.engine.evaluate import scaling_params
from llmscope.engine.scaling import (
    HOFFMANN_INCONSISTENCY_NOTE,
    LAW_IDS,
    VIEWS,
    Curve,
    CurveSeries,
    curve,
    describe_training,
    get_law,
)
from llmscope.engine.scenario import Scenario
from llmscope.presets.numbers import format_count, format_flops, format_seconds, format_usd
from llmscope.tui.widgets.figures import FigureText

if TYPE_CHECKING:
    from llmscope.engine.evaluate import Readout

# As many as the most series a view draws (iso-FLOP: five budgets), so no two share a colour.
CURVE_VARIABLES = ("curve-1", "curve-2", "curve-3", "curve-4", "curve-5")
POINT_MARKER = "●"
PINNED_MARKER = "◆"
VIEW_TITLES = {
    "frontier": "loss vs compute (frontier)",
    "loss_vs_params": "loss vs N at fixed D",
    "isoflop": "iso-FLOP profiles",
    "serving": "tokens/s per accelerator vs per user",
}
SERVING_VIEW = "serving"
CURVE_VIEWS = (*VIEWS, SERVING_VIEW)  # what `v` cycles through: the law's views, then serving
# Terminal palette indices of Textual's ANSI colour names (plotext takes 0-255 as palette codes).
_ANSI_INDEX = {
    name: index
    for index, name in enumerate(
        ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
    )
} | {
    f"bright_{name}": index + 8
    for index, name in enumerate(
        ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
    )
}
POINTS = 160  # samples per series: more than the braille resolution of a wide terminal


def plot_colour(value: str) -> int | str | tuple[int, int, int]:
    """A plotext colour for a theme variable's value ("ansi_red" -> palette index 1)."""
    value = value.strip()
    if value.startswith("ansi_"):
        return _ANSI_INDEX.get(value.removeprefix("ansi_"), "default")
    try:
        return Color.parse(value).rgb
    except Exception:  # a value Textual accepts in CSS but not as a plain colour
        return "default"


def _tick_count(value: float) -> str:
    """A count for an axis tick: "1B" rather than "1.00B" (ticks sit on round values)."""
    text = format_count(value)
    number = text.rstrip("kMBTQ")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number + text[len(text.rstrip("kMBTQ")) :]


def decade_ticks(low: float, high: float, as_count: bool) -> tuple[list[float], list[str]]:
    """Tick positions (in log10 units) and labels for a log axis from `low` to `high`.

    One tick per decade; with fewer than two decades in range, ticks at 1, 2 and 5 as well."""
    lo, hi = math.log10(low), math.log10(high)
    steps = (1.0, 2.0, 5.0) if hi - lo < 2 else (1.0,)
    positions: list[float] = []
    labels: list[str] = []
    for exponent in range(math.floor(lo), math.ceil(hi) + 1):
        for step in steps:
            value = step * 10.0**exponent
            position = math.log10(value)
            if lo - 1e-9 <= position <= hi + 1e-9:
                positions.append(position)
                labels.append(_tick_count(value) if as_count else f"{step:g}e{exponent}")
    if hi - lo > 6:  # thin out: at most about seven labels fit under a narrow plot
        keep = math.ceil(len(positions) / 7)
        positions, labels = positions[::keep], labels[::keep]
    return positions, labels


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round values (1, 2 or 5 times a power of ten apart) from `low` to `high`."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def log_ticks(low: float, high: float, as_count: bool) -> tuple[list[float], list[str]]:
    """Ticks for a log axis: per decade over wide ranges, round linear values within a decade
    (a loss axis from 1.8 to 2.6 would otherwise get a single tick)."""
    if high / low >= 10:
        return decade_ticks(low, high, as_count)
    values = [v for v in nice_ticks(low, high) if v > 0]
    labels = [_tick_count(v) if as_count else f"{v:g}" for v in values]
    return [math.log10(v) for v in values], labels


def _ratio_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def serving_point(readout: Readout) -> tuple[float, float]:
    """The scenario on the serving frontier: (tokens/s per user, tokens/s per accelerator)."""
    return readout.serving.decode_tokens_per_s, readout.serving.tokens_per_s_per_accelerator


def serving_curve(readout: Readout) -> Curve | None:
    """One series per tensor-parallel degree of the readout's frontier, the scenario's point;
    None when no degree within a node holds the weights."""
    frontier = readout.serving_frontier
    if not frontier.tensor_parallel_degrees:
        return None
    tp = np.asarray(frontier.tensor_parallel)
    per_user = np.asarray(frontier.tokens_per_s_per_user)
    per_accelerator = np.asarray(frontier.tokens_per_s_per_accelerator)
    series = tuple(
        CurveSeries(f"TP {degree}", per_user[tp == degree], per_accelerator[tp == degree])
        for degree in frontier.tensor_parallel_degrees
    )
    return Curve(
        "serving frontier",
        "tokens/s per user",
        "output tokens/s per accelerator",
        series,
        serving_point(readout),
        log_x=True,
        log_y=True,
    )


def _curve_inputs(
    scenario: Scenario, readout: Readout, pinned: tuple[Scenario, Readout] | None
) -> tuple[object, ...]:
    """Everything the plot and the figures beside it are drawn from."""
    if scenario.scaling.view == SERVING_VIEW:
        return (
            scenario.scaling,
            readout.serving_frontier,
            readout.serving,
            pinned and pinned[1].serving,
        )

    def point(s: Scenario, r: Readout) -> tuple[object, ...]:
        # r.params.sparse names N in the figures.
        return (*scaling_params(r.params), r.params.sparse, s.training.tokens, r.scaling)

    return (
        scenario.scaling,
        point(scenario, readout),
        pinned and point(*pinned),
        readout.budget,
    )


# The figures beside the plot take SIDE_COLUMNS (#curve-side's width with its padding); below
# MIN_PLOT_COLUMNS left for the plot they go under it instead.
SIDE_COLUMNS = 33
MIN_PLOT_COLUMNS = 44


class CurvesPane(Widget):
    """Scaling-law curves of the scenario; see the module docstring."""

    can_focus = True  # so that its keys (law, view) work when the pane has focus

    BINDINGS = [
        Binding("l", "next_law", "Law", tooltip="Show the next scaling law", id="curves.next_law"),
        Binding(
            "v", "next_view", "View", tooltip="Show the next curve view", id="curves.next_view"
        ),
    ]

    DEFAULT_CSS = """
    CurvesPane {
        height: 1fr;
        width: 1fr;
        /* The title docked across the top, the plot and the figures side by side under it, in
           the pane itself rather than in a container of their own: every container level
           renders each of its lines on a full frame, covered by its children or not. */
        layout: horizontal;
    }
    CurvesPane #curve-title {
        dock: top;
        padding: 0 1;
        text-style: bold;
        color: $primary;
        height: auto;
    }
    CurvesPane PlotextPlot {
        width: 1fr;
        height: 1fr;
        min-height: 8;
        min-width: 30;
    }
    CurvesPane #curve-side {
        width: 33;
        height: 1fr;
        padding: 0 0 0 1;
    }
    CurvesPane #curve-note {
        color: $text-muted;
        margin-top: 1;
    }
    /* A pane too narrow for plot and figures side by side (three panes on one screen) puts the
       figures under the plot, so the plot keeps a readable width. */
    CurvesPane.-stacked {
        layout: vertical;
    }
    CurvesPane.-stacked #curve-side {
        width: 1fr;
        height: auto;
        max-height: 50%;
        padding: 0 1;
    }
    """

    class ScalingChoice(Message):
        """The user asked for another law or view: the app sets `key` to `value`."""

        def __init__(self, key: str, value: str) -> None:
            super().__init__()
            self.key = key
            self.value = value

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: tuple[Scenario, Readout, tuple[Scenario, Readout] | None] | None = None
        self._drawn_from: tuple[object, ...] = ()
        self._curve: Curve | None = None

    @property
    def current_curve(self) -> Curve | None:
        """The curve on screen (for tests and exports)."""
        return self._curve

    def compose(self) -> ComposeResult:
        yield FigureText(id="curve-title")
        plot = PlotextPlot(id="curve-plot")
        plot.theme = "clear"
        yield plot
        with VerticalScroll(id="curve-side"):
            yield FigureText(id="curve-summary")
            yield FigureText(id="curve-legend")
            yield FigureText(id="curve-note")

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width - SIDE_COLUMNS < MIN_PLOT_COLUMNS, "-stacked")

    def on_mount(self) -> None:
        # Curve colours are read from the theme when drawn: redraw when the theme changes.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._redraw())

    def action_next_law(self) -> None:
        self._cycle("scaling.law", LAW_IDS)

    def action_next_view(self) -> None:
        self._cycle("scaling.view", CURVE_VIEWS)

    def _cycle(self, key: str, choices: tuple[str, ...]) -> None:
        if self._shown is None:
            return
        current = self._shown[0].value(key)
        following = choices[(choices.index(current) + 1) % len(choices)]
        self.post_message(self.ScalingChoice(key, following))

    def show(
        self,
        scenario: Scenario,
        readout: Readout,
        pinned: tuple[Scenario, Readout] | None = None,
    ) -> None:
        """Plot the scenario's law and view with its point (and the pinned A's point)."""
        drawn_from = _curve_inputs(scenario, readout, pinned)
        unchanged = self._shown is not None and drawn_from == self._drawn_from
        self._shown, self._drawn_from = (scenario, readout, pinned), drawn_from
        if not unchanged:  # most edits (serving, hardware) move nothing on the plot
            self._redraw()

    def _redraw(self) -> None:
        if self._shown is None:
            return
        scenario, readout, pinned = self._shown
        law_id, view = scenario.scaling.law, scenario.scaling.view
        if view == SERVING_VIEW:
            self._redraw_serving(scenario, readout, pinned)
            return
        try:
            shown = curve(
                law_id, view, *scaling_params(readout.params), scenario.training.tokens, POINTS
            )
            pinned_point = None
            if pinned is not None:
                pinned_point = curve(
                    law_id, view, *scaling_params(pinned[1].params), pinned[0].training.tokens, 2
                ).point
        except EngineInputError as exc:
            # A model the law cannot place (e.g. no non-embedding parameters for Kaplan's N):
            # say why in the pane, keep the last plot rather than fail the edit.
            self._curve = None
            self.query_one("#curve-title", FigureText).update(
                Content.styled(f"No curve for this scenario: {exc}", "$error")
            )
            return
        self._curve = shown

        law = get_law(law_id)
        view_title = VIEW_TITLES[view] if law.has_loss else "N* vs compute (no loss fit)"
        self.query_one("#curve-title", FigureText).update(Content(f"{law.title} · {view_title}"))
        self._draw_plot(shown, pinned_point)
        self.query_one("#curve-summary", FigureText).update(self._summary(readout, pinned))
        self.query_one("#curve-legend", FigureText).update(
            self._legend(shown, pinned_point is not None)
        )
        note = readout.scaling.note
        if law_id == "hoffmann2022":
            note = f"{note}\n{HOFFMANN_INCONSISTENCY_NOTE}"
        self.query_one("#curve-note", FigureText).update(Content(note))

    def _colours(
        self,
    ) -> tuple[list[int | str | tuple[int, int, int]], int | str | tuple[int, int, int]]:
        variables = self.app.theme_variables
        series = [plot_colour(variables.get(name, "")) for name in CURVE_VARIABLES]
        return series, plot_colour(variables.get("curve-point", ""))

    def _redraw_serving(
        self, scenario: Scenario, readout: Readout, pinned: tuple[Scenario, Readout] | None
    ) -> None:
        shown = serving_curve(readout)
        self._curve = shown
        title = self.query_one("#curve-title", FigureText)
        serve = scenario.serving
        setup = (
            f"{readout.accelerator.id}, {serve.weight_dtype} weights, {serve.kv_dtype} KV, "
            f"{serve.prompt_tokens:,} in / {serve.output_tokens:,} out"
        )
        if shown is None:
            title.update(
                Content.styled(
                    f"Serving frontier: no tensor-parallel degree up to {scenario.cluster.per_node}"
                    " (cluster.per_node) holds the weights",
                    "$error",
                )
            )
            plot = self.query_one("#curve-plot", PlotextPlot)
            plot.plt.clear_data()
            plot.refresh()
            for name in ("#curve-summary", "#curve-legend", "#curve-note"):
                self.query_one(name, FigureText).update(Content(""))
            return
        title.update(Content(f"Serving frontier · {setup}"))
        pinned_point = serving_point(pinned[1]) if pinned is not None else None
        target = readout.serving_frontier.min_tokens_per_s_per_user
        self._draw_plot(shown, pinned_point, target_x=target)
        self.query_one("#curve-summary", FigureText).update(self._serving_summary(readout))
        target_label = f"{format_count(target)} tok/s/user target"
        self.query_one("#curve-legend", FigureText).update(
            self._legend(shown, pinned_point is not None, target_label=target_label)
        )
        self.query_one("#curve-note", FigureText).update(
            Content(
                "Along each curve the batch grows from 1 (right) to the most that fits in memory "
                "(left): each user slows, each accelerator serves more. Prefill is included."
            )
        )

    def _serving_summary(self, readout: Readout) -> Content:
        s = readout.serving
        frontier = readout.serving_frontier
        best = frontier.best_at_target

        def usd(value: float | None) -> str:
            return "no price" if value is None else format_usd(value)

        rows = [
            ("TP x batch", f"{s.tensor_parallel} x {s.batch_running:,}"),
            ("tok/s/user", format_count(s.decode_tokens_per_s)),
            ("tok/s/acc.", format_count(s.tokens_per_s_per_accelerator)),
            ("TTFT", format_seconds(s.ttft_s)),
            ("$/1M out", usd(s.usd_per_million_output_tokens_all_in)),
        ]
        lines = [Content.styled("This scenario", "bold")]
        lines += [Content(f"{label:<11}{value:>12}") for label, value in rows]
        lines.append(
            Content.styled(
                f"Cheapest ≥{format_count(frontier.min_tokens_per_s_per_user)} tok/s/user", "bold"
            )
        )
        if best is None:
            lines.append(Content("no TP and batch reaches it"))
        else:
            best_rows = [
                ("TP x batch", f"{best.tensor_parallel} x {best.batch:,}"),
                ("tok/s/user", format_count(best.tokens_per_s_per_user)),
                ("tok/s/acc.", format_count(best.tokens_per_s_per_accelerator)),
                ("TTFT", format_seconds(best.ttft_s)),
                ("$/1M out", usd(best.usd_per_million_output_tokens_all_in)),
            ]
            lines += [Content(f"{label:<11}{value:>12}") for label, value in best_rows]
        return Content("\n").join(lines)

    def _draw_plot(
        self,
        shown: Curve,
        pinned_point: tuple[float, float] | None,
        target_x: float | None = None,
    ) -> None:
        widget = self.query_one("#curve-plot", PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        series_colours, point_colour = self._colours()
        xs = [s.x for s in shown.series]
        ys = [s.y for s in shown.series]
        all_x = np.concatenate(xs)
        all_y = np.concatenate(ys)
        point_xs = [p[0] for p in (shown.point, pinned_point) if p is not None]
        point_ys = [p[1] for p in (shown.point, pinned_point) if p is not None]
        x_low, x_high = float(np.min(all_x)), float(np.max(all_x))
        y_low, y_high = float(np.min(all_y)), float(np.max(all_y))
        if point_xs:
            x_low, x_high = min(x_low, *point_xs), max(x_high, *point_xs)
            y_low, y_high = min(y_low, *point_ys), max(y_high, *point_ys)
        if target_x is not None:
            x_low, x_high = min(x_low, target_x), max(x_high, target_x)

        def fx(values: np.ndarray | list[float]) -> list[float]:
            array = np.asarray(values, dtype=float)
            return (np.log10(array) if shown.log_x else array).tolist()

        def fy(values: np.ndarray | list[float]) -> list[float]:
            array = np.asarray(values, dtype=float)
            return (np.log10(array) if shown.log_y else array).tolist()

        for index, series in enumerate(shown.series):
            plt.plot(
                fx(series.x),
                fy(series.y),
                marker="braille",
                color=series_colours[index % len(series_colours)],
            )
        if target_x is not None:
            plt.vline(fx([target_x])[0], color=point_colour)
        if pinned_point is not None:
            plt.scatter(
                fx([pinned_point[0]]),
                fy([pinned_point[1]]),
                marker=PINNED_MARKER,
                color=point_colour,
            )
        if shown.point is not None:
            plt.scatter(
                fx([shown.point[0]]), fy([shown.point[1]]), marker=POINT_MARKER, color=point_colour
            )
        x_is_count = "FLOPs" not in shown.x_label
        if shown.log_x:
            plt.xticks(*log_ticks(x_low, x_high, x_is_count))
        if shown.log_y:
            plt.yticks(*log_ticks(y_low, y_high, not shown.y_label.startswith("loss")))
        plt.xlabel(shown.x_label)
        plt.title("")
        widget.refresh()

    def _legend(
        self, shown: Curve, with_pinned: bool, target_label: str | None = None
    ) -> Content:
        lines = [Content.styled("Legend", "bold")]
        for index, series in enumerate(shown.series):
            variable = CURVE_VARIABLES[index % len(CURVE_VARIABLES)]
            lines.append(
                Content("").join([Content.styled("⣿ ", f"${variable}"), Content(series.label)])
            )
        lines.append(
            Content("").join(
                [Content.styled(f"{POINT_MARKER} ", "$curve-point"), Content("this scenario")]
            )
        )
        if with_pinned:
            lines.append(
                Content("").join(
                    [Content.styled(f"{PINNED_MARKER} ", "$curve-point"), Content("pinned A")]
                )
            )
        if target_label is not None:
            lines.append(
                Content("").join([Content.styled("│ ", "$curve-point"), Content(target_label)])
            )
        lines.append(Content(f"y: {shown.y_label}"))
        return Content("\n").join(lines)

    def _summary(self, readout: Readout, pinned: tuple[Scenario, Readout] | None) -> Content:
        s = readout.scaling
        a = pinned[1].scaling if pinned is not None else None
        rows: list[tuple[str, str, str | None]] = []

        def row(label: str, value: float | None, other: float | None, fmt) -> None:  # noqa: ANN001
            text = fmt(value) if value is not None else "—"
            other_text = None if a is None else (fmt(other) if other is not None else "—")
            rows.append((label, text, other_text))

        sparse = readout.params.sparse
        if get_law(s.law_id).params_counted == "total":
            n_word = "N active" if sparse else "N total"
        else:
            n_word = "N act. non-emb" if sparse else "N non-emb"
        row("loss", s.loss, a.loss if a else None, lambda v: f"{v:.3f}")
        row(n_word, s.params, a.params if a else None, format_count)
        row("D", s.tokens, a.tokens if a else None, format_count)
        row("C = 6ND", s.compute_flops, a.compute_flops if a else None, format_flops)
        row("N*", s.optimal_params, a.optimal_params if a else None, format_count)
        row("D*", s.optimal_tokens, a.optimal_tokens if a else None, format_count)
        row("D/N", s.tokens_per_param, a.tokens_per_param if a else None, _ratio_text)
        row(
            "D*/N*",
            s.optimal_tokens_per_param,
            a.optimal_tokens_per_param if a else None,
            _ratio_text,
        )
        row(
            "(D/N)/opt",
            s.overtraining_ratio,
            a.overtraining_ratio if a else None,
            lambda v: f"{v:.3g}x",
        )
        row(
            "loss @10xC",
            s.loss_with_10x_compute,
            a.loss_with_10x_compute if a else None,
            lambda v: f"{v:.3f}",
        )
        lines = [Content.styled("Compute-optimal", "bold")]
        if a is not None:
            lines.append(Content.styled(f"{'':<10}{'B':>8}{'A':>8}", "dim"))
        for label, text, other_text in rows:
            line = f"{label:<10}{text:>8}"
            if other_text is not None:
                line += f"{other_text:>8}"
            lines.append(Content(line))
        lines.append(Content(describe_training(s.overtraining_ratio)))
        lines += self._budget_lines(readout)
        return Content("\n").join(lines)

    @staticmethod
    def _budget_lines(readout: Readout) -> list[Content]:
        """scaling.compute_budget_flops answered under every law, this law's row in bold; N* is
        each law's own N (non-embedding for Kaplan and DeepSeek)."""
        if not readout.budget:
            return []
        lines = [
            Content(""),
            Content.styled(f"Budget {format_flops(readout.budget[0].compute_flops)} FLOPs", "bold"),
            Content.styled(f"{'law':<10}{'N*':>8}{'D*':>8}", "dim"),
        ]
        for optimum in readout.budget:
            line = (
                f"{get_law(optimum.law_id).title.split()[0]:<10}"
                f"{format_count(optimum.optimal_params):>8}{format_count(optimum.optimal_tokens):>8}"
            )
            chosen = optimum.law_id == readout.scaling.law_id
            lines.append(Content.styled(line, "bold") if chosen else Content(line))
        return lines
