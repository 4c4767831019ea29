"""Statistics of a stream of chunks: chunk sizes, the accumulator passes, and the result.

The pieces every front of the engine shares (compute.py for checkpoint tensors, special.py for
quantized and sparse live tensors): they import this module, never each other's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from paramtui.analysis.stats import engine
from paramtui.analysis.stats.result import TensorStats
from paramtui.core import access
from paramtui.core.dtypes import dtype_info

if TYPE_CHECKING:
    import torch

    from paramtui.analysis.stats.accumulate import Totals

Progress = Callable[[float], None] | None
Cancel = Callable[[], bool] | None

CHUNK = 1 << 18  # elements per chunk of 4- and 8-byte dtypes (cache-sized); more for smaller
DEVICE_CHUNK = 1 << 24  # elements per chunk reduced on a GPU (few kernel launches, 64 MiB temps)
QUANTIZED_INTS = {"qint8": "int8", "quint8": "uint8", "qint32": "int32"}


def chunk_for(dtype: str) -> int:
    """Elements per chunk: CHUNK for 4- and 8-byte dtypes, more for smaller ones."""
    size = dtype_info(dtype).itemsize
    return CHUNK * (4 if size == 1 else 2 if size == 2 else 1)


def counted_on_device(tensor: torch.Tensor) -> bool:
    """Whether a live tensor's statistics are computed on its own device: CUDA tensors of the
    dtypes whose accumulators need only torch reductions and a bincount of 16-bit keys (other
    accelerators, e.g. MPS without float64, keep the host path)."""
    dtype = str(tensor.dtype).removeprefix("torch.")
    info = dtype_info(dtype)
    cuda = tensor.device.type == "cuda"
    return cuda and info.kind != "complex" and (info.itemsize <= 2 or dtype == "float32")


def dense_stats(
    name: str, tensor: torch.Tensor, bins: int, progress: Progress, should_cancel: Cancel
) -> TensorStats:
    """Statistics of a dense (strided) live tensor of a viewable dtype; the first (usually
    only) pass runs where the tensor lives when counted_on_device() says so."""
    dtype = str(tensor.dtype).removeprefix("torch.")
    chunk = chunk_for(dtype)
    chunks = lambda: access.iter_tensor_chunks(tensor, chunk)  # noqa: E731 - read per pass
    first = None
    if counted_on_device(tensor):
        first = lambda: access.iter_tensor_chunks(tensor, DEVICE_CHUNK, on_device=True)  # noqa: E731
    numel = tensor.numel()
    return run_chunks(name, dtype, numel, chunks, bins, progress, should_cancel, first=first)


def run_chunks(
    name: str,
    dtype: str,
    numel: int,
    chunks: Callable[[], Iterable[torch.Tensor]],
    bins: int,
    progress: Progress,
    should_cancel: Cancel,
    releaser: Callable[[], Callable[[int], None] | None] | None = None,
    notes: tuple[str, ...] = (),
    first: Callable[[], Iterable[torch.Tensor]] | None = None,
) -> TensorStats:
    """Statistics of the chunks that `chunks()` yields (called again for a second pass).
    `releaser()` gives each pass a callback told how many leading elements are done with.
    `first()`, when given, yields the first pass's chunks instead (on a GPU), read serially."""
    from paramtui.analysis.stats.dispatch import accumulator_for  # imports torch

    chunk = chunk_for(dtype)
    make = accumulator_for(dtype, min(chunk, max(numel, 1)))
    release = releaser or (lambda: None)
    hooks = engine.Hooks(numel, progress, should_cancel, release())
    if first is not None:
        acc = engine.run(first(), make, hooks, chunk, serial=True)
    else:
        acc = engine.run(chunks(), make, hooks, chunk)
    finer = acc.second_pass(bins) if hasattr(acc, "second_pass") else None
    if finer is not None:
        more = engine.Hooks(numel, None, should_cancel, release())
        spec = finer
        finer = engine.run(chunks(), lambda: spec.make(chunk), more, chunk)
    totals = acc.totals(bins, finer) if finer is not None else acc.totals(bins)
    if progress is not None and numel:
        progress(1.0)
    return finish(name, dtype, totals, notes)


def finish(name: str, dtype: str, totals: Totals, extra: tuple[str, ...] = ()) -> TensorStats:
    """The TensorStats of what an accumulator found."""
    m, t = totals.moments, totals.tally
    notes = list(extra) + list(totals.notes)
    excluded = t.nan + t.posinf + t.neginf
    if excluded and m.n:
        notes.append(
            f"{_plural(excluded, 'NaN/Inf value')} excluded from mean, std, min, max, "
            "mean |x|, L2, quantiles and the histogram"
        )
    if not m.n:
        notes.append("no finite values" if totals.count else "empty tensor: no values")
    mean, std, abs_mean, l2 = m.results() or (None, None, None, None)
    if dtype == "bool":
        std = l2 = None
    found = totals.quantiles
    return TensorStats(
        name, dtype, totals.count, mean, std, t.min, t.max,
        abs_mean, l2, t.zeros, t.nan, t.posinf, t.neginf,
        tuple(totals.edges), totals.counts, tuple(notes),
        found.values if found is not None else None,
        found.error if found is not None else None,
    )  # fmt: skip


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
