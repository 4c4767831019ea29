"""float32 statistics in one pass: exact moments per chunk plus one table of the top 16 bits.

Per chunk: sum, sum of squares and sum |x| (float64 results, merged in chunk order so the
outcome does not depend on which worker took which chunk) and a count of the top 16 bits of
every value: a 65,536-bucket table at bfloat16 resolution. With the compiled kernel
(stats.native) one read of the chunk gives all of it plus exact min, max and zeros; without
it torch makes a few passes (sums, then one bincount of the keys, zeros counted only where the
zero bucket is not empty, aminmax only when a chunk reaches the current extreme buckets).
The table gives the exact count of every bucket, hence NaN/Inf (exact counts come from the few
chunks whose sum is not finite), the histogram (edges on bucket bounds, see stats.snap) and
the quantiles within their bucket.
"""

from __future__ import annotations

import math
import struct
from functools import cache
from typing import Any

import numpy as np
import torch

from paramtui.analysis.stats import native, quantiles, snap
from paramtui.analysis.stats.accumulate import (
    ChunkMoments,
    Moments,
    Tally,
    Totals,
    drop_non_finite,
    finite_moments,
    squared_deviations,
)

KEYS = 1 << 16
POS = 1 << 15  # key = (bits >> 16) + POS: negative values get keys 0.., positive POS..
FINITE = 0x7F80  # magnitude buckets from here up hold only Inf and NaN
ZERO = FINITE - 1  # where the bucket around zero sits among the ordered buckets
CANCELLATION = 2.0**-20  # below this M2 / sum of squares, float64 M2 from the sums loses digits


class Float32Accumulator:
    """Statistics of float32 chunks; accumulators of several workers merge exactly."""

    parallel = True

    def __init__(self, dtype: torch.dtype, chunk: int) -> None:
        self.table = np.zeros(KEYS, dtype=np.int64)
        self.chunks: dict[int, ChunkMoments] = {}
        self.tally = Tally()
        self.count = 0
        self.unclean: set[int] = set()  # chunks with NaN/Inf
        self._lo_key: int | None = None  # bucket of the current min
        self._hi_key: int | None = None
        self._abs = torch.empty(chunk, dtype=torch.float32)
        self._keys = torch.empty(chunk, dtype=torch.int32)
        self._kernel = native.kernels()
        self._out = np.zeros(6)  # what the kernel writes for one chunk

    def add(self, index: int, x: torch.Tensor) -> None:
        self.count += x.numel()
        if self._kernel is not None and x.is_contiguous() and x.device.type == "cpu":
            self._add_native(self._kernel, index, x)
        else:
            self._add_torch(index, x)

    def _add_native(self, kernel: Any, index: int, x: torch.Tensor) -> None:
        n = x.numel()
        kernel.f32_chunk(x.data_ptr(), n, self.table.ctypes.data, self._out.ctypes.data)
        total, squares, magnitude, lo, hi, zeros = self._out.tolist()
        if not (math.isfinite(total) and math.isfinite(squares)):  # NaN/Inf in the chunk
            self._add_slow(index, x)
            return
        mean = total / n
        m2 = squares - total * mean
        if m2 < squares * CANCELLATION:  # the mean dominates: measure deviations from it
            m2 = squared_deviations(x, mean, self._abs[:n])
        self.chunks[index] = (n, mean, max(m2, 0.0), magnitude, 0)
        self.tally.zeros += int(zeros)
        self._extremes(lo, hi)

    def _add_torch(self, index: int, x: torch.Tensor) -> None:
        """torch alone, on the chunk's device (a GPU chunk stays on the GPU)."""
        n = x.numel()
        if self._abs.device != x.device or self._abs.numel() < n:
            self._abs = torch.empty(n, dtype=torch.float32, device=x.device)
            self._keys = torch.empty(n, dtype=torch.int32, device=x.device)
        total = float(x.sum())  # reads the chunk into the cache for what follows
        reduced = finite_moments(x, self._abs[:n], total) if math.isfinite(total) else None
        keys = torch.bitwise_right_shift(x.view(torch.int32), 16, out=self._keys[:n])
        counts = torch.bincount(keys.add_(POS)).cpu().numpy()  # up to the largest key present
        self.table[: counts.size] += counts
        if reduced is None:  # NaN/Inf, or float32 overflow
            self._add_slow(index, x)
            return
        self.chunks[index] = reduced
        if counts[0] or (counts.size > POS and counts[POS]):  # zeros or |x| < 2**-133
            self.tally.zeros += n - int(torch.count_nonzero(self._abs[:n]))
        if self._may_extend(counts):
            lo, hi = (float(v) for v in torch.aminmax(x))
            self._extremes(lo, hi)

    def merge(self, other: Float32Accumulator) -> None:
        self.table += other.table
        self.chunks.update(other.chunks)
        self.tally.merge(other.tally)
        self.count += other.count
        self.unclean |= other.unclean

    def second_pass(self, bins: int) -> snap.GridPass | None:
        """A finer pass for the histogram when the table's buckets are too coarse for `bins`
        equal bins (values far from zero against their spread)."""
        lo, hi = self.tally.min, self.tally.max
        if lo is None or hi is None or self._snapped(bins) is not None:
            return None
        return snap.GridPass(float(lo), float(hi), frozenset(self.unclean))

    def totals(self, bins: int, finer: snap.GridPass | None = None) -> Totals:
        moments = Moments()
        for index in sorted(self.chunks):
            moments.merge(*self.chunks[index])
        lows, highs, counts = ordered_buckets(self.table)
        if counts[ZERO] and counts[ZERO] == self.tally.zeros:  # no tiny values beside the zeros
            lows, highs = lows.copy(), highs.copy()
            lows[ZERO] = highs[ZERO] = 0.0
        span = (self.tally.min, self.tally.max)
        found = None
        edges: list[float] = []
        hist: tuple[int, ...] = ()
        if span[0] is not None and span[1] is not None:
            found = quantiles.bounded(lows, highs, counts, (float(span[0]), float(span[1])))
            edges, hist = finer.histogram(bins) if finer else self._snapped(bins) or ([], ())
            if finer is not None and found is not None:
                found = found.intersect(finer.quantiles())
        return Totals(self.count, moments, self.tally, edges, hist, quantiles=found)

    def _snapped(self, bins: int) -> tuple[list[float], tuple[int, ...]] | None:
        lo, hi = self.tally.min, self.tally.max
        assert lo is not None and hi is not None
        lows, _, counts = ordered_buckets(self.table)
        return snap.snapped_histogram(lows, counts, float(lo), float(hi), bins)

    def _add_slow(self, index: int, x: torch.Tensor) -> None:
        """A chunk with NaN/Inf, already counted in the table: reduce its finite values."""
        self.unclean.add(index)
        finite = drop_non_finite(x, self.tally)
        if not finite.numel():
            return
        reduced = finite_moments(finite, torch.empty_like(finite))
        assert reduced is not None  # float64 does not overflow here
        self.chunks[index] = reduced
        self.tally.zeros += finite.numel() - int(torch.count_nonzero(finite))
        lo, hi = (float(v) for v in torch.aminmax(finite))
        self._extremes(lo, hi)

    def _extremes(self, lo: float, hi: float) -> None:
        self.tally.extremes(lo, hi)
        assert self.tally.min is not None and self.tally.max is not None
        self._lo_key, self._hi_key = key_of(self.tally.min), key_of(self.tally.max)

    def _may_extend(self, counts: np.ndarray) -> bool:
        """Whether the chunk has values in or beyond the buckets of the current min or max."""
        lo, hi = self._lo_key, self._hi_key
        if lo is None or hi is None:
            return True
        if lo < POS:  # the min is negative: more negative buckets have larger keys
            below = counts[lo:FINITE].any()
        else:
            below = counts[:FINITE].any() or counts[POS : lo + 1].any()
        if below:
            return True
        if hi >= POS:
            return bool(counts[hi : POS + FINITE].any())
        return bool(counts[POS : POS + FINITE].any() or counts[: hi + 1].any())


def key_of(value: float) -> int:
    """The table key of a float32 value."""
    bits: int = struct.unpack("<i", struct.pack("<f", value))[0]
    return (bits >> 16) + POS


def ordered_buckets(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lows, highs, counts) of the finite buckets in value order, both bounds inclusive;
    the two buckets around zero (-tiny..-0 and +0..+tiny) count as one."""
    order, lows, highs = _bucket_order()
    counts = table[order]
    counts[ZERO] += counts[ZERO + 1]  # the -0 bucket (key 0), then the +0 one (key POS)
    keep = np.ones(order.size, dtype=bool)
    keep[ZERO + 1] = False
    return lows[keep], highs[keep], counts[keep]


@cache
def _bucket_order() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys of the finite buckets in value order, with each bucket's least and greatest value
    (the zero pair already joined in lows/highs at the negative bucket's place)."""
    mags = np.arange(FINITE, dtype=np.int64)
    keys = np.concatenate([mags[::-1], POS + mags])
    first = (mags << 16).astype(np.uint32).view(np.float32).astype(np.float64)
    last = ((mags << 16) + 0xFFFF).astype(np.uint32).view(np.float32).astype(np.float64)
    lows = np.concatenate([-last[::-1], first])
    highs = np.concatenate([-first[::-1], last])
    lows[ZERO], highs[ZERO] = -last[0], last[0]  # -tiny..+tiny, zero included
    for array in (keys, lows, highs):
        array.flags.writeable = False
    return keys, lows, highs
