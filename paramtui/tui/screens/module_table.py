"""`t`: the tensors of a module in a sortable table (shape, dtype, L2 norm, std, zeros, flags).

A screen of its own rather than a part of the detail pane: seven columns need the whole width
(the pane has half of 80 columns), the table takes the keyboard (cursor, sort keys), and the
statistics worker lives exactly as long as the table is open (Escape cancels it). Enter puts
the tree's cursor on the tensor under the table's cursor."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from paramtui.core.tree import ModuleNode
from paramtui.tui.messages import ModuleRowsComputed
from paramtui.tui.tasks.module_rows import RowResult, compute_rows
from paramtui.tui.views import fmt
from paramtui.tui.views.module_rows import (
    COLUMNS,
    MAX_ROWS,
    ModuleRow,
    module_rows,
)
from paramtui.tui.views.stats_job import StatsJob
from paramtui.tui.widgets.footer import PinnedFooter
from paramtui.tui.workspace import Opened

SORT_KEYS = Binding.Group("Sort by column", compact=True)
STAT_COLUMNS = frozenset({"norm", "std", "sparsity", "flags"})


class ModuleTableScreen(Screen[str | None]):
    """Every tensor below one module, one row each; dismisses with the tensor to go to."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(
                str(i),
                f"sort({i - 1})",
                f"Sort by {title}",
                group=SORT_KEYS,
                id=f"table.sort_{key}",
            )  # fmt: skip
            for i, (key, title, _) in enumerate(COLUMNS, 1)
        ),
        Binding("s", "cycle_sort", "Next sort", id="table.cycle_sort"),
        Binding("escape,q,t", "close", "Close", id="table.close"),
    ]

    def __init__(self, node: ModuleNode, opened: Opened) -> None:
        super().__init__()
        self.node = node
        self.opened = opened
        self.rows: dict[str, ModuleRow] = {}
        self.sort_column = "name"
        self.descending = False
        self.pending = 0  # rows still waiting for statistics

    def compose(self) -> ComposeResult:
        title = Text(fmt.printable(self.node.path or "(whole checkpoint)"), style="bold")
        title.append(f"  {fmt.grouped(self.node.num_tensors)} tensors", style="dim")
        yield Static(title, id="table-title")
        yield Static(id="table-status")
        yield DataTable(id="table", cursor_type="row", zebra_stripes=True)
        yield PinnedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for i, (key, title, _) in enumerate(COLUMNS, 1):
            table.add_column(Text(f"{i}·{title}  "), key=key)
        rows = module_rows(self.node, self.opened)
        self.rows = {row.info.name: row for row in rows}
        for row in rows:
            table.add_row(*row.cells(), key=row.info.name)
        jobs = [self.opened.stats_job(r.info) for r in rows if r.stats is None]
        self.pending = len(jobs)
        self._apply_sort(keep_cursor=False)
        if jobs:
            self.compute(jobs)
        table.focus()

    @work(thread=True, exclusive=True, group="module-table")
    def compute(self, jobs: list[StatsJob]) -> None:
        worker = get_current_worker()

        def post(batch: list[RowResult]) -> None:
            self.post_message(ModuleRowsComputed(batch))

        compute_rows(jobs, post, lambda: worker.is_cancelled)

    def on_module_rows_computed(self, message: ModuleRowsComputed) -> None:
        table = self.query_one(DataTable)
        for name, version, stats, failure in message.results:
            row = self.rows[name]
            row.stats, row.failed = stats, failure
            if stats is not None:
                self.opened.remember(name, version, stats)
            for key, cell in row.stat_cells().items():
                table.update_cell(name, key, cell, update_width=True)
        self.pending -= len(message.results)
        if self.sort_column in STAT_COLUMNS:
            self._apply_sort()
        else:
            self._show_status()

    # -- sorting -----------------------------------------------------------------------------

    def action_sort(self, index: int) -> None:
        key, _, numeric = COLUMNS[index]
        if key == self.sort_column:
            self.descending = not self.descending
        else:
            self.sort_column, self.descending = key, numeric
        self._apply_sort(keep_cursor=False)

    def action_cycle_sort(self) -> None:
        keys = [key for key, _, _ in COLUMNS]
        self.action_sort((keys.index(self.sort_column) + 1) % len(keys))

    def _apply_sort(self, keep_cursor: bool = True) -> None:
        """Sort the rows; the cursor stays on its tensor (new statistics arrived) or goes to
        the top (the user chose another order)."""
        table = self.query_one(DataTable)
        here = self.current_name() if keep_cursor else None
        column, descending = self.sort_column, self.descending
        table.sort(
            "name",
            key=lambda cell: self.rows[cell.tensor_name].sort_key(column, descending),
            reverse=descending,
        )
        for i, (key, title, _) in enumerate(COLUMNS, 1):
            arrow = (" ▼" if descending else " ▲") if key == column else "  "
            table.columns[key].label = Text(f"{i}·{title}{arrow}")  # type: ignore[index]
        table.refresh()
        row = table.get_row_index(here) if here is not None else 0
        table.move_cursor(row=row, animate=False, scroll=True)
        self._show_status()

    def current_name(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return key.value

    def _show_status(self) -> None:
        title = next(t for k, t, _ in COLUMNS if k == self.sort_column)
        order = "largest first" if self.descending else "smallest first"
        if self.sort_column in ("name", "dtype"):
            order = "Z to A" if self.descending else "A to Z"
        text = Text(f"sorted by {title}, {order}")
        if self.pending > 0:
            text.append(f" · statistics: {fmt.grouped(self.pending)} to go…", style="italic")
        if self.node.num_tensors > MAX_ROWS:
            shown = f"the first {fmt.grouped(MAX_ROWS)} of {fmt.grouped(self.node.num_tensors)}"
            text.append(f" · showing {shown} tensors (file order)", style="bold")
        text.append(" · enter: go to the tensor", style="dim")
        self.query_one("#table-status", Static).update(text)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(event.row_key.value)

    def action_close(self) -> None:
        self.dismiss(None)
