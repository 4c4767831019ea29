"""Which accumulator computes the statistics of a dtype."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from paramtui.analysis.stats.accumulate import ComplexAccumulator, FloatAccumulator, IntAccumulator
from paramtui.analysis.stats.bits32 import Float32Accumulator
from paramtui.analysis.stats.pattern_table import TableAccumulator
from paramtui.core.dtypes import dtype_info


def accumulator_for(dtype: str, chunk: int) -> Callable[[], Any]:
    """A factory of fresh accumulators for chunks of `dtype` of at most `chunk` elements."""
    tdtype = getattr(torch, dtype)
    kind = dtype_info(dtype).kind
    if kind == "complex":
        return lambda: ComplexAccumulator(tdtype, chunk)
    if tdtype.itemsize <= 2:
        return lambda: TableAccumulator(tdtype, chunk)
    if tdtype == torch.float32:
        return lambda: Float32Accumulator(tdtype, chunk)
    if kind == "float":
        return lambda: FloatAccumulator(tdtype, chunk)
    return lambda: IntAccumulator(tdtype, chunk)
