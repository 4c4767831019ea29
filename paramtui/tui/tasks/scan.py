"""The body of the health-scan worker: run analysis.scan, report through messages.

Runs in a thread and never touches widgets: it posts ScanProgressed (at most ten a second),
then ScanFinished or ScanFailed, to `target`. A cancelled scan posts nothing."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.message_pump import MessagePump

from paramtui.core.errors import ParamtuiError
from paramtui.core.model import CheckpointIndex
from paramtui.tui.messages import ScanFailed, ScanFinished, ScanProgressed

PROGRESS_EVERY_S = 0.1


def run_scan(index: CheckpointIndex, target: MessagePump, is_cancelled: Callable[[], bool]) -> None:
    try:  # imports torch: the first call waits for the background import to finish
        from paramtui.analysis.scan.run import scan
        from paramtui.analysis.stats.compute import StatsCancelled
    except ImportError as exc:
        target.post_message(ScanFailed(f"the scan is unavailable: {exc}"))
        return
    try:
        report = scan(index, progress=_throttled(target), should_cancel=is_cancelled)
    except StatsCancelled:
        return
    except ParamtuiError as exc:
        target.post_message(ScanFailed(str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - an unexpected file must not take the UI down
        target.post_message(ScanFailed(f"the scan failed: {exc!r}"))
        return
    if not is_cancelled():
        target.post_message(ScanFinished(report))


def _throttled(target: MessagePump) -> Callable[[int, int, str], None]:
    last = [0.0]

    def report(done: int, total: int, name: str) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            target.post_message(ScanProgressed(done, total, name))

    return report
