"""One line of headline figures under every layout, so an edit's effect is visible even when the
builder fills a narrow terminal: parameters, whether training and serving fit, time, dollars and
serving speed."""

from __future__ import annotations

from textual.content import Content

from llmscope.engine.evaluate import Readout
from llmscope.presets.numbers import format_count, format_seconds, format_usd
from llmscope.tui.widgets.bars import STATUS_VARIABLES, STATUS_WORDS
from llmscope.tui.widgets.figures import FigureText


# How much the line says, most first: a narrow terminal gets the fullest form that fits on one
# line (the readouts pane has every figure at full length).
FULL, NO_TARGET, TERSE = 0, 1, 2
# The fit words of the terse form: "does not fit" is an out-of-memory, in the field's word.
TERSE_STATUS_WORDS = {"fits": "fits", "tight": "tight", "over": "OOM"}


def summary_content(readout: Readout, detail: int = FULL) -> Content:
    """ "46.7B params (12.9B active) · train: does not fit, 34.6 days, $2.0M · serve: fits, TP2
    x96 at ≥20 tok/s/user, $0.61/1M out" with the fit words in the theme's fit colours; a dense
    model's active count equals its total and is left out. The serving figures are the cheapest
    tensor parallel and batch at serving.min_tokens_per_s_per_user (the frontier's best point).
    NO_TARGET leaves out the per-user target; TERSE also the words between the figures
    ("46.7B (12.9B act) · train OOM 34.6d $2.0M · serve fits TP2 x96 $0.61/1M")."""
    terse = detail >= TERSE
    words = TERSE_STATUS_WORDS if terse else STATUS_WORDS
    params = readout.params
    training = readout.training
    active = (
        f" ({format_count(params.active)} act{'' if terse else 'ive'})" if params.sparse else ""
    )
    noun, colon, comma = ("", "", "") if terse else (" params", ":", ",")
    parts: list[Content | str] = [f"{format_count(params.total)}{noun}{active} · train{colon} "]
    fit = readout.training_fit.status
    parts.append(Content.styled(words[fit], STATUS_VARIABLES[fit]))
    if training is None:
        field = readout.training_problems[0].field if readout.training_problems else "layout"
        which = "" if terse else f" ({field})"  # the field itself says which, in red
        parts.append(f"{comma} invalid layout{which} · serve{colon} ")
    else:
        cost = "no price" if training.cost_usd is None else format_usd(training.cost_usd)
        time = format_seconds(training.wall_clock_s, short=terse)
        parts.append(f"{comma} {time}{comma} {cost} · serve{colon} ")
    fit = readout.serving_fit.status
    parts.append(Content.styled(words[fit], STATUS_VARIABLES[fit]))
    parts.append(serving_headline(readout, detail))
    return Content.assemble(*parts)


def serving_headline(readout: Readout, detail: int = FULL) -> str:
    """The cheapest setup at serving.min_tokens_per_s_per_user (", TP4 x155 at ≥20 tok/s/user,
    $1.07/1M out"), or the scenario's own point when no TP and batch reaches that speed; shorter
    at a lower `detail` (see summary_content)."""
    terse = detail >= TERSE
    comma, out = ("", "") if terse else (",", " out")
    frontier = readout.serving_frontier
    best = frontier.best_at_target
    point = readout.serving if best is None else best
    price = point.usd_per_million_output_tokens_all_in
    per_million = "" if price is None else f"{comma} {format_usd(price)}/1M{out}"
    if best is None:
        speed = format_count(readout.serving.decode_tokens_per_s)
        return f"{comma} {speed} tok/s/user{per_million}"
    target = format_count(frontier.min_tokens_per_s_per_user)
    at_target = f" at ≥{target} tok/s/user" if detail == FULL else ""
    return f"{comma} TP{best.tensor_parallel} x{best.batch}{at_target}{per_million}"


def summary_for_width(readout: Readout, modified: bool, width: int) -> Content:
    """The fullest form of the line (see summary_content) that fits in `width` cells, after
    "● modified ·" when the scenario differs from its preset; the word "modified" goes last, to
    a dot, as editors mark an unsaved file. The shortest form if none fits."""
    for detail, mark in (
        (FULL, "● modified ·"),
        (NO_TARGET, "● modified ·"),
        (TERSE, "● modified ·"),
        (TERSE, "●"),
    ):
        content = summary_content(readout, detail)
        if modified:
            content = Content.assemble(Content.styled(mark, "bold $warning"), " ", content)
        if content.cell_length <= width:
            break
    return content


class SummaryLine(FigureText):
    DEFAULT_CSS = """
    SummaryLine {
        height: auto;
        padding: 0 1;
        background: $panel;
    }
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[Readout, bool] | None = None

    def show(self, readout: Readout, modified: bool = False) -> None:
        """The headline figures, after "● modified" when the scenario differs from its preset,
        in the fullest form that fits on one line at the widget's width (the longest line, if
        even the shortest form is wider)."""
        self._shown = (readout, modified)
        width = self.content_region.width or self.app.size.width - 2
        self.update(summary_for_width(readout, modified, width))

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)
