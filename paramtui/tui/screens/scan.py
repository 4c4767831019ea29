"""`S`: the whole-model health scan. A progress bar while it reads every tensor (Escape cancels),
then the findings, worst first, and the per-layer trends along depth as sparklines.

Enter on a finding (or a trend) dismisses the screen with the tensor's name; the main screen
puts the tree's cursor on it. The report is kept with the opened checkpoint: `S` again shows it
at once, `r` scans again."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, ProgressBar, Static
from textual.worker import get_current_worker

from paramtui.tui.messages import ScanFailed, ScanFinished, ScanProgressed
from paramtui.tui.tasks.scan import run_scan
from paramtui.tui.views import fmt
from paramtui.tui.views.scan_rows import (
    finding_cells,
    finding_detail,
    summary_text,
    trend_cells,
    trend_target,
)
from paramtui.tui.widgets.footer import PinnedFooter
from paramtui.tui.workspace import Opened

if TYPE_CHECKING:
    from paramtui.analysis.scan.run import ScanReport

FINDING_COLUMNS = ("severity", "kind", "tensor", "what")
TREND_COLUMNS = ("pattern", "N", "L2 norm along N", "|max| along N", "norm range")


class ScanScreen(Screen[str | None]):
    """Scan the open checkpoint; dismisses with the name of a tensor to go to, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "rescan", "Scan again", id="scan.rescan"),
        Binding("escape,q", "close", "Close", id="scan.close"),
    ]

    def __init__(self, opened: Opened) -> None:
        super().__init__()
        self.opened = opened
        self.report: ScanReport | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        name = os.path.basename(self.opened.index.path.rstrip("/")) or self.opened.index.path
        yield Static(Text(f"Health scan of {fmt.printable(name)}", style="bold"), id="scan-title")
        with Vertical(id="scan-running"):
            yield ProgressBar(id="scan-progress", show_eta=False)
            yield Static(id="scan-current")
        with Vertical(id="scan-result"):
            yield Static(id="scan-summary")
            yield DataTable(id="scan-findings", cursor_type="row")
            yield Static(id="scan-detail")
            yield Static(Text("Trends across layers", style="bold"), id="scan-trends-title")
            yield DataTable(id="scan-trends", cursor_type="row")
        yield PinnedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#scan-findings", DataTable).add_columns(*FINDING_COLUMNS)
        self.query_one("#scan-trends", DataTable).add_columns(*TREND_COLUMNS)
        if self.opened.scan_report is not None:
            self.show_report(self.opened.scan_report)
        else:
            self.action_rescan()

    # -- running -----------------------------------------------------------------------------

    def action_rescan(self) -> None:
        if self.running:
            return
        self.running = True
        self.query_one("#scan-running").display = True
        self.query_one("#scan-result").display = False
        self.query_one("#scan-current", Static).update(Text("starting…", style="italic"))
        self.refresh_bindings()
        self.scan()

    @work(thread=True, exclusive=True, group="scan")
    def scan(self) -> None:
        worker = get_current_worker()
        run_scan(self.opened.index, self, lambda: worker.is_cancelled)

    def on_scan_progressed(self, message: ScanProgressed) -> None:
        self.query_one(ProgressBar).update(total=max(message.total, 1), progress=message.done)
        text = Text(f"{fmt.size(message.done)} of {fmt.size(message.total)} · ", style="dim")
        text.append(fmt.printable(message.name))
        self.query_one("#scan-current", Static).update(text)

    def on_scan_failed(self, message: ScanFailed) -> None:
        self.running = False
        self.refresh_bindings()
        self.query_one("#scan-current", Static).update(Text(message.reason, style="bold"))

    def on_scan_finished(self, message: ScanFinished) -> None:
        self.running = False
        self.opened.scan_report = message.report
        self.show_report(message.report)

    # -- the report --------------------------------------------------------------------------

    def show_report(self, report: ScanReport) -> None:
        self.report = report
        self.query_one("#scan-running").display = False
        self.query_one("#scan-result").display = True
        self.query_one("#scan-summary", Static).update(summary_text(report, self.opened.dirty))
        findings = self.query_one("#scan-findings", DataTable)
        findings.clear()
        for i, finding in enumerate(report.findings):
            findings.add_row(*finding_cells(finding), key=str(i))
        trends = self.query_one("#scan-trends", DataTable)
        trends.clear()
        for i, trend in enumerate(report.trends):
            trends.add_row(*trend_cells(trend), key=str(i))
        self.query_one("#scan-trends-title").display = bool(report.trends)
        trends.display = bool(report.trends)
        findings.display = bool(report.findings)
        self._describe(0)
        (findings if report.findings else trends).focus()
        self.refresh_bindings()

    def _describe(self, row: int) -> None:
        report, detail = self.report, self.query_one("#scan-detail", Static)
        if report is None or not report.findings:
            detail.display = False
            return
        detail.display = True
        detail.update(finding_detail(report.findings[min(row, len(report.findings) - 1)]))

    @on(DataTable.RowHighlighted, "#scan-findings")
    def _finding_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe(event.cursor_row)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        report, key = self.report, event.row_key.value
        if report is None or key is None:
            return
        if event.data_table.id == "scan-findings":
            names = report.findings[int(key)].names
            if names:
                self.dismiss(names[0])
        else:
            self.dismiss(trend_target(report.trends[int(key)]))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rescan":
            return None if self.running else True
        return True

    def action_close(self) -> None:
        self.workers.cancel_group(self, "scan")
        self.dismiss(None)
