"""What a whole-model check is given: the index, the stored tensors read so far, the limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from paramtui.analysis.scan.findings import Thresholds, Unit
from paramtui.core.model import CheckpointIndex


@dataclass(frozen=True)
class ScanContext:
    index: CheckpointIndex
    units: tuple[Unit, ...]  # one per stored tensor with values (tied names together)
    thresholds: Thresholds
    should_cancel: Callable[[], bool] | None
    say: Callable[[str], None]  # tell the progress display which tensor is being read
