"""Sparklines: a series of numbers as one line of block characters (layer trends, histograms)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
ZERO_MARK = "_"  # a zero on a log-scale sparkline
LOG_SPREAD = 100.0  # draw on log scale when the largest value is this many times the smallest


def sparkline(values: Sequence[float | None], *, log: bool = False) -> str:
    """One block character per value, scaled from the smallest to the largest finite value.
    None/NaN/Inf are blanks; with `log`, values are placed on a log scale and zeros (or
    negatives) are drawn as '_'."""
    points = [_point(v, log) for v in values]
    known = [p for p in points if isinstance(p, float)]
    if not known:
        return "".join(" " if p is None else ZERO_MARK for p in points)
    low, high = min(known), max(known)
    top = len(BLOCKS) - 1
    chars = []
    for p in points:
        if p is None or p == ZERO_MARK:
            chars.append(" " if p is None else ZERO_MARK)
        elif high == low:
            chars.append(BLOCKS[top // 2])
        else:
            chars.append(BLOCKS[round((float(p) - low) / (high - low) * top)])
    return "".join(chars)


def _point(value: float | None, log: bool) -> float | str | None:
    if value is None or not math.isfinite(value):
        return None
    if log:
        return math.log10(value) if value > 0 else ZERO_MARK
    return float(value)


def wants_log(values: Iterable[float | None]) -> bool:
    positive = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    return len(positive) > 1 and max(positive) > LOG_SPREAD * min(positive)
