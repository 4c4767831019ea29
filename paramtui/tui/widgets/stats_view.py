"""The statistics section of the detail pane: a table of numbers and a Sparkline histogram.

It only displays a TensorStats (computed by a worker in the screen); no number is computed here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from paramtui.tui.views import fmt

if TYPE_CHECKING:
    from paramtui.analysis.stats.compute import TensorStats


def stats_table(stats: TensorStats) -> Table:
    """mean/std/min/max/mean |x|/L2 and the zero, NaN and Inf counts, two pairs per row."""
    table = Table.grid(padding=(0, 1))
    for style in ("dim", "", "dim", ""):
        table.add_column(style=style, no_wrap=True)
    table.add_row("mean", fmt.number(stats.mean), "std", fmt.number(stats.std))
    table.add_row("min", fmt.number(stats.min), "max", fmt.number(stats.max))
    table.add_row("mean |x|", fmt.number(stats.abs_mean), "L2", fmt.number(stats.l2))
    zeros = f"{fmt.grouped(stats.zeros)} ({stats.zero_fraction:.2%})"
    table.add_row("zeros", zeros, "NaN", _count(stats.nan))
    table.add_row("+Inf", _count(stats.posinf), "-Inf", _count(stats.neginf))
    quantiles = getattr(stats, "quantiles", None)  # results from before quantiles have none
    if quantiles:
        for low, high in ((1.0, 99.0), (25.0, 75.0)):
            table.add_row(
                f"p{low:g}", _quantile(quantiles, low), f"p{high:g}", _quantile(quantiles, high)
            )
        table.add_row("median", _quantile(quantiles, 50.0), "", "")
    return table


def _quantile(quantiles: dict[float, float], percent: float) -> str:
    return fmt.number(quantiles.get(percent))


def _count(n: int) -> Text:
    return Text(fmt.grouped(n), style="bold reverse" if n else "")


def notes_text(stats: TensorStats) -> Text:
    return Text("\n".join(f"· {note}" for note in stats.notes), style="italic")


def axis_table(stats: TensorStats) -> Table:
    """The histogram's range under the sparkline: low edge, bin count, high edge."""
    edges, counts = stats.histogram_edges, stats.histogram_counts
    table = Table.grid(expand=True)
    table.add_column(justify="left")
    table.add_column(justify="center", style="dim")
    table.add_column(justify="right")
    middle = f"{len(counts)} bins, peak {fmt.grouped(max(counts))}" if counts else ""
    low, high = (edges[0], edges[-1]) if edges else (None, None)
    table.add_row(fmt.number(low), middle, fmt.number(high))
    return table


class StatsView(Vertical):
    """Shows one tensor's statistics, or where their computation is."""

    def compose(self) -> ComposeResult:
        yield Static(Text("Statistics", style="bold underline"), id="stats-title")
        yield Static(id="stats-status")
        with Vertical(id="stats-result"):
            yield Static(id="stats-table")
            yield Static(id="stats-notes")
            yield Sparkline([], id="histogram")
            yield Static(id="histogram-axis")

    def show_pending(self, note: str = "") -> None:
        self._status(f"computing…{'  ' + note if note else ''}")

    def show_progress(self, fraction: float) -> None:
        self._status(f"computing… {fraction:.0%}")

    def show_error(self, reason: str) -> None:
        self._status(reason)

    def _status(self, text: str) -> None:
        """Only the status line changes while waiting: moving the cursor stays cheap."""
        status = self.query_one("#stats-status", Static)
        status.update(Text(text, style="italic"))
        status.display = True
        self.query_one("#stats-result").display = False

    def show_stats(self, stats: TensorStats) -> None:
        self.query_one("#stats-status").display = False
        self.query_one("#stats-table", Static).update(stats_table(stats))
        notes = self.query_one("#stats-notes", Static)
        notes.update(notes_text(stats))
        notes.display = bool(stats.notes)
        has_histogram = len(stats.histogram_counts) > 1
        histogram = self.query_one("#histogram", Sparkline)
        histogram.data = list(stats.histogram_counts) if has_histogram else []
        axis = self.query_one("#histogram-axis", Static)
        histogram.display = axis.display = has_histogram
        if has_histogram:
            axis.update(axis_table(stats))
        self.query_one("#stats-result").display = True
