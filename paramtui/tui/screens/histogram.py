"""`h`: the full histogram of one tensor: a bin per column (32..256), log-count toggle, quantile
ticks, zero line.

The statistics are computed again with more bins by the same worker body as the detail pane's
(run_stats), on the file's bytes or on the session's edited value; the screen only shows them."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from paramtui.tui.messages import StatsComputed, StatsFailed, StatsProgressed
from paramtui.tui.tasks.stats import run_stats
from paramtui.tui.views import fmt
from paramtui.tui.views.edit_marks import EDITED
from paramtui.tui.views.histogram_draw import QUANTILES, HistogramInput
from paramtui.tui.views.stats_job import StatsJob
from paramtui.tui.views.value_format import formatter
from paramtui.tui.widgets.footer import PinnedFooter
from paramtui.tui.widgets.histogram_plot import HistogramPlot

if TYPE_CHECKING:
    from paramtui.analysis.stats.compute import TensorStats

MIN_BINS, MAX_BINS = 32, 256
PLOT_MARGIN = 2  # columns of padding around the plot


def bins_for(width: int) -> int:
    """One bin per column of the plot: the finest histogram the terminal can show."""
    return min(max(width - PLOT_MARGIN, MIN_BINS), MAX_BINS)


def quantiles_of(stats: TensorStats) -> dict[float, float] | None:
    """The statistics' quantiles when the engine computed them (older results have none)."""
    found = getattr(stats, "quantiles", None)
    return dict(found) if found else None


def histogram_input(stats: TensorStats) -> HistogramInput | None:
    if not stats.histogram_counts or stats.min is None or stats.max is None:
        return None
    return HistogramInput(
        edges=stats.histogram_edges,
        counts=stats.histogram_counts,
        low=stats.min,
        high=stats.max,
        quantiles=quantiles_of(stats),
        label=formatter(stats.dtype),
    )


def summary_text(stats: TensorStats, log: bool) -> Text:
    """`128 bins · 1,024 finite values · tallest bin 57 · counts: linear (l: log scale)`."""
    peak = max(stats.histogram_counts, default=0)
    text = Text(f"{len(stats.histogram_counts)} bins · {fmt.grouped(stats.finite_count)} finite ")
    text.append(f"values · tallest bin {fmt.grouped(peak)} · counts: ")
    text.append("log scale" if log else "linear", style="bold")
    text.append("  (l toggles)", style="dim")
    text.append("\n")
    text.append(moments_text(stats))
    left_out = stats.nan + stats.posinf + stats.neginf
    if left_out:
        what = f"{fmt.grouped(stats.nan)} NaN, {fmt.grouped(stats.posinf + stats.neginf)} ±Inf"
        text.append(f"\nnot drawn: {what}", style="bold")
    return text


def moments_text(stats: TensorStats) -> Text:
    """`mean 0.001 · std 0.05 (population: ÷ n) · min -0.2 · max 0.21` of the finite values."""
    text = Text()
    for label, value in (("mean", stats.mean), ("std", stats.std)):
        text.append(f"{label} ", style="bold")
        text.append(fmt.number(value))
        text.append(" · " if label == "mean" else "")
    text.append(" (population: ÷ n, not n − 1)", style="dim")
    return text


def quantile_text(stats: TensorStats) -> Text:
    """Each quantile's value (the ticks' labels are percentages) and how exact they are."""
    found = quantiles_of(stats)
    if not found:
        return Text("quantiles: not available for this tensor", style="italic")
    error = getattr(stats, "quantile_error", None)
    exact = error == 0
    show = formatter(stats.dtype) if exact else fmt.number
    text = Text("quantiles ", style="bold")
    for percent in QUANTILES:
        if percent in found:
            text.append(f" {percent:g}%", style="dim")
            text.append(f" {show(found[percent])}")
    if exact:
        text.append("  (exact)", style="dim")
    elif error is not None:
        text.append(f"  (each within ±{fmt.number(error)})", style="dim")
    return text


class HistogramScreen(Screen[None]):
    """One tensor's histogram, as large as the terminal allows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "toggle_log", "Log counts", id="histogram.log"),
        Binding("escape,q,h", "close", "Close", id="histogram.close"),
    ]

    def __init__(self, job: StatsJob, edited: bool = False) -> None:
        super().__init__()
        self.job = job
        self.edited = edited
        self.stats: TensorStats | None = None

    def compose(self) -> ComposeResult:
        info = self.job.info
        title = Text(fmt.printable(info.name), style="bold")
        title.append(f"  {info.dtype}  {list(info.shape)}", style="dim")
        if self.edited:
            title.append(f"  {EDITED} edited values", style="bold")
        yield Static(title, id="histogram-title")
        yield Static(Text("computing…", style="italic"), id="histogram-summary")
        yield HistogramPlot(id="histogram-plot")
        yield Static(id="histogram-quantiles")
        yield Static(id="histogram-notes")
        yield PinnedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.job = replace(self.job, bins=bins_for(self.app.size.width))
        self.compute()

    @work(thread=True, exclusive=True, group="histogram")
    def compute(self) -> None:
        worker = get_current_worker()
        run_stats(self.job, self, lambda: worker.is_cancelled)

    def on_stats_progressed(self, message: StatsProgressed) -> None:
        self._summary(Text(f"computing… {message.fraction:.0%}", style="italic"))

    def on_stats_failed(self, message: StatsFailed) -> None:
        self._summary(Text(message.reason, style="italic"))

    def on_stats_computed(self, message: StatsComputed) -> None:
        stats = self.stats = message.stats
        plot = self.query_one(HistogramPlot)
        plot.data = histogram_input(stats)
        if plot.data is None:
            self._summary(Text("No finite values: there is nothing to draw.", style="italic"))
        else:
            self._summary(summary_text(stats, plot.log_scale))
            self.query_one("#histogram-quantiles", Static).update(quantile_text(stats))
        notes = "\n".join(f"· {note}" for note in stats.notes)
        self.query_one("#histogram-notes", Static).update(Text(notes, style="italic"))

    def _summary(self, text: Text) -> None:
        self.query_one("#histogram-summary", Static).update(text)

    def action_toggle_log(self) -> None:
        plot = self.query_one(HistogramPlot)
        plot.log_scale = not plot.log_scale
        if self.stats is not None and plot.data is not None:
            self._summary(summary_text(self.stats, plot.log_scale))

    def action_close(self) -> None:
        self.dismiss()
