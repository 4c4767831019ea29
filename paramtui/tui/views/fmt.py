"""Number formats for the TUI: the CLI's human formats plus a few only the panes need."""

from __future__ import annotations

import math

from paramtui.render.format import format_shape as shape
from paramtui.render.format import human_bytes as size
from paramtui.render.format import human_count as count
from paramtui.render.format import safe_text as printable

__all__ = ["count", "grouped", "number", "percent", "printable", "shape", "size"]


def grouped(n: int) -> str:
    """1234567 -> '1,234,567'."""
    return f"{n:,}"


def number(x: float | None) -> str:
    """A statistic, compact but precise enough to compare: 6 significant digits."""
    if x is None:
        return "n/a"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:.6g}"


def percent(part: float, whole: float) -> str:
    if whole <= 0:
        return "n/a"
    share = 100.0 * part / whole
    return f"{share:.1f}%" if share >= 0.1 or share == 0 else "<0.1%"
