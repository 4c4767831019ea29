"""One tensor's statistics and histogram, in one streaming pass over fixed-size chunks.

Memory stays at a few chunks whatever the tensor's size; no float64 copy of a whole tensor is
made. 8/16-bit dtypes are counted exactly in a bit-pattern table (analysis.table); wider dtypes
reduce each chunk to float64 moments and count values on a fine histogram grid
(analysis.accumulate, analysis.histogram). NaN and Inf are counted and left out of the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from paramtui.core import access
from paramtui.core.dtypes import dtype_info
from paramtui.core.model import TensorInfo

if TYPE_CHECKING:
    import torch

    from paramtui.analysis.accumulate import Totals

CHUNK = 1 << 20  # elements per chunk
PROGRESS_STEPS = 40  # at most this many progress calls per tensor (plus the final 1.0)
RELEASE_EVERY = 64 << 20  # bytes: drop pages of a contiguous tensor as the scan passes them


@dataclass(frozen=True)
class TensorStats:
    """Statistics of one tensor. Values other than counts are over its finite values only."""

    name: str
    dtype: str
    count: int  # all elements, NaN and Inf included
    mean: float | None
    std: float | None  # population standard deviation
    min: float | None  # an exact int for integer dtypes
    max: float | None
    abs_mean: float | None
    l2: float | None
    zeros: int
    nan: int
    posinf: int
    neginf: int
    histogram_edges: tuple[float, ...]  # len bins+1 (empty if no finite values)
    histogram_counts: tuple[int, ...]  # len bins; counts of finite values, sum == finite_count
    notes: tuple[str, ...]  # plain-English caveats, e.g. what was excluded or not meaningful

    @property
    def zero_fraction(self) -> float:
        return self.zeros / self.count if self.count else 0.0

    @property
    def finite_count(self) -> int:
        return self.count - self.nan - self.posinf - self.neginf

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: NaN and ±Inf floats become the strings "nan", "inf", "-inf";
        statistics that were not computed are None."""
        out: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            if isinstance(value, tuple):
                value = [_json_number(v) for v in value]
            out[key] = _json_number(value)
        out["zero_fraction"] = self.zero_fraction
        out["finite_count"] = self.finite_count
        return out


class StatsCancelled(Exception):
    """should_cancel() said stop; the statistics were abandoned between two chunks."""


class Accumulator(Protocol):
    def add(self, x: torch.Tensor) -> None: ...

    def totals(self, bins: int) -> Totals: ...


def compute_stats(
    info: TensorInfo,
    *,
    bins: int = 64,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    release: bool = True,
) -> TensorStats:
    """Statistics of a checkpoint tensor, read in place from its file in chunks.

    Raises UnusableInput when the file is truncated, StatsCancelled when should_cancel() says
    so. Tensors that cannot be read in place (quantized, sparse, unknown dtypes) get a
    TensorStats without values whose notes say why."""
    reason = access.unviewable_reason(info)
    if reason is not None:
        return unavailable(info.name, info.dtype, info.numel, reason)
    on_chunk = _releaser(info) if release else None
    try:
        chunks = access.iter_chunks(info, CHUNK)
        return _run(
            info.name, info.dtype, info.numel, chunks, bins, progress, should_cancel, on_chunk
        )
    finally:
        if release:
            access.release_pages(info)


def tensor_stats(
    name: str,
    tensor: torch.Tensor,
    *,
    bins: int = 64,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> TensorStats:
    """The same statistics for a live tensor (any device; chunks are copied to the CPU)."""
    import torch

    dtype = str(tensor.dtype).removeprefix("torch.")
    numel = tensor.numel()
    if tensor.layout != torch.strided:
        return unavailable(
            name, dtype, numel, f"its layout is {tensor.layout}; only dense tensors have statistics"
        )
    if tensor.is_quantized or dtype_info(dtype).kind not in access.VIEWABLE_KINDS:
        return unavailable(name, dtype, numel, f"{dtype} values cannot be read as numbers")
    if tensor.device.type == "meta":
        return unavailable(name, dtype, numel, "it is a meta tensor, which has no values")
    chunks = access.iter_tensor_chunks(tensor, CHUNK)
    return _run(name, dtype, numel, chunks, bins, progress, should_cancel, None)


def unavailable(name: str, dtype: str, count: int, reason: str) -> TensorStats:
    """A TensorStats without values, saying why."""
    nothing = dict.fromkeys(("mean", "std", "min", "max", "abs_mean", "l2"))
    return TensorStats(
        name=name, dtype=dtype, count=count, **nothing, zeros=0, nan=0, posinf=0, neginf=0,
        histogram_edges=(), histogram_counts=(), notes=(f"no statistics: {reason}",),
    )  # fmt: skip


def _run(
    name: str,
    dtype: str,
    numel: int,
    chunks: Iterable[torch.Tensor],
    bins: int,
    progress: Callable[[float], None] | None,
    should_cancel: Callable[[], bool] | None,
    on_chunk: Callable[[int], None] | None,
) -> TensorStats:
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins}")
    acc = _accumulator(dtype, min(CHUNK, max(numel, 1)))
    done, reported = 0, 0.0
    for chunk in chunks:
        if should_cancel is not None and should_cancel():
            raise StatsCancelled(name)
        acc.add(chunk)
        done += chunk.numel()
        if on_chunk is not None:
            on_chunk(done)
        if progress is not None and done / numel - reported >= 1 / PROGRESS_STEPS:
            reported = done / numel
            progress(reported)
    if should_cancel is not None and should_cancel():
        raise StatsCancelled(name)
    if progress is not None and numel:
        progress(1.0)
    return _finish(name, dtype, acc.totals(bins))


def _accumulator(dtype: str, chunk: int) -> Accumulator:
    import torch

    from paramtui.analysis.accumulate import ComplexAccumulator, FloatAccumulator, IntAccumulator
    from paramtui.analysis.table import TableAccumulator

    tdtype = getattr(torch, dtype)
    kind = dtype_info(dtype).kind
    if kind == "complex":
        return ComplexAccumulator(tdtype, chunk)
    if tdtype.itemsize <= 2:
        return TableAccumulator(tdtype, chunk)
    if kind == "float":
        return FloatAccumulator(tdtype, chunk)
    return IntAccumulator(tdtype, chunk)


def _finish(name: str, dtype: str, totals: Totals) -> TensorStats:
    m, t = totals.moments, totals.tally
    notes = list(totals.notes)
    excluded = t.nan + t.posinf + t.neginf
    if excluded and m.n:
        notes.append(
            f"{_plural(excluded, 'NaN/Inf value')} excluded from mean, std, min, max, "
            "mean |x|, L2 and the histogram"
        )
    if not m.n:
        notes.append("no finite values" if totals.count else "empty tensor: no values")
    mean, std, abs_mean, l2 = m.results() or (None, None, None, None)
    if dtype == "bool":
        std = l2 = None
    return TensorStats(
        name, dtype, totals.count, mean, std, t.min, t.max,
        abs_mean, l2, t.zeros, t.nan, t.posinf, t.neginf,
        tuple(totals.edges), totals.counts, tuple(notes),
    )  # fmt: skip


def _releaser(info: TensorInfo) -> Callable[[int], None] | None:
    """For a contiguous tensor: drop the pages the scan has passed, every RELEASE_EVERY bytes."""
    if not info.is_contiguous or info.location is None:
        return None
    start = info.location.offset + info.storage_offset * info.itemsize
    path, itemsize, released = info.location.path, info.itemsize, [0]

    def release(done: int) -> None:
        if done * itemsize - released[0] >= RELEASE_EVERY:
            released[0] = done * itemsize
            access.release_bytes(path, start, released[0])

    return release


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
