"""One line of headline figures under every layout, so an edit's effect is visible even when the
builder fills a narrow terminal: parameters, whether training and serving fit, time, dollars and
serving speed."""

from __future__ import annotations

from textual.content import Content

from llmscope.engine.evaluate import Readout
from llmscope.presets.numbers import format_count, format_seconds, format_usd
from llmscope.tui.widgets.bars import STATUS_VARIABLES, STATUS_WORDS
from llmscope.tui.widgets.figures import FigureText


def summary_content(readout: Readout) -> Content:
    """"46.7B params (12.9B active) · train: does not fit, 34.6 days, $2.0M · serve: fits, TP2
    x96 at ≥20 tok/s/user, $0.61/1M out" with the fit words in the theme's fit colours; a dense
    model's active count equals its total and is left out. The serving figures are the cheapest
    tensor parallel and batch at serving.min_tokens_per_s_per_user (the frontier's best point)."""
    params = readout.params
    training = readout.training
    active = f" ({format_count(params.active)} active)" if params.sparse else ""
    parts: list[Content | str] = [f"{format_count(params.total)} params{active} · train: "]
    fit = readout.training_fit.status
    parts.append(Content.styled(STATUS_WORDS[fit], STATUS_VARIABLES[fit]))
    if training is None:
        field = readout.training_problems[0].field if readout.training_problems else "layout"
        parts.append(f", invalid layout ({field}) · serve: ")
    else:
        cost = "no price" if training.cost_usd is None else format_usd(training.cost_usd)
        parts.append(f", {format_seconds(training.wall_clock_s)}, {cost} · serve: ")
    fit = readout.serving_fit.status
    parts.append(Content.styled(STATUS_WORDS[fit], STATUS_VARIABLES[fit]))
    parts.append(serving_headline(readout))
    return Content.assemble(*parts)


def serving_headline(readout: Readout) -> str:
    """The cheapest setup at serving.min_tokens_per_s_per_user (", TP4 x155 at ≥20 tok/s/user,
    $1.07/1M out"), or the scenario's own point when no TP and batch reaches that speed."""
    frontier = readout.serving_frontier
    best = frontier.best_at_target
    if best is None:
        serving = readout.serving
        price = serving.usd_per_million_output_tokens_all_in
        per_million = "" if price is None else f", {format_usd(price)}/1M out"
        return f", {format_count(serving.decode_tokens_per_s)} tok/s/user{per_million}"
    price = best.usd_per_million_output_tokens_all_in
    per_million = "" if price is None else f", {format_usd(price)}/1M out"
    target = format_count(frontier.min_tokens_per_s_per_user)
    return f", TP{best.tensor_parallel} x{best.batch} at ≥{target} tok/s/user{per_million}"


class SummaryLine(FigureText):
    DEFAULT_CSS = """
    SummaryLine {
        height: auto;
        padding: 0 1;
        background: $panel;
    }
    """

    def show(self, readout: Readout, modified: bool = False) -> None:
        """The headline figures, after "● modified" when the scenario differs from its preset."""
        content = summary_content(readout)
        if modified:
            content = Content.assemble(Content.styled("● modified", "bold $warning"), " · ", content)
        self.update(content)
