"""Exact histograms in one pass: a fine power-of-two grid during the pass, bins at the end.

A tensor's range is known only after its last chunk, so values are first counted on a grid of
`CELLS` cells whose width is a power of two, 2**exp: a value's cell is floor(x / 2**exp), which
floating point computes exactly. When a chunk falls outside the grid, the grid slides or doubles
its cell width (old cells nest in new ones, so counts merge exactly). At the end, runs of whole
cells form the equal-width bins, so the counts are exact for the reported edges. The final grid
spans more than CELLS/2 cells over [min, max], so the edges lie at most bins/2 cells outside
[min, max].
"""

from __future__ import annotations

import math
import sys

import numpy as np
import torch

from paramtui.analysis.stats import quantiles

CELLS = 1 << 14  # 128 KiB of counters: bincount stays in cache
E_FLOOR = -1000  # 2**-exp stays finite in float64
_FAST = {torch.float32: (24, -126)}  # work dtype -> (mantissa bits, lowest exp with finite 2**-exp)


class GridHistogram:
    """Counts of finite values on a sliding, doubling grid of `cells` cells of width 2**exp."""

    def __init__(self, cells: int = CELLS) -> None:
        self.cells = cells
        self.exp: int | None = None
        self.base = 0  # the grid starts at base * 2**exp
        self.counts = torch.zeros(cells, dtype=torch.int64)
        self.lo, self.hi = math.inf, -math.inf
        self.flat = 0  # values counted while all values seen were equal (no grid yet)

    def add(
        self, x: torch.Tensor, lo: float, hi: float, scratch: torch.Tensor, index: torch.Tensor
    ) -> None:
        """Count `x` (finite, 1-D, float32/64, with min `lo` and max `hi`) using the buffers
        `scratch` (x's dtype) and `index` (int32), each at least as long as x."""
        lo, hi = min(self.lo, lo), max(self.hi, hi)
        n = x.numel()
        if lo == hi:  # every value so far is equal: no grid needed yet
            self.lo = self.hi = lo
            self.flat += n
            return
        self._cover(lo, hi)
        assert self.exp is not None
        if self._exact_in(x.dtype):  # floor(x / 2**exp) - base, exact in the work dtype
            coords = scratch[:n]
            if self.exp > 0:  # floor_divide stays exact where x * 2**-exp would underflow
                torch.floor_divide(x, math.ldexp(1.0, self.exp), out=coords)
            else:
                torch.mul(x, math.ldexp(1.0, -self.exp), out=coords).floor_()
            keys = index[:n]
            keys.copy_(coords.sub_(self.base))  # integers below 2**24: exact
        else:  # |x| is huge against the cell width: float64, clamped
            wide = x.to(torch.float64, copy=True).mul_(math.ldexp(1.0, -self.exp)).floor_()
            keys = wide.sub_(float(self.base)).clamp_(0, self.cells - 1).to(torch.int32)
        self.counts += torch.bincount(keys, minlength=self.cells)

    def fix_range(self, lo: float, hi: float) -> None:
        """Shape the grid for values in [lo, hi] (lo < hi) before counting any."""
        self._cover(lo, hi)

    def histogram(self, bins: int) -> tuple[list[float], tuple[int, ...]]:
        """`bins` equal-width bins made of whole cells, so every count is exact.

        The bins cover [min, max]; the slack of rounding the bin width up to whole cells is
        shared by both ends, each edge lying less than bins/2 cells (< 0.4% of the range)
        outside."""
        if self.exp is None:
            if not self.flat:
                return [], ()
            edges = linear_edges(self.lo, self.hi, bins)
            value = torch.tensor([self.lo], dtype=torch.float64)
            return edges, rebin(value, torch.tensor([self.flat]), edges)
        low = _cell(self.lo, self.exp) - self.base
        span = _cell(self.hi, self.exp) - self.base - low + 1
        width = -(-span // bins)  # cells per bin, rounded up
        first = low - (bins * width - span) // 2
        left, right = max(0, -first), max(0, first + bins * width - self.cells)
        counts = torch.nn.functional.pad(self.counts, (left, right))
        counts = counts[first + left : first + left + bins * width]
        per_bin = counts.view(bins, width).sum(dim=1)
        origin = self.base + first
        edges = [_edge(origin + i * width, self.exp) for i in range(bins + 1)]
        return edges, tuple(int(c) for c in per_bin.tolist())

    def quantiles(self, integral: bool = False) -> quantiles.Quantiles | None:
        """Each quantile within its grid cell (exact while all values were equal)."""
        if self.exp is None:
            if not self.flat:
                return None
            value = [int(self.lo) if integral else self.lo] * len(quantiles.PERCENTILES)
            return quantiles.Quantiles(tuple(value), tuple(value), integral)
        counts = self.counts.numpy()
        at = quantiles.positions(counts, int(counts.sum())).tolist()
        lows = np.array([_edge(self.base + i, self.exp) for i in at])
        highs = np.array([_edge(self.base + i + 1, self.exp) for i in at])
        return quantiles.clipped(lows, highs, (self.lo, self.hi), integral)

    def _exact_in(self, dtype: torch.dtype) -> bool:
        """Whether coordinates computed in `dtype` land in [0, cells] without clamping."""
        assert self.exp is not None
        bits, lowest = _FAST.get(dtype, (53, E_FLOOR))
        reach = max(abs(_cell(self.lo, self.exp)), abs(_cell(self.hi, self.exp)), abs(self.base))
        return self.exp >= lowest and reach < 1 << (bits - 2)

    def _cover(self, lo: float, hi: float) -> None:
        """Make the grid cover [lo, hi], sliding or doubling it (and merging counts) if needed."""
        if self.exp is not None and self._fits(lo, hi, self.exp, self.base):
            self.lo, self.hi = lo, hi
            return
        exp = _exp_for_span(lo, hi, self.cells)
        if self.exp is not None:
            exp = max(exp, self.exp)  # cells only grow, so old cells nest in new ones
        while not self._fits(lo, hi, exp, _cell(lo, exp)):
            exp += 1
        base = _cell(lo, exp)
        if self.exp is not None:
            self._regrid(exp, base)
        elif self.flat:
            self.counts[_cell(self.lo, exp) - base] += self.flat  # values seen while flat
            self.flat = 0
        self.exp, self.base = exp, base
        self.lo, self.hi = lo, hi

    def _fits(self, lo: float, hi: float, exp: int, base: int) -> bool:
        return _cell(lo, exp) >= base and _cell(hi, exp) < base + self.cells

    def _regrid(self, exp: int, base: int) -> None:
        assert self.exp is not None
        nz = torch.nonzero(self.counts).flatten()
        shift = exp - self.exp
        if shift < 62:  # new cell = (old global cell) >> shift, in int64
            rest, head = self.base & ((1 << shift) - 1), self.base >> shift
            new = ((nz + rest) >> shift) + (head - base)
        else:  # (rest + i) >> shift is 0 or 1: 1 once i reaches 2**shift - rest
            rest, head = self.base & ((1 << shift) - 1), self.base >> shift
            threshold = min((1 << shift) - rest, self.cells)
            new = (nz >= threshold).to(torch.int64) + (head - base)
        counts = torch.zeros(self.cells, dtype=torch.int64)
        counts.index_add_(0, new, self.counts[nz])
        self.counts = counts


def _cell(x: float, exp: int) -> int:
    """floor(x / 2**exp) as an exact Python int (huge when the grid cannot reach x)."""
    try:
        return math.floor(math.ldexp(x, -exp))
    except OverflowError:
        return 1 << 1100 if x > 0 else -(1 << 1100)


def _edge(cell: int, exp: int) -> float:
    """cell * 2**exp; outer edges beyond the float range stop at its limit (no value is there)."""
    try:
        return math.ldexp(cell, exp)
    except OverflowError:
        return math.copysign(sys.float_info.max, cell)


def _exp_for_span(lo: float, hi: float, cells: int) -> int:
    """A lower bound on the exp whose `cells` cells can cover [lo, hi]."""
    half_span = hi / 2 - lo / 2  # no overflow
    if half_span <= 0:
        return E_FLOOR
    return max(E_FLOOR, math.frexp(half_span)[1] + 1 - (cells.bit_length() - 1))


def linear_edges(lo: float, hi: float, bins: int) -> list[float]:
    """`bins`+1 equal-width edges from lo to hi (numpy's widening when lo == hi)."""
    if lo == hi:
        half = max(0.5, abs(lo) * 2.0**-40)
        lo, hi = lo - half, hi + half
    step = hi / bins - lo / bins
    return [lo + step * i for i in range(bins)] + [hi]


def rebin(values: torch.Tensor, counts: torch.Tensor, edges: list[float]) -> tuple[int, ...]:
    """Counts of `values` (weighted by `counts`) in the bins [e_i, e_i+1), the last one closed."""
    bins = len(edges) - 1
    edge_t = torch.tensor(edges, dtype=torch.float64)
    index = torch.searchsorted(edge_t, values.to(torch.float64), right=True).sub_(1)
    index.clamp_(0, bins - 1)
    out = torch.zeros(bins, dtype=torch.int64).index_add_(0, index, counts.to(torch.int64))
    return tuple(int(c) for c in out.tolist())
