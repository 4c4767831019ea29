"""Exact statistics of 8- and 16-bit dtypes from one table of bit-pattern counts.

A 16-bit tensor has at most 65,536 distinct bit patterns (an 8-bit one 256), so one bincount of
the raw bits per chunk is the whole pass. Every statistic then comes exactly from the table:
each pattern's value (float64) weighted by its count, and the quantiles by walking the patterns
in value order. This covers float16, bfloat16, the float8 variants (which torch cannot reduce),
int8/16, uint8/16, bool and the integers of qint8/quint8.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import torch

from paramtui.analysis.stats import native, quantiles
from paramtui.analysis.stats.accumulate import Moments, Tally, Totals
from paramtui.analysis.stats.histogram import linear_edges, rebin

BOOL_NOTE = "bool: mean is the fraction of True; std and L2 are not meaningful"


class TableAccumulator:
    """Counts each bit pattern of a 1- or 2-byte dtype. Tables of several workers add up."""

    parallel = True

    def __init__(self, dtype: torch.dtype, chunk: int) -> None:
        self.dtype = dtype
        self.wide = dtype.itemsize == 2
        self.counts = np.zeros(1 << (8 * dtype.itemsize), dtype=np.int64)
        self._keys = torch.empty(chunk if self.wide else 0, dtype=torch.int32)
        kernels = native.kernels()
        self._kernel = kernels and (kernels.u16_table if self.wide else kernels.u8_table)

    def add(self, index: int, x: torch.Tensor) -> None:
        n = x.numel()
        if self._kernel and x.is_contiguous() and x.device.type == "cpu":  # one read, no copy
            self._kernel(x.data_ptr(), n, self.counts.ctypes.data)
            return
        if not self.wide:
            keys = x.view(torch.uint8)
        else:  # bincount takes no 16-bit keys: widen the raw bits to int32, on x's device
            if self._keys.device != x.device or self._keys.numel() < n:
                self._keys = torch.empty(n, dtype=torch.int32, device=x.device)
            keys = self._keys[:n].copy_(x.view(torch.int16)).bitwise_and_(0xFFFF)
        self.counts += torch.bincount(keys, minlength=self.counts.size).cpu().numpy()

    def merge(self, other: TableAccumulator) -> None:
        self.counts += other.counts

    def totals(self, bins: int) -> Totals:
        return table_totals(self.dtype, self.counts, bins)


def table_totals(
    dtype: torch.dtype, counts: np.ndarray, bins: int, values: np.ndarray | None = None
) -> Totals:
    """Every statistic of a pattern table. `values` overrides the patterns' values (decoded
    quantized integers); it must give NaN for no pattern."""
    integral = values is None and not dtype.is_floating_point
    if values is None:
        values = pattern_values(dtype)
    tally = Tally(
        zeros=int(counts[values == 0].sum()),
        nan=int(counts[np.isnan(values)].sum()),
        posinf=int(counts[values == math.inf].sum()),
        neginf=int(counts[values == -math.inf].sum()),
    )
    keep = np.isfinite(values) & (counts > 0)
    order = np.argsort(values[keep], kind="stable")
    finite, weights = values[keep][order], counts[keep][order]
    edges: list[float] = []
    hist: tuple[int, ...] = ()
    if finite.size:
        lo, hi = float(finite[0]), float(finite[-1])
        tally.extremes(int(lo) if integral else lo, int(hi) if integral else hi)
        edges = linear_edges(lo, hi, bins)
        hist = rebin(torch.from_numpy(finite), torch.from_numpy(weights), edges)
    notes = [BOOL_NOTE] if dtype == torch.bool else []
    return Totals(
        count=int(counts.sum()),
        moments=_moments(finite, weights),
        tally=tally,
        edges=edges,
        counts=hist,
        notes=notes,
        quantiles=quantiles.exact(finite, weights, integral),
    )


@cache
def pattern_values(dtype: torch.dtype) -> np.ndarray:
    """float64 value of every bit pattern of a 1- or 2-byte dtype, indexed by the pattern."""
    patterns = torch.arange(1 << (8 * dtype.itemsize), dtype=torch.int32)
    if dtype == torch.bool:  # any non-zero byte reads as True
        out = (patterns != 0).to(torch.float64)
    else:
        raw = patterns.to(torch.uint16 if dtype.itemsize == 2 else torch.uint8)
        out = raw.view(dtype).to(torch.float64)
    array = out.numpy()
    array.flags.writeable = False
    return array


def _moments(values: np.ndarray, counts: np.ndarray) -> Moments:
    n = int(counts.sum())
    if n == 0:
        return Moments()
    weights = counts.astype(np.float64)
    mean = float((weights * values).sum()) / n
    m2 = float((weights * np.square(values - mean)).sum())
    abs_sum = float((weights * np.abs(values)).sum())
    return Moments(n, mean, m2, abs_sum)
