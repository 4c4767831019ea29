"""Quantiles from counts: exact from value tables, bounded from bucket intervals.

The definition is numpy's method="inverted_cdf" (Hyndman & Fan's definition 1): the p-quantile
of n sorted finite values is the k-th smallest, k = ceil(p * n / 100) (at least 1), computed in
integers so no rounding of p * n can move it. Only finite values take part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PERCENTILES: tuple[float, ...] = (1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0)


@dataclass(frozen=True)
class Quantiles:
    """For each of PERCENTILES, an interval [low, high] known to hold the true quantile."""

    lows: tuple[float, ...]
    highs: tuple[float, ...]
    integral: bool = False  # the values are integers: intervals shrink to whole numbers

    @property
    def values(self) -> dict[float, float]:
        """The middle of each interval (the interval's one value when it is exact)."""
        return {p: _middle(lo, hi, self.integral) for p, lo, hi in self._rows()}

    @property
    def error(self) -> float:
        """A bound on |reported - true| over all quantiles; 0.0 when every one is exact."""
        worst = 0.0
        for _, lo, hi in self._rows():
            mid = _middle(lo, hi, self.integral)
            worst = max(worst, mid - lo, hi - mid)
        return math.nextafter(worst, math.inf) if worst else 0.0

    def intersect(self, other: Quantiles) -> Quantiles:
        """The tighter intervals where two sets of bounds both hold."""
        lows = tuple(max(a, b) for a, b in zip(self.lows, other.lows, strict=True))
        highs = tuple(min(a, b) for a, b in zip(self.highs, other.highs, strict=True))
        return Quantiles(lows, highs, self.integral)

    def _rows(self) -> list[tuple[float, float, float]]:
        return list(zip(PERCENTILES, self.lows, self.highs, strict=True))


def ranks(n: int) -> np.ndarray:
    """The 1-based rank of each of PERCENTILES among n values (n >= 1)."""
    return np.array([max(1, -(-int(p * 100) * n // 10000)) for p in PERCENTILES], dtype=np.int64)


def positions(counts: np.ndarray, n: int) -> np.ndarray:
    """For counts of consecutive value groups (ascending), the group holding each quantile."""
    cumulative = np.cumsum(counts, dtype=np.int64)
    return np.searchsorted(cumulative, ranks(n), side="left")


def exact(values: np.ndarray, counts: np.ndarray, integral: bool = False) -> Quantiles | None:
    """Quantiles of values (ascending) each repeated counts[i] times: exact."""
    n = int(counts.sum())
    if n == 0:
        return None
    found = tuple(_plain(v, integral) for v in values[positions(counts, n)].tolist())
    return Quantiles(found, found, integral)


def bounded(
    lows: np.ndarray,
    highs: np.ndarray,
    counts: np.ndarray,
    span: tuple[float, float],
    integral: bool = False,
) -> Quantiles | None:
    """Quantiles of values counted in ascending intervals [lows[i], highs[i]] (both ends
    inclusive), all of them within span = (min, max)."""
    n = int(counts.sum())
    if n == 0:
        return None
    at = positions(counts, n)
    return clipped(lows[at], highs[at], span, integral)


def clipped(
    lows: np.ndarray, highs: np.ndarray, span: tuple[float, float], integral: bool = False
) -> Quantiles:
    """Quantiles known to lie in [lows[i], highs[i]] and in span = (min, max), one interval per
    percentile."""
    lo = np.maximum(lows, span[0]).tolist()
    hi = np.minimum(highs, span[1]).tolist()
    if integral:
        lo, hi = [math.ceil(v) for v in lo], [math.floor(v) for v in hi]
    return Quantiles(tuple(lo), tuple(hi), integral)


def _middle(lo: float, hi: float, integral: bool) -> float:
    if lo == hi:
        return lo
    mid = lo / 2 + hi / 2  # halves: no overflow near the float limit
    return math.floor(mid) if integral else mid


def _plain(value: float, integral: bool) -> float:
    return int(value) if integral else float(value)
