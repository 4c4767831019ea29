"""Statistics of live tensors that are not plain dense ones: quantized and sparse tensors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import torch

from paramtui.analysis.stats import engine
from paramtui.analysis.stats.chunked import (
    QUANTIZED_INTS,
    Cancel,
    Progress,
    chunk_for,
    dense_stats,
    finish,
    run_chunks,
)
from paramtui.analysis.stats.pattern_table import TableAccumulator, pattern_values, table_totals
from paramtui.analysis.stats.result import TensorStats, unavailable
from paramtui.core import access

PER_TENSOR = (torch.per_tensor_affine, torch.per_tensor_symmetric)


def quantized_stats(
    name: str, tensor: torch.Tensor, bins: int, progress: Progress, should_cancel: Cancel
) -> TensorStats:
    """Per-tensor quantized values decoded as (q - zero_point) * scale in float64; other
    schemes described by their stored integers."""
    dtype = str(tensor.dtype).removeprefix("torch.")
    as_int = QUANTIZED_INTS.get(dtype)
    if as_int is None:
        reason = f"{dtype} packs several values per byte, which paramtui does not decode"
        return unavailable(name, dtype, tensor.numel(), reason)
    ints = tensor.int_repr()
    if tensor.qscheme() not in PER_TENSOR:
        note = f"{dtype} ({tensor.qscheme()}): statistics of the stored integers"
        found = dense_stats(name, ints, bins, progress, should_cancel)
        return replace(found, dtype=dtype, notes=(note, *found.notes))
    scale, zero = float(tensor.q_scale()), int(tensor.q_zero_point())
    note = f"{dtype}: values decoded as (q - {zero}) * {scale!r}"
    if ints.dtype.itemsize == 1:
        return _decoded_table(name, dtype, ints, (scale, zero), bins, progress, should_cancel)
    chunk = chunk_for("int64")

    def shifted() -> Iterator[torch.Tensor]:
        for part in access.iter_tensor_chunks(ints, chunk):
            yield part.to(torch.int64).sub_(zero)

    found = run_chunks(name, "int64", ints.numel(), shifted, bins, progress,
                             should_cancel, notes=(note,))  # fmt: skip
    return _scaled(replace(found, dtype=dtype), scale)


def _scaled(found: TensorStats, scale: float) -> TensorStats:
    """Statistics of the values times `scale` (> 0), from those of the values."""

    def times(value: float | None) -> float | None:
        return None if value is None else value * scale

    quantiles = found.quantiles
    return replace(
        found,
        mean=times(found.mean), std=times(found.std), min=times(found.min),
        max=times(found.max), abs_mean=times(found.abs_mean), l2=times(found.l2),
        histogram_edges=tuple(e * scale for e in found.histogram_edges),
        quantiles=None if quantiles is None else {p: v * scale for p, v in quantiles.items()},
        quantile_error=times(found.quantile_error),
    )  # fmt: skip


def _decoded_table(
    name: str,
    dtype: str,
    ints: torch.Tensor,
    affine: tuple[float, int],
    bins: int,
    progress: Progress,
    should_cancel: Cancel,
) -> TensorStats:
    chunk = chunk_for(str(ints.dtype).removeprefix("torch."))
    hooks = engine.Hooks(ints.numel(), progress, should_cancel)
    chunks = access.iter_tensor_chunks(ints, chunk)
    acc = engine.run(chunks, lambda: TableAccumulator(ints.dtype, chunk), hooks, chunk)
    scale, zero = affine
    values = (pattern_values(ints.dtype) - zero) * scale
    totals = table_totals(ints.dtype, acc.counts, bins, np.asarray(values, dtype=np.float64))
    if progress is not None and ints.numel():
        progress(1.0)
    note = f"{dtype}: values decoded as (q - {zero}) * {scale!r}"
    return finish(name, dtype, totals, (note,))


def sparse_stats(
    name: str, tensor: torch.Tensor, bins: int, progress: Progress, should_cancel: Cancel
) -> TensorStats:
    """Statistics of the dense tensor a sparse one stands for: its stored values plus its
    implicit zeros."""
    dtype = str(tensor.dtype).removeprefix("torch.")
    layout = str(tensor.layout).removeprefix("torch.")
    if tensor.layout == torch.sparse_coo:
        tensor = tensor.coalesce()  # duplicates add up, as in the dense tensor
    try:
        values = tensor.values()
    except (RuntimeError, NotImplementedError):
        reason = f"its layout is {layout}, whose values paramtui cannot read"
        return unavailable(name, dtype, tensor.numel(), reason)
    implicit = tensor.numel() - values.numel()
    chunk = chunk_for(dtype)
    zero = torch.zeros(max(1, min(chunk, implicit)), dtype=values.dtype)

    def chunks() -> Iterator[torch.Tensor]:
        yield from access.iter_tensor_chunks(values, chunk)
        for start in range(0, implicit, zero.numel()):
            yield zero[: min(zero.numel(), implicit - start)]

    note = f"{layout}: {values.numel():,} stored values and {implicit:,} implicit zeros"
    return run_chunks(name, dtype, tensor.numel(), chunks, bins, progress,
                            should_cancel, notes=(note,))  # fmt: skip
