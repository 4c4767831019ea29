"""The body of the statistics worker: call the analysis layer, report through messages.

Runs in a thread. It never touches widgets; it posts StatsProgressed / StatsComputed /
StatsFailed to `target`, whose handlers (on the event loop) update the pane. Unedited tensors
are read in place from the file; edited ones from the session's private copy (`job.tensor`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message_pump import MessagePump

from paramtui.core.errors import ParamtuiError
from paramtui.tui.messages import StatsComputed, StatsFailed, StatsProgressed
from paramtui.tui.views.stats_job import StatsJob

if TYPE_CHECKING:
    from paramtui.analysis.stats.compute import TensorStats

PROGRESS_EVERY_S = 0.1  # at most ten progress messages a second


def run_stats(job: StatsJob, target: MessagePump, is_cancelled: Callable[[], bool]) -> None:
    name = job.info.name
    try:  # imports torch: the first call waits for the background import to finish
        from paramtui.analysis.stats.compute import StatsCancelled
    except ImportError as exc:
        target.post_message(StatsFailed(name, f"statistics are unavailable: {exc}"))
        return
    try:
        stats = compute_job(job, _throttled(name, target), is_cancelled)
    except StatsCancelled:
        return
    except ParamtuiError as exc:
        target.post_message(StatsFailed(name, str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - an unexpected file must not take the UI down
        target.post_message(StatsFailed(name, f"statistics failed: {exc!r}"))
        return
    if not is_cancelled():
        target.post_message(StatsComputed(name, stats, job.version))


def compute_job(
    job: StatsJob, progress: Callable[[float], None] | None, is_cancelled: Callable[[], bool]
) -> TensorStats:
    """The statistics of one job (in the calling thread; imports torch)."""
    from paramtui.analysis.stats.compute import compute_stats, tensor_stats

    if job.tensor is None:
        return compute_stats(job.info, bins=job.bins, progress=progress, should_cancel=is_cancelled)
    return tensor_stats(
        job.info.name, job.tensor, bins=job.bins, progress=progress, should_cancel=is_cancelled
    )


def _throttled(name: str, target: MessagePump) -> Callable[[float], None]:
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            target.post_message(StatsProgressed(name, fraction))

    return report
