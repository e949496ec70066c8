"""The hardware picker: the accelerator catalog as a filterable table, and the cluster's settings.

Typing in the filter narrows the table (by id, name or vendor); Enter or a click on a row posts
`AcceleratorChosen`. Figures the catalog marks uncertain carry a "~".
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from llmscope.engine.hardware import Accelerator, Catalog
from llmscope.engine.scenario import Scenario
from llmscope.presets.numbers import format_usd
from llmscope.tui.widgets.builder import CLUSTER_KEYS, FieldEditor
from llmscope.tui.widgets.keys import OrderedInput

UNCERTAIN_MARK = "~"

COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (header, Accelerator field, format)
    ("accelerator", "name", "{}"),
    ("GB", "memory_gb", "{:g}"),
    ("TB/s", "memory_bandwidth_gbs", "{:.2f}"),
    ("bf16 TF", "bf16_tflops", "{:g}"),
    ("fp8 TF", "fp8_tflops", "{:g}"),
    ("$/h", "price_usd_per_hour", "usd"),
)


def accelerator_cells(accelerator: Accelerator) -> tuple[str, ...]:
    cells = []
    for _, field, pattern in COLUMNS:
        value = getattr(accelerator, field)
        if value is None:
            cells.append("—")
            continue
        if field == "memory_bandwidth_gbs":
            value = value / 1000
        text = format_usd(value) if pattern == "usd" else pattern.format(value)
        if field != "name" and accelerator.is_uncertain(field):
            text = UNCERTAIN_MARK + text
        cells.append(text)
    return tuple(cells)


def matches(accelerator: Accelerator, text: str) -> bool:
    words = text.lower().split()
    haystack = " ".join((accelerator.id, accelerator.name, accelerator.vendor)).lower()
    return all(word in haystack for word in words)


class AcceleratorChosen(Message):
    def __init__(self, accelerator_id: str) -> None:
        super().__init__()
        self.accelerator_id = accelerator_id


class HardwarePicker(Vertical):
    """Filter, catalog table, the chosen accelerator and the cluster's fields."""

    def __init__(self, catalog: Catalog, scenario: Scenario | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.catalog = catalog
        self.scenario = scenario
        self._shown: Accelerator | None = None

    def compose(self) -> ComposeResult:
        yield OrderedInput(
            placeholder="type to filter: h100, amd, tpu …", id="hardware-filter", compact=True
        )
        table = DataTable(id="hardware-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*(header for header, _, _ in COLUMNS))
        yield table
        yield Static("", id="hardware-current", markup=False)
        yield FieldEditor((("Cluster", CLUSTER_KEYS),), self.scenario, id="cluster-editor")

    def on_mount(self) -> None:
        self._fill("")
        self._show_current()

    def _fill(self, text: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for accelerator in self.catalog:
            if matches(accelerator, text):
                table.add_row(*accelerator_cells(accelerator), key=accelerator.id)
        self._move_cursor_to_current()

    def _move_cursor_to_current(self) -> None:
        table = self.query_one(DataTable)
        if self._shown is not None and self._shown.id in table.rows:
            table.move_cursor(row=table.get_row_index(self._shown.id), scroll=True)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "hardware-filter":
            event.stop()
            self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "hardware-filter":
            event.stop()
            table = self.query_one(DataTable)
            if table.row_count == 1:
                self.post_message(AcceleratorChosen(str(next(iter(table.rows)).value)))
            else:
                table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(AcceleratorChosen(event.row_key.value))

    def show_accelerator(self, accelerator: Accelerator) -> None:
        if accelerator == self._shown:
            return  # every edit calls this; a Static in a hidden tab lays out the whole screen
        self._shown = accelerator
        if self.is_mounted:
            self._show_current()

    def _show_current(self) -> None:
        accelerator = self._shown
        if accelerator is None:
            return
        note = (
            f"  ({UNCERTAIN_MARK} = not confirmed from a primary source)"
            if accelerator.uncertain
            else ""
        )
        price = (
            f", {format_usd(accelerator.price_usd_per_hour)}/h ({accelerator.price_date})"
            if accelerator.price_usd_per_hour is not None
            else ", no public price: set cluster price"
        )
        self.query_one("#hardware-current", Static).update(
            f"Using {accelerator.name}: {accelerator.memory_gb:g} GB, "
            f"{accelerator.bf16_tflops:g} bf16 TFLOP/s{price}{note}"
        )
        self._move_cursor_to_current()
