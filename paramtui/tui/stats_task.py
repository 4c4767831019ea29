"""The body of the statistics worker: call the analysis layer, report through messages.

Runs in a thread. It never touches widgets; it posts StatsProgressed / StatsComputed /
StatsFailed to `target`, whose handlers (on the event loop) update the pane."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.message_pump import MessagePump

from paramtui.core.errors import ParamtuiError
from paramtui.core.model import TensorInfo
from paramtui.tui.messages import StatsComputed, StatsFailed, StatsProgressed

PROGRESS_EVERY_S = 0.1  # at most ten progress messages a second


def run_stats(info: TensorInfo, target: MessagePump, is_cancelled: Callable[[], bool]) -> None:
    try:  # imports torch: the first call waits for the background import to finish
        from paramtui.analysis.stats import StatsCancelled, compute_stats
    except ImportError as exc:
        target.post_message(StatsFailed(info.name, f"statistics are unavailable: {exc}"))
        return
    try:
        stats = compute_stats(
            info, progress=_throttled(info.name, target), should_cancel=is_cancelled
        )
    except StatsCancelled:
        return
    except ParamtuiError as exc:
        target.post_message(StatsFailed(info.name, str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - an unexpected file must not take the UI down
        target.post_message(StatsFailed(info.name, f"statistics failed: {exc!r}"))
        return
    if not is_cancelled():
        target.post_message(StatsComputed(info.name, stats))


def _throttled(name: str, target: MessagePump) -> Callable[[float], None]:
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            target.post_message(StatsProgressed(name, fraction))

    return report
