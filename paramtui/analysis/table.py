"""Exact statistics of 8- and 16-bit dtypes from one table of bit-pattern counts.

A 16-bit tensor has at most 65,536 distinct bit patterns (an 8-bit one 256), so one bincount of
the raw bits per chunk is the whole pass. Every statistic then comes exactly from the table:
each pattern's value (float64) weighted by its count. This covers float16, bfloat16, the float8
variants (which torch cannot reduce), int8/16, uint8/16 and bool.
"""

from __future__ import annotations

import math

import torch

from paramtui.analysis.accumulate import Moments, Tally, Totals
from paramtui.analysis.histogram import linear_edges, rebin

BOOL_NOTE = "bool: mean is the fraction of True; std and L2 are not meaningful"


class TableAccumulator:
    """Counts each bit pattern of a 1- or 2-byte dtype."""

    def __init__(self, dtype: torch.dtype, chunk: int) -> None:
        self.dtype = dtype
        self.wide = dtype.itemsize == 2
        self.counts = torch.zeros(1 << (8 * dtype.itemsize), dtype=torch.int64)
        self._keys = torch.empty(chunk if self.wide else 0, dtype=torch.int32)

    def add(self, x: torch.Tensor) -> None:
        if self.wide:  # bincount takes no uint16: widen the raw bits to int32
            keys = self._keys[: x.numel()].copy_(x.view(torch.uint16))
        else:
            keys = x.view(torch.uint8)
        self.counts += torch.bincount(keys, minlength=self.counts.numel())

    def totals(self, bins: int) -> Totals:
        values = pattern_values(self.dtype)
        counts = self.counts
        tally = Tally(
            zeros=int(counts[values == 0].sum()),
            nan=int(counts[torch.isnan(values)].sum()),
            posinf=int(counts[values == math.inf].sum()),
            neginf=int(counts[values == -math.inf].sum()),
        )
        keep = torch.isfinite(values) & (counts > 0)
        values, counts = values[keep], counts[keep]
        moments = _moments(values, counts)
        if values.numel():
            lo, hi = float(values.min()), float(values.max())
            integral = not self.dtype.is_floating_point
            tally.extremes(int(lo) if integral else lo, int(hi) if integral else hi)
        notes = [BOOL_NOTE] if self.dtype == torch.bool else []
        edges: list[float] = []
        hist: tuple[int, ...] = ()
        if values.numel():
            edges = linear_edges(float(values.min()), float(values.max()), bins)
            hist = rebin(values, counts, edges)
        return Totals(int(self.counts.sum()), moments, tally, edges, hist, notes)


def pattern_values(dtype: torch.dtype) -> torch.Tensor:
    """float64 value of every bit pattern of a 1- or 2-byte dtype, indexed by the pattern."""
    patterns = torch.arange(1 << (8 * dtype.itemsize), dtype=torch.int32)
    if dtype == torch.bool:  # any non-zero byte reads as True
        return (patterns != 0).to(torch.float64)
    raw = patterns.to(torch.uint16 if dtype.itemsize == 2 else torch.uint8)
    return raw.view(dtype).to(torch.float64)


def _moments(values: torch.Tensor, counts: torch.Tensor) -> Moments:
    n = int(counts.sum())
    if n == 0:
        return Moments()
    weights = counts.to(torch.float64)
    mean = float((weights * values).sum()) / n
    m2 = float((weights * (values - mean).square()).sum())
    abs_sum = float((weights * values.abs()).sum())
    return Moments(n, mean, m2, abs_sum)
