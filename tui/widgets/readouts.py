"""The readouts pane: parameters, memory per accelerator, training and serving economics.

`ReadoutsPane.show(scenario, readout, pinned)` only formats what `engine.evaluate` computed; it
updates the text of widgets composed once (no remounting), so it is cheap to call on every edit.
With `pinned` (compare mode: A pinned, the current scenario is B) every figure shows B beside A
with the difference, absolute and relative (relative only where the pane is too narrow for
both, beside the builder and the curves).

Figures that rest on catalog numbers marked uncertain (the accelerator's `uncertain` fields) carry
a "~" and a note at the bottom naming those fields.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content

from llmscope.engine.scenario import Scenario
from llmscope.presets.numbers import (
    format_bytes,
    format_count,
    format_field_value,
    format_flops,
    format_seconds,
    format_usd,
    percent_change,
)
from llmscope.tui.widgets.bars import BarData, MemoryBar
from llmscope.tui.widgets.figures import FigureText

if TYPE_CHECKING:
    from llmscope.engine.evaluate import MemoryFit, Readout

LABEL_WIDTH = 24
VALUE_WIDTH = 12
COMPACT_WIDTH = 76
UNCERTAIN_MARK = "~"
NOT_AVAILABLE = "—"

# Which catalog fields of the accelerator each figure rests on, to carry the "~" when the catalog
# marks one of them uncertain.
_PEAK = ("bf16_tflops",)  # training runs at bf16 (engine.training)
_BANDWIDTH = ("memory_bandwidth_gbs",)
_MEMORY = ("memory_gb", "memory_bytes")
_PRICE = ("price_usd_per_hour",)
_POWER = ("tdp_w",)


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of a readout: a label and a value, formatted by `format`."""

    label: str
    value: float | None
    format: Callable[[float], str]
    depends_on: tuple[str, ...] = ()
    missing: str = NOT_AVAILABLE  # shown when value is None (e.g. "no price")


def _signed(format_value: Callable[[float], str], delta: float) -> str:
    if delta == 0:
        return "±0"
    return ("+" if delta > 0 else "-") + format_value(abs(delta)).lstrip("-")


def _integer(value: float) -> str:
    return f"{value:,.0f}"


def _per_s(value: float) -> str:
    return format_count(value)


def _hours(value: float) -> str:
    return f"{format_count(value)} h"


def _years(value: float) -> str:
    return f"{format_count(value)} y"


def _mwh(value: float) -> str:
    return f"{value / 1000:,.3g} GWh" if abs(value) >= 1000 else f"{value:,.3g} MWh"


def _tonnes(value: float) -> str:
    return f"{format_count(value)} t" if abs(value) >= 1000 else f"{value:,.3g} t"


def _ratio(value: float) -> str:
    return f"{value:.0%}"


def _percent(value: float) -> str:
    return f"{value:.1%}"


def parameter_figures(readout: Readout) -> list[Figure]:
    p = readout.params
    figures = [
        Figure("total parameters", p.total, format_count),
        Figure("active per token", p.active, format_count),
        Figure("  embedding", p.embedding, format_count),
        Figure("  non-embedding", p.non_embedding, format_count),
        Figure("  attention", p.attention, format_count),
        Figure("  dense MLP", p.mlp, format_count),
        Figure("  routed experts", p.experts, format_count),
        Figure("  shared experts", p.shared_experts, format_count),
        Figure("  router", p.router, format_count),
        Figure("  norms", p.norms, format_count),
        Figure("  output head", p.output_head, format_count),
    ]
    return figures


def performance_figures(readout: Readout) -> list[Figure]:
    """The step-time model at the scenario's layout (engine.performance); none when invalid."""
    perf = readout.performance
    if perf is None:
        return []
    return [
        Figure("predicted MFU", perf.mfu, _percent, _PEAK),
        Figure("  implied by a real run", readout.implied_mfu, _percent, _PEAK),
        Figure("tokens/s", perf.tokens_per_s, _per_s, _PEAK),
        Figure("  per accelerator", perf.tokens_per_s_per_accelerator, _per_s, _PEAK),
        Figure("step time", perf.step_s, format_seconds, _PEAK),
        Figure("  pipeline bubble", perf.bubble_fraction, _ratio, _PEAK),
        Figure("data parallel", readout.training_memory.data_parallel, _integer),
    ]


# Step bar: one character per part, in engine.performance.StepTime.parts order.
STEP_BAR_WIDTH = 40
_STEP_MARKS = {
    "compute": ("█", "compute"),
    "pipeline bubble": ("░", "bubble"),
    "tensor parallel": ("▓", "TP"),
    "data parallel": ("▒", "DP"),
    "pipeline p2p": ("▚", "PP p2p"),
    "expert all-to-all": ("▞", "EP"),
    "context parallel": ("▙", "CP"),
}


def step_bar_lines(readout: Readout) -> list[str]:
    """The step as a bar of its parts and a legend of those above 0.5%."""
    perf = readout.performance
    if perf is None:
        return []
    step = float(perf.step_s)
    shares = [(name, float(seconds) / step) for name, seconds in perf.parts()]
    bar = ""
    for name, share in shares:
        bar += _STEP_MARKS[name][0] * round(share * STEP_BAR_WIDTH)
    legend = " · ".join(
        f"{_STEP_MARKS[name][0]} {_STEP_MARKS[name][1]} {share:.0%}"
        for name, share in shares
        if share >= 0.005
    )
    wrapped = textwrap.wrap(legend, COMPACT_WIDTH - 5, initial_indent="", subsequent_indent="")
    return [f"step {bar[:STEP_BAR_WIDTH]}", *(f"     {line}" for line in wrapped)]


def training_figures(readout: Readout) -> list[Figure]:
    t = readout.training
    if t is None:
        return performance_figures(readout)
    figures = [
        *performance_figures(readout),
        Figure("training FLOPs", t.flops, format_flops),
        Figure("  6ND rule of thumb", t.six_nd_flops, format_flops),
        Figure("wall clock", t.wall_clock_s, format_seconds, _PEAK),
        Figure("accelerator-hours", t.accelerator_hours, _hours, _PEAK),
        Figure("  accelerator-years", t.accelerator_years, _years, _PEAK),
        Figure("cost", t.cost_usd, format_usd, _PEAK + _PRICE, missing="no price"),
        Figure("energy", t.energy_mwh, _mwh, _PEAK + _POWER, missing="no TDP"),
        Figure("CO2e", t.co2_tonnes, _tonnes, _PEAK + _POWER, missing="no TDP"),
    ]
    # The inverse questions, where the scenario asks them (training.deadline_days, .budget_usd).
    targets = readout.training_targets
    if targets is not None and targets.deadline_days is not None:
        days = f"{targets.deadline_days:g} day{'' if targets.deadline_days == 1 else 's'}"
        figures.append(
            Figure(f"accelerators for {days}", targets.accelerators_for_deadline, _integer, _PEAK)
        )
    if targets is not None and targets.budget_usd is not None:
        figures.append(
            Figure(
                f"tokens for {format_usd(targets.budget_usd)}",
                targets.tokens_for_budget,
                format_count,
                _PEAK + _PRICE,
                missing="no price",
            )
        )
    return figures


_SERVING_PEAK = {"fp8": ("fp8_tflops",), "fp32": ("fp32_tflops",)}


def serving_figures(readout: Readout) -> list[Figure]:
    s = readout.serving
    best = readout.serving_frontier.best_at_target
    target = readout.serving_frontier.min_tokens_per_s_per_user
    # engine.serving.peak_flops_for: the datasheet figure at the compute precision.
    peak = _SERVING_PEAK.get(s.compute_dtype, ("bf16_tflops",))
    speed = peak + _BANDWIDTH
    return [
        Figure("time to first token", s.ttft_s, format_seconds, speed),
        Figure("inter-token latency", s.decode_s_per_token, format_seconds, speed),
        Figure("tokens/s per user", s.decode_tokens_per_s, _per_s, speed),
        Figure("tokens/s per accelerator", s.tokens_per_s_per_accelerator, _per_s, speed),
        Figure("max batch (KV fits)", s.max_batch, _integer, _MEMORY),
        Figure("tensor parallel used", s.tensor_parallel, _integer, _MEMORY),
        Figure(
            "$ per 1M input tokens",
            s.usd_per_million_input_tokens,
            format_usd,
            peak + _PRICE,
            missing="no price",
        ),
        Figure(
            "$ per 1M output tokens",
            s.usd_per_million_output_tokens,
            format_usd,
            speed + _PRICE,
            missing="no price",
        ),
        Figure(
            "accelerators for load", s.accelerators_for_target_load, _integer, peak + _BANDWIDTH
        ),
        Figure(
            f"cheapest ≥{format_count(target)} tok/s: TP",
            None if best is None else best.tensor_parallel,
            _integer,
            speed + _MEMORY,
            missing="none reach it",
        ),
        Figure(
            "  batch", None if best is None else best.batch, _integer, speed + _MEMORY,
            missing="none reach it",
        ),
        Figure(
            "  $ per 1M output tokens",
            None if best is None else best.usd_per_million_output_tokens_all_in,
            format_usd,
            speed + _PRICE,
            missing="no price" if best is not None else "none reach it",
        ),
    ]


def compact_parameters(readout: Readout, suffix: str = "") -> Content:
    """Parameters in three lines (alone, or beside the same model), so that the memory bars show
    at 80x24 without scrolling: totals first, then the non-zero components on wrapping lines."""
    figures = parameter_figures(readout)
    total, active, *components = figures
    heading = Content.styled(f"Parameters{suffix}", "bold $primary")
    totals = Content(
        f"{format_count(total.value)} total, {format_count(active.value)} active per token"
    )
    parts = [
        f"{figure.label.strip()} {format_count(figure.value)}"
        for figure in components
        if figure.value and figure.label != "  non-embedding"
    ]
    # Wrapped here, between parts, so a name never parts from its number (76 columns: a 78-column
    # pane less its padding).
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 3 + len(part) <= COMPACT_WIDTH:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return Content("\n").join([heading, totals, *(Content(line) for line in lines)])


def _uncertain(readout: Readout, figure: Figure) -> bool:
    return bool(set(figure.depends_on) & set(readout.accelerator.uncertain))


def _value_text(readout: Readout, figure: Figure) -> str:
    if figure.value is None:
        return figure.missing
    mark = UNCERTAIN_MARK if _uncertain(readout, figure) else ""
    return mark + figure.format(figure.value)


def figure_lines(
    readout: Readout,
    figures: Sequence[Figure],
    pinned: tuple[Readout, Sequence[Figure]] | None = None,
    hide_zero: bool = True,
    relative_only: bool = False,
) -> list[str]:
    """Aligned plain-text lines: label, value, and in compare mode A's value and the change,
    absolute and relative (only relative with `relative_only`, for a pane too narrow for both:
    B's and A's values beside it still give the absolute one)."""
    lines: list[str] = []
    pinned_by_label = {f.label: f for f in pinned[1]} if pinned is not None else {}
    for figure in figures:
        other = pinned_by_label.get(figure.label)
        if (
            hide_zero
            and figure.label.startswith("  ")
            and not figure.value
            and not (other is not None and other.value)
        ):
            continue  # a component this architecture does not have (e.g. experts of a dense model)
        line = f"{figure.label:<{LABEL_WIDTH}}{_value_text(readout, figure):>{VALUE_WIDTH}}"
        if pinned is not None:
            if other is None:
                lines.append(line)
                continue
            line += f"{_value_text(pinned[0], other):>{VALUE_WIDTH}}"
            if figure.value is not None and other.value is not None:
                delta = figure.value - other.value
                relative = percent_change(figure.value, other.value)
                change = (
                    relative if relative_only else f"{_signed(figure.format, delta)} ({relative})"
                )
                line += f"  {change}" if delta != 0 else "  ="
        lines.append(line)
    return lines


def _section(title: str, lines: list[str], compare: bool) -> Content:
    heading = Content.styled(title, "bold $primary")
    if compare:
        columns = (
            f"{'':<{LABEL_WIDTH}}{'B (now)':>{VALUE_WIDTH}}{'A (pinned)':>{VALUE_WIDTH}}  change"
        )
        heading = Content("\n").join([heading, Content.styled(columns, "dim")])
    return Content("\n").join([heading, *(Content(line) for line in lines)])


def training_title(scenario: Scenario, readout: Readout) -> str:
    """"Training  2T tokens, 42% MFU (predicted)", or the invalid layout's field."""
    tokens = format_count(scenario.training.tokens)
    if readout.training is None:
        return f"Training  {tokens} tokens, invalid layout"
    return f"Training  {tokens} tokens, {readout.training.mfu:.0%} MFU ({readout.mfu_source})"


def layout_lines(readout: Readout) -> list[str]:
    """Every rule the layout breaks, "invalid layout: <field>: <reason>", then the notes, wrapped
    to the pane (76 columns, continuation lines indented)."""
    texts = [f"invalid layout: {problem}" for problem in readout.layout_problems]
    texts += list(readout.layout_notes)
    return [
        line
        for text in texts
        for line in textwrap.wrap(text, COMPACT_WIDTH, subsequent_indent="  ")
    ]


def _accelerator_text(scenario: Scenario, readout: Readout) -> str:
    return f"{scenario.cluster.count} × {readout.accelerator.name}"


def training_bar(scenario: Scenario, readout: Readout, pinned: Readout | None) -> BarData:
    fit = readout.training_fit
    problems = readout.training_problems
    smallest = (
        f"invalid layout ({problems[0].field}): memory as if it ran; see Training"
        if problems
        else _smallest_cluster_text(scenario, fit)
    )
    return _bar_data(
        "training",
        fit,
        readout,
        smallest,
        pinned.training_fit if pinned is not None else None,
    )


def serving_bar(scenario: Scenario, readout: Readout, pinned: Readout | None) -> BarData:
    fit = readout.serving_fit
    if fit.min_accelerators is None:
        smallest = "no tensor-parallel replica within the search limit holds it"
    elif fit.min_accelerators <= scenario.serving.tensor_parallel:
        smallest = (
            f"tensor parallel {scenario.serving.tensor_parallel} "
            f"(smallest that fits: {fit.min_accelerators})"
        )
    else:
        smallest = (
            f"tensor parallel {scenario.serving.tensor_parallel}; smallest that fits: "
            f"{fit.min_accelerators}"
        )
    return _bar_data(
        "serving", fit, readout, smallest, pinned.serving_fit if pinned is not None else None
    )


def _smallest_cluster_text(scenario: Scenario, fit: MemoryFit) -> str:
    if fit.min_accelerators is None:
        return (
            "no cluster size alone fits: shard (ZeRO, tensor, pipeline) or recompute;"
            " F8 plans a layout"
        )
    return (
        f"{scenario.cluster.count} accelerators; smallest cluster that fits: {fit.min_accelerators}"
    )


def _bar_data(
    title: str, fit: MemoryFit, readout: Readout, smallest: str, pinned: MemoryFit | None
) -> BarData:
    return BarData(
        title=title,
        components=fit.components,
        used_bytes=fit.used_bytes,
        capacity_bytes=fit.capacity_bytes,
        status=fit.status,
        capacity_uncertain=bool(set(_MEMORY) & set(readout.accelerator.uncertain)),
        smallest_fit=smallest,
        pinned_used_bytes=pinned.used_bytes if pinned is not None else None,
        pinned_status=pinned.status if pinned is not None else None,
    )


CHANGES_SHOWN = 4
# A compare line at its longest: label, B, A, and a change such as "+154 days (+49.1%)".
COMPARE_LINE_CELLS = LABEL_WIDTH + 2 * VALUE_WIDTH + 2 + 18


def changed_settings(a: Scenario, b: Scenario) -> str:
    """What B changes from A, setting by setting, since the names alone may be the same
    ("custom" both): the first few, then how many more."""
    keys = [key for key in a.differing_keys(b) if key != "model.name"]
    if not keys:
        return "B: the same settings as A"

    def label(key: str) -> str:
        # "num layers", "cluster count": a model's own fields need no section to be clear.
        section, _, name = key.partition(".")
        words = name.replace("_", " ")
        return words if section == "model" else f"{section} {words}"

    changes = [
        f"{label(key)} {format_field_value(a.value(key))} → {format_field_value(b.value(key))}"
        for key in keys[:CHANGES_SHOWN]
    ]
    more = len(keys) - CHANGES_SHOWN
    return "B changes " + "; ".join(changes) + (f"; and {more} more" if more > 0 else "")


def uncertainty_note(readout: Readout) -> str:
    fields = readout.accelerator.uncertain
    if not fields:
        return ""
    return (
        f"{UNCERTAIN_MARK} rests on {readout.accelerator.name} catalog figures not confirmed by a "
        f"primary source: {', '.join(fields)}."
    )


class ReadoutsPane(VerticalScroll):
    """Every figure of the evaluated scenario, formatted; see the module docstring. The pane is
    its own scroll container: every container level renders each of its lines on every full
    frame, covered or not, so one level fewer is a faster first frame."""

    DEFAULT_CSS = """
    ReadoutsPane {
        height: 1fr;
        width: 1fr;
    }
    ReadoutsPane .readouts-section {
        padding: 0 1;
        margin-bottom: 1;
        height: auto;
    }
    ReadoutsPane #readouts-header {
        padding: 0 1;
        text-style: bold;
        color: $text;
        background: $panel;
    }
    ReadoutsPane #memory-heading {
        padding: 0 1;
    }
    ReadoutsPane MemoryBar {
        margin-bottom: 1;
    }
    ReadoutsPane #readouts-notes {
        padding: 0 1;
        color: $text-muted;
    }
    """

    _shown: tuple[Scenario, Readout, tuple[Scenario, Readout] | None] | None = None

    def compose(self) -> ComposeResult:
        yield FigureText(id="readouts-header")
        yield FigureText(id="parameters", classes="readouts-section")
        yield FigureText(id="memory-heading")
        yield MemoryBar(id="training-memory")
        yield MemoryBar(id="serving-memory")
        yield FigureText(id="training", classes="readouts-section")
        yield FigureText(id="serving", classes="readouts-section")
        yield FigureText(id="readouts-notes")

    def on_resize(self) -> None:
        # In compare mode the change column's form follows the width (see show), once the
        # sections have their new width.
        if self._shown is not None and self._shown[2] is not None:
            self.call_after_refresh(self.show, *self._shown)

    def show(
        self,
        scenario: Scenario,
        readout: Readout,
        pinned: tuple[Scenario, Readout] | None = None,
    ) -> None:
        """Show `readout` (of `scenario`); with `pinned`, beside the pinned A and the change."""
        self._shown = (scenario, readout, pinned)
        compare = pinned is not None
        pinned_readout = pinned[1] if pinned is not None else None
        self.set_class(compare, "-compare")
        # Beside the builder and the curves the pane is ~62 cells: a full change column would
        # wrap every compare line. (No width yet: hidden, or before the first layout.)
        text_cells = self.query_one("#training", FigureText).content_region.width
        relative_only = 0 < text_cells < COMPARE_LINE_CELLS

        header = f"{scenario.model.name} on {_accelerator_text(scenario, readout)}"
        if pinned is not None:
            header = f"B: {header}\nA: {pinned[0].model.name} on {_accelerator_text(*pinned)}"
            header += "\n" + changed_settings(pinned[0], scenario)
        self.query_one("#readouts-header", FigureText).update(Content(header))

        def section(widget_id: str, title: str, build: Callable[[Readout], list[Figure]]) -> None:
            lines = figure_lines(
                readout,
                build(readout),
                (pinned_readout, build(pinned_readout)) if pinned_readout is not None else None,
                relative_only=relative_only,
            )
            self.query_one(f"#{widget_id}", FigureText).update(_section(title, lines, compare))

        if pinned_readout is not None and pinned_readout.params != readout.params:
            section("parameters", "Parameters", parameter_figures)
        else:
            # Alone, or compared with the same model: the short form (A's counts are the same).
            same = " (A: the same)" if pinned_readout is not None else ""
            self.query_one("#parameters", FigureText).update(compact_parameters(readout, same))

        heading = Content.styled("Memory per accelerator", "bold $primary")
        capacity_mark = UNCERTAIN_MARK if set(_MEMORY) & set(readout.accelerator.uncertain) else ""
        heading = Content("").join(
            [
                heading,
                Content(
                    f"  {readout.accelerator.name}, {capacity_mark}"
                    f"{format_bytes(readout.accelerator.memory_bytes)}"
                ),
            ]
        )
        self.query_one("#memory-heading", FigureText).update(heading)
        self.query_one("#training-memory", MemoryBar).show(
            training_bar(scenario, readout, pinned_readout)
        )
        self.query_one("#serving-memory", MemoryBar).show(
            serving_bar(scenario, readout, pinned_readout)
        )

        self.query_one("#training", FigureText).update(
            _section(
                training_title(scenario, readout),
                [*layout_lines(readout), *step_bar_lines(readout)]
                + figure_lines(
                    readout,
                    training_figures(readout),
                    (pinned_readout, training_figures(pinned_readout))
                    if pinned_readout is not None
                    else None,
                    relative_only=relative_only,
                ),
                compare,
            )
        )
        s = scenario.serving
        overridden = [
            name
            for name, value in (
                ("compute", s.compute_efficiency),
                ("bandwidth", s.bandwidth_efficiency),
            )
            if value is not None
        ]
        override = f", {' and '.join(overridden)} efficiency typed in" if overridden else ""
        section(
            "serving",
            f"Serving  {s.prompt_tokens:,} in + {s.output_tokens:,} out, batch {s.batch_size:,}, "
            f"{s.weight_dtype}, decode {readout.serving.decode_bound}-bound{override}",
            serving_figures,
        )

        notes = [uncertainty_note(readout)]
        if (
            pinned_readout is not None
            and pinned_readout.accelerator.uncertain
            and pinned_readout.accelerator != readout.accelerator
        ):
            notes.append("A: " + uncertainty_note(pinned_readout))
        price = readout.training.price_source if readout.training is not None else None
        if price is not None:
            notes.append(
                f"Price: {price}."
                if price != "none"
                else "No price known: set cluster.price_usd_per_hour."
            )
        self.query_one("#readouts-notes", FigureText).update(
            Content("\n").join([Content(note) for note in notes if note])
        )
