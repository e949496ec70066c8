"""The parallelism planner as a modal screen: the fastest layouts that fit, one to apply.

Dismisses with the dotted-key updates of the chosen plan (`engine.planner.plan_updates`), which the
app applies to its Scenario, or with None when closed. The screen only formats: the search is done
by `engine.planner.search_plans` before it opens.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from llmscope.engine.planner import PlanSearch, plan_updates
from llmscope.engine.scenario import Scenario
from llmscope.presets.report import PLAN_COLUMNS, current_layout_line, plan_row


class PlannerScreen(ModalScreen[dict[str, Any] | None]):
    """Top plans for the scenario's model and cluster; Enter applies one, Escape closes."""

    DEFAULT_CSS = """
    PlannerScreen {
        align: center middle;
    }
    PlannerScreen > #planner-dialog {
        width: auto;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    PlannerScreen #planner-dialog > Static {
        /* The dialog is as wide as its widest line: the table's, or with no plan the texts' */
        width: auto;
        max-width: 100%;
    }
    PlannerScreen #planner-title {
        text-style: bold;
        color: $primary;
    }
    PlannerScreen #planner-message {
        color: $text-muted;
        margin-bottom: 1;
    }
    PlannerScreen #planner-message.-none-fits {
        color: $error;
    }
    PlannerScreen DataTable {
        height: auto;
        max-height: 16;
        width: auto;
    }
    PlannerScreen #planner-keys {
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding(
            "escape",
            "close",
            "Close",
            tooltip="Close the planner without changing the scenario",
            id="planner.close",
        ),
        Binding(
            "enter",
            "apply",
            "Apply",
            tooltip="Apply the highlighted plan's layout to the scenario",
            id="planner.apply",
        ),
    ]

    def __init__(self, scenario: Scenario, search: PlanSearch) -> None:
        super().__init__()
        self.scenario = scenario
        self.search = search

    def compose(self) -> ComposeResult:
        cluster = self.scenario.cluster
        with Vertical(id="planner-dialog"):
            yield Static(
                f"Parallelism plans: {self.scenario.model.name} on {cluster.count} x "
                f"{cluster.accelerator} ({cluster.per_node} per node)",
                id="planner-title",
                markup=False,
            )
            message = Static(self.search.message, id="planner-message", markup=False)
            if not self.search.plans:
                message.add_class("-none-fits")
            yield message
            yield Static(current_layout_line(self.search), id="planner-current", markup=False)
            if self.search.plans:
                yield DataTable(id="planner-table", cursor_type="row", zebra_stripes=True)
                yield Static("enter apply  esc close", id="planner-keys")
            else:
                yield Static("esc close", id="planner-keys")

    def on_mount(self) -> None:
        if not self.search.plans:
            return
        table = self.query_one(DataTable)
        for label, _meaning in PLAN_COLUMNS:
            table.add_column(label, key=label)
        for i, plan in enumerate(self.search.plans):
            table.add_row(*plan_row(plan), key=str(i))
        table.focus()

    def _apply(self, row: int) -> None:
        if 0 <= row < len(self.search.plans):
            self.dismiss(plan_updates(self.search.plans[row]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._apply(event.cursor_row)

    def action_apply(self) -> None:
        if self.search.plans:
            self._apply(self.query_one(DataTable).cursor_row)

    def action_close(self) -> None:
        self.dismiss(None)
