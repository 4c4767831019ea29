"""Exact histograms from a table of bucket counts, or from a second pass when it is too coarse.

A table of ordered buckets knows how many values lie below each bucket's least value, so an edge
put there has an exact count. Each equal-width edge stays where it is when its bucket is empty (or
starts there), and otherwise moves to the nearer bound of its bucket: the counts are exact for the
edges reported. When that would move an edge by more than SNAP_TOLERANCE of a bin width (values
far from zero against their spread: at bfloat16 resolution a layer-norm scale near 1.0 has only
~25 buckets), a GridPass counts the values again on a fine power-of-two grid over the now-known
range, which gives exact equal-width bins.
"""

from __future__ import annotations

import numpy as np
import torch

from paramtui.analysis.stats import quantiles
from paramtui.analysis.stats.histogram import GridHistogram, linear_edges, rebin

SNAP_TOLERANCE = 0.125  # of a bin width: the most an edge may move to a bucket bound


def snapped_histogram(
    lows: np.ndarray, counts: np.ndarray, lo: float, hi: float, bins: int
) -> tuple[list[float], tuple[int, ...]] | None:
    """`bins` bins from lo (the min) to hi (the max, closed) with exact counts, or None when an
    edge would move more than SNAP_TOLERANCE of a bin. lows[i] is the least value that bucket i
    can hold (ascending); counts[i] how many values it holds."""
    total = int(counts.sum())
    ideal = linear_edges(lo, hi, bins)
    if lo == hi:
        return ideal, rebin(torch.tensor([lo]), torch.tensor([total]), ideal)
    below = np.concatenate([[0], np.cumsum(counts)])  # below[i]: values in buckets before i
    width = ideal[1] - ideal[0]
    edges, under = [lo], [0]
    for target in ideal[1:-1]:
        placed = _place(lows, counts, below, target, (edges[-1], hi), width)
        if placed is None:
            return None
        edges.append(placed[0])
        under.append(placed[1])
    edges.append(hi)
    under.append(total)
    return edges, tuple(int(b - a) for a, b in zip(under, under[1:], strict=False))


def _place(
    lows: np.ndarray,
    counts: np.ndarray,
    below: np.ndarray,
    target: float,
    room: tuple[float, float],
    width: float,
) -> tuple[float, int] | None:
    """(edge, number of values below it) for an edge wanted at `target`, strictly inside
    room = (previous edge, max), or None if no bucket bound near enough fits."""
    i = int(np.searchsorted(lows, target, side="right")) - 1  # lows[i] <= target < lows[i+1]
    if counts[i] == 0 or lows[i] == target:
        return (target, int(below[i])) if room[0] < target < room[1] else None
    options = [(float(lows[i]), int(below[i]))]
    if i + 1 < lows.size:
        options.append((float(lows[i + 1]), int(below[i + 1])))
    options.sort(key=lambda option: abs(option[0] - target))
    for edge, under in options:
        if room[0] < edge < room[1] and abs(edge - target) <= SNAP_TOLERANCE * width:
            return edge, under
    return None


class GridPass:
    """The second pass: every finite value counted on one fixed fine grid over [lo, hi].

    Accumulators of several workers share the grid's shape, so their counts simply add."""

    parallel = True

    def __init__(self, lo: float, hi: float, unclean: frozenset[int], chunk: int = 0) -> None:
        self.lo, self.hi, self.unclean = lo, hi, unclean
        self.grid = GridHistogram()
        self.grid.fix_range(lo, hi)
        self._buffers = _buffers(chunk)

    def make(self, chunk: int) -> GridPass:
        """A fresh accumulator with this pass's grid, for one worker."""
        return GridPass(self.lo, self.hi, self.unclean, chunk)

    def add(self, index: int, x: torch.Tensor) -> None:
        if index in self.unclean:
            x = x[torch.isfinite(x)]
        scratch, keys = self._buffers
        if scratch.numel() < x.numel():
            scratch, keys = _buffers(x.numel())
        self.grid.add(x, self.lo, self.hi, scratch, keys)

    def merge(self, other: GridPass) -> None:
        self.grid.counts += other.grid.counts

    def histogram(self, bins: int) -> tuple[list[float], tuple[int, ...]]:
        return self.grid.histogram(bins)

    def quantiles(self) -> quantiles.Quantiles:
        found = self.grid.quantiles()
        assert found is not None
        return found


def _buffers(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.empty(n, dtype=torch.float32), torch.empty(n, dtype=torch.int32)
