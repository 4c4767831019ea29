"""The detail pane's numbers for the tensor under the cursor: its statistics and what the
file's optimizer state says about it.

Cached results show at once; otherwise a worker starts once the cursor has rested on the
tensor for STATS_DELAY_S, and a new highlight cancels the stale one (holding the down key
across 2,000 tensors computes one histogram, not 2,000)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol

from textual.timer import Timer

from paramtui.core.model import TensorInfo
from paramtui.tui.messages import OptimizerSummarised, StatsComputed, StatsFailed, StatsProgressed
from paramtui.tui.screens.main.host import ScreenHost
from paramtui.tui.views.stats_job import StatsJob
from paramtui.tui.widgets.describe_optimizer import optimizer_section

STATS_DELAY_S = 0.12  # the cursor must rest this long on a tensor before its stats start


class StatsHost(ScreenHost, Protocol):
    torch_ready: bool

    def compute_stats(self, job: StatsJob) -> object: ...

    def summarise_optimizer(self, name: str) -> object: ...


class StatisticsController:
    """Which tensor's statistics are wanted, and what the workers' reports mean for the pane."""

    def __init__(self, host: StatsHost, values_settled: Callable[[], bool]) -> None:
        self.host = host
        self._values_settled = values_settled  # False while an edit may be changing values
        self._wanted: TensorInfo | None = None  # the tensor whose statistics are on show
        self._timer: Timer | None = None
        self._stopped = False  # stopped for a view that reads the data itself

    def want(self, info: TensorInfo | None) -> None:
        """Show cached stats at once; otherwise start a worker once the cursor rests."""
        host = self.host
        self._stop_timer()
        host.cancel_workers("stats")
        host.cancel_workers("optimizer")
        self._wanted = info
        if info is None:
            return
        if not self._show_optimizer(info.name):
            host.set_timer(STATS_DELAY_S, partial(self._start_optimizer, info))
        cached = host.opened.stats(info.name)
        if cached is not None:
            host.detail.show_stats(cached)
            return
        host.detail.show_pending("" if host.torch_ready else "(loading torch)")
        self._timer = host.set_timer(STATS_DELAY_S, partial(self._start_stats, info))

    def want_current(self) -> None:
        node = self.host.current_node()
        self.want(node.tensor if node is not None else None)

    def stop(self) -> None:
        """Stop the statistics worker while another screen reads tensor data (the value grid,
        the histogram, the scan): they would compete for the CPU. `resume` starts it again."""
        self._stop_timer()
        self.host.cancel_workers("stats")
        self._stopped = True

    def resume(self) -> None:
        if self._stopped:
            self._stopped = False
            self.want_current()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    def _start_stats(self, info: TensorInfo) -> None:
        if self._values_settled():  # else the edit's end asks for the statistics again
            self.host.compute_stats(self.host.opened.stats_job(info))  # the edited value, now

    def _is_wanted(self, name: str, version: int | None = None) -> bool:
        wanted = self._wanted
        if wanted is None or wanted.name != name:
            return False
        return version is None or version == self.host.opened.version(name)

    # -- what the workers report -------------------------------------------------------------

    def progressed(self, message: StatsProgressed) -> None:
        if self._is_wanted(message.name):
            self.host.detail.show_progress(message.fraction)

    def computed(self, message: StatsComputed) -> None:
        self.host.opened.remember(message.name, message.version, message.stats)
        if self._is_wanted(message.name, message.version):
            self.host.detail.show_stats(message.stats)

    def failed(self, message: StatsFailed) -> None:
        if self._is_wanted(message.name):
            self.host.detail.show_error(message.reason)

    # -- the optimizer's view of the selected parameter (from the file's state) ---------------

    def _show_optimizer(self, name: str) -> bool:
        """Show the cached optimizer section of `name`; False when it is not computed yet."""
        cached = self.host.opened.optimizer_summaries.get(name)
        if cached is not None:
            self.host.detail.show_optimizer(optimizer_section(cached[0], name, cached[1]))
        return cached is not None

    def _start_optimizer(self, info: TensorInfo) -> None:
        if self._is_wanted(info.name):
            self.host.summarise_optimizer(info.name)

    def optimizer_summarised(self, message: OptimizerSummarised) -> None:
        self.host.opened.optimizer_summaries[message.name] = (message.summary, message.note)
        if self._is_wanted(message.name):
            self._show_optimizer(message.name)
