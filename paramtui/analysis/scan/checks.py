"""The registry of whole-model checks, run in this order after every tensor's statistics.

Each takes a ScanContext and returns findings. The checks of one tensor's values (nan, inf,
all_zero, constant, dead_rows, dead_columns, unreadable) run during the streaming pass instead
(scan.run). Adding a check: one module with a `check(context)` function, its kinds in
scan.kinds.KIND_TABLE, and one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from paramtui.analysis.scan import dtype_mix, duplicates, magnitude, training
from paramtui.analysis.scan.context import ScanContext
from paramtui.analysis.scan.findings import Finding

Check = Callable[[ScanContext], list[Finding]]

CHECKS: tuple[Check, ...] = (
    magnitude.check,
    duplicates.check,
    dtype_mix.check,
    training.check,
)
