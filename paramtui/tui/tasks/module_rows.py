"""The per-module table's worker body: the statistics of each row's tensor, posted in batches."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from paramtui.core.errors import ParamtuiError
from paramtui.tui.tasks.stats import compute_job
from paramtui.tui.views.stats_job import StatsJob

if TYPE_CHECKING:
    from paramtui.analysis.stats.result import TensorStats

POST_EVERY_S = 0.1

RowResult = tuple[str, int, "TensorStats | None", str]  # (name, version, stats, failure)


def compute_rows(
    jobs: list[StatsJob],
    post: Callable[[list[RowResult]], None],
    is_cancelled: Callable[[], bool],
) -> None:
    """Compute each job's statistics in turn, posting results in batches (at most ten a
    second); stop quietly when cancelled."""
    from paramtui.analysis.stats.compute import StatsCancelled

    batch: list[RowResult] = []
    last = time.monotonic()
    for job in jobs:
        if is_cancelled():
            return
        try:
            batch.append((job.info.name, job.version, compute_job(job, None, is_cancelled), ""))
        except StatsCancelled:
            return
        except ParamtuiError as exc:
            batch.append((job.info.name, job.version, None, str(exc)))
        except Exception as exc:  # noqa: BLE001 - one bad tensor must not end the table
            batch.append((job.info.name, job.version, None, f"statistics failed: {exc!r}"))
        if time.monotonic() - last >= POST_EVERY_S:
            post(batch)
            batch, last = [], time.monotonic()
    post(batch)
