"""Streaming accumulators for wide dtypes (float64, complex magnitudes, 32/64-bit integers).

Each chunk is reduced to a few float64 numbers (count, mean, M2, sum |x|, min, max, zeros), combined
with Chan's parallel formula, and its values are counted on the histogram grid. Chunks whose sum is
not finite (NaN, Inf, or float32 overflow) take a slower float64 path that counts and drops the
non-finite values. Scratch buffers are allocated once, so memory stays at a few chunks. These
accumulators run on one thread: the grid's shape depends on the order it sees values in.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from paramtui.analysis.stats.histogram import GridHistogram

if TYPE_CHECKING:
    from paramtui.analysis.stats.quantiles import Quantiles

_BITS = {torch.float32: torch.int32, torch.float64: torch.int64}
ChunkMoments = tuple[int, float, float, float, int]  # n, mean, M2, sum |x|, scale


@dataclass
class Moments:
    """Count, mean, sum of squared deviations (M2) and sum of |x| of the finite values.

    The sums are kept in units of 2**scale, so float64 values near the float64 limit (whose
    squares would overflow) still give finite results where the results themselves are finite."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    abs_sum: float = 0.0
    scale: int = 0

    def merge(self, n: int, mean: float, m2: float, abs_sum: float, scale: int = 0) -> None:
        """Chan et al.'s pairwise combination, stable whatever the chunk sizes."""
        if n == 0:
            return
        if scale > self.scale:
            self._rescale(scale)
        elif scale < self.scale:
            step = self.scale - scale
            mean, m2, abs_sum = _down(mean, step), _down(m2, 2 * step), _down(abs_sum, step)
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * (n / total)
        self.m2 += m2 + delta * delta * (self.n * (n / total))
        self.abs_sum += abs_sum
        self.n = total

    def results(self) -> tuple[float, float, float, float] | None:
        """(mean, std, mean |x|, L2) of the values merged, or None when there were none."""
        if not self.n:
            return None
        l2 = math.sqrt(self.m2 + self.n * self.mean * self.mean)
        std = math.sqrt(self.m2 / self.n)
        parts = (self.mean, std, self.abs_sum / self.n, l2)
        return tuple(_up(v, self.scale) for v in parts)  # type: ignore[return-value]

    def _rescale(self, scale: int) -> None:
        step = scale - self.scale
        self.mean, self.m2 = _down(self.mean, step), _down(self.m2, 2 * step)
        self.abs_sum = _down(self.abs_sum, step)
        self.scale = scale


def _down(value: float, step: int) -> float:
    return math.ldexp(value, -step)


def _up(value: float, step: int) -> float:
    try:
        return math.ldexp(value, step)
    except OverflowError:
        return math.copysign(math.inf, value)


@dataclass
class Tally:
    """Counts and extremes: zeros, NaN, +Inf, -Inf, and min/max of the finite values."""

    zeros: int = 0
    nan: int = 0
    posinf: int = 0
    neginf: int = 0
    min: float | int | None = None
    max: float | int | None = None

    def extremes(self, lo: float | int, hi: float | int) -> None:
        self.min = lo if self.min is None else min(self.min, lo)
        self.max = hi if self.max is None else max(self.max, hi)

    def merge(self, other: Tally) -> None:
        self.zeros += other.zeros
        self.nan += other.nan
        self.posinf += other.posinf
        self.neginf += other.neginf
        if other.min is not None and other.max is not None:
            self.extremes(other.min, other.max)


@dataclass
class Totals:
    """What an accumulator knows at the end of the pass."""

    count: int
    moments: Moments
    tally: Tally
    edges: list[float]  # histogram edges, len bins+1 (empty without finite values)
    counts: tuple[int, ...]  # exact counts of the finite values in each bin
    notes: list[str] = field(default_factory=list)
    quantiles: Quantiles | None = None


def finite_moments(
    x: torch.Tensor, scratch: torch.Tensor, total: float | None = None
) -> ChunkMoments | None:
    """Moments of a float32/float64 chunk with no NaN/Inf (whose sum may be given); None if
    float32 overflowed (the caller redoes the chunk in float64). `scratch` is a buffer of x's
    dtype and length; it holds |x| afterwards when the scale is 0."""
    n = x.numel()
    values, scale = x, 0
    if x.dtype == torch.float64:
        lo, hi = (float(v) for v in torch.aminmax(x))
        scale = _scale_for(max(-lo, hi))
        if scale:  # squares would overflow float64: work in units of 2**scale
            values, total = torch.mul(x, math.ldexp(1.0, -scale)), None
    mean = (float(values.sum()) if total is None else total) / n
    m2 = squared_deviations(values, mean, scratch)
    abs_sum = float(torch.abs(values, out=scratch).sum())
    if not (math.isfinite(m2) and math.isfinite(abs_sum) and math.isfinite(mean)):
        return None
    return n, mean, max(m2, 0.0), abs_sum, scale


class FloatAccumulator:
    """Statistics of float32/float64 chunks, with the histogram on a sliding grid."""

    parallel = False

    def __init__(self, work: torch.dtype, chunk: int) -> None:
        self.work = work
        self.count = 0
        self.moments, self.tally = Moments(), Tally()
        self.grid = GridHistogram()
        self._scratch = torch.empty(chunk, dtype=work)
        self._index = torch.empty(chunk, dtype=torch.int32)

    def add(self, index: int, x: torch.Tensor) -> None:
        """Add a contiguous 1-D chunk of the work dtype."""
        self.count += x.numel()
        total = float(x.sum())
        if not math.isfinite(total) or not self._add_finite(x, self._scratch, total):
            self._add_slow(x)

    def totals(self, bins: int, integral: bool = False) -> Totals:
        edges, counts = self.grid.histogram(bins)
        found = self.grid.quantiles(integral)
        return Totals(self.count, self.moments, self.tally, edges, counts, quantiles=found)

    def _add_finite(
        self, x: torch.Tensor, scratch: torch.Tensor, total: float | None = None
    ) -> bool:
        """Reduce a chunk of finite values; False (nothing recorded) if float32 overflowed."""
        reduced = finite_moments(x, scratch[: x.numel()], total)
        if reduced is None:
            return False
        self.moments.merge(*reduced)
        self.tally.zeros += x.numel() - int(torch.count_nonzero(x))
        lo, hi = (float(v) for v in torch.aminmax(x))
        self.tally.extremes(lo, hi)
        self.grid.add(x, lo, hi, scratch, self._index)
        return True

    def _add_slow(self, x: torch.Tensor) -> None:
        """A chunk with NaN/Inf (or float32 overflow): count them, reduce the rest in float64."""
        finite = drop_non_finite(x, self.tally)
        if finite.numel():
            self._add_finite(finite, torch.empty_like(finite))


def drop_non_finite(x: torch.Tensor, tally: Tally) -> torch.Tensor:
    """x in float64 without its NaN/Inf, which are counted into `tally`."""
    wide = x.to(torch.float64)
    nan = int(torch.isnan(wide).sum())
    pos = int((wide == math.inf).sum())
    neg = int((wide == -math.inf).sum())
    tally.nan += nan
    tally.posinf += pos
    tally.neginf += neg
    return wide[torch.isfinite(wide)] if nan + pos + neg else wide


class IntAccumulator:
    """Statistics of 32/64-bit integer chunks: exact min/max, the rest through float64."""

    parallel = False

    def __init__(self, dtype: torch.dtype, chunk: int) -> None:
        self.dtype = dtype
        self.floats = FloatAccumulator(torch.float64, chunk)
        self._wide = torch.empty(chunk, dtype=torch.float64)
        self.lo: int | None = None
        self.hi: int | None = None

    def add(self, index: int, x: torch.Tensor) -> None:
        lo, hi = _int_extremes(x)
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)
        self.floats.add(index, self._wide[: x.numel()].copy_(x))

    def totals(self, bins: int) -> Totals:
        totals = self.floats.totals(bins, integral=True)
        totals.tally.min, totals.tally.max = self.lo, self.hi
        return totals


class ComplexAccumulator:
    """Statistics of the magnitude |z| of complex chunks, computed in float64."""

    parallel = False
    NOTE = "complex: statistics of the magnitude |z|"

    def __init__(self, dtype: torch.dtype, chunk: int) -> None:
        self.dtype = dtype
        self.floats = FloatAccumulator(torch.float64, chunk)

    def add(self, index: int, x: torch.Tensor) -> None:
        self.floats.add(index, torch.abs(x.to(torch.complex128)))

    def totals(self, bins: int) -> Totals:
        totals = self.floats.totals(bins)
        totals.notes.append(self.NOTE)
        return totals


def squared_deviations(x: torch.Tensor, mean: float, scratch: torch.Tensor) -> float:
    """Sum of squared deviations from `mean`: from the plain sum of squares when the mean is
    small against the values (no cancellation worth a digit), else from shifted values."""
    n = x.numel()
    squares = float(torch.dot(x, x))
    if n * mean * mean <= squares / 64 or not math.isfinite(squares):
        return squares - n * mean * mean
    shift = _as_work(mean, x.dtype)  # the value torch subtracts
    dev = torch.sub(x, shift, out=scratch)
    return float(torch.dot(dev, dev)) - n * (mean - shift) ** 2


def _scale_for(reach: float) -> int:
    """A power-of-two scale bringing float64 values of magnitude `reach` near 2**400."""
    return math.frexp(reach)[1] - 400 if reach > 2.0**500 else 0


def _int_extremes(x: torch.Tensor) -> tuple[int, int]:
    """Exact min and max as Python ints; unsigned types go through int64 (uint64 bit-flipped)."""
    if x.dtype == torch.uint64:
        flipped = x.view(torch.int64) ^ torch.iinfo(torch.int64).min  # unsigned order as signed
        low, high = torch.aminmax(flipped)
        return int(low) + (1 << 63), int(high) + (1 << 63)
    if x.dtype in (torch.uint32, torch.uint16):
        x = x.to(torch.int64)
    low, high = torch.aminmax(x)
    return int(low), int(high)


def _as_work(value: float, dtype: torch.dtype) -> float:
    """`value` rounded to `dtype` as torch rounds a Python scalar for a float32 kernel."""
    if dtype == torch.float32 and abs(value) < 3.4e38:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    return value
