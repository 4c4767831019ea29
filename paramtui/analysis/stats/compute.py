"""One tensor's statistics, histogram and quantiles, in one streaming pass over fixed-size chunks.

Memory stays at a few chunks whatever the tensor's size; no float64 copy of a whole tensor is
made. 8/16-bit dtypes are counted exactly in a bit-pattern table (analysis.table); float32 in a
table of its top 16 bits plus exact per-chunk moments (analysis.bits32), on worker threads; wider
dtypes reduce each chunk to float64 moments and count values on a fine histogram grid
(analysis.accumulate, analysis.histogram). NaN and Inf are counted and left out of the rest.
Results for checkpoint tensors are cached (analysis.cache); live tensors are never cached.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from paramtui.analysis.stats import cache as stats_cache
from paramtui.analysis.stats import engine
from paramtui.analysis.stats.engine import StatsCancelled
from paramtui.core import access, live, pieces
from paramtui.core.dtypes import dtype_info
from paramtui.core.model import TensorInfo

if TYPE_CHECKING:
    import torch

    from paramtui.analysis.stats.accumulate import Totals

__all__ = ["StatsCancelled", "TensorStats", "compute_stats", "tensor_stats", "unavailable"]

ENGINE_VERSION = 3  # part of every cache key: bump when results change
CHUNK = 1 << 18  # elements per chunk of 4- and 8-byte dtypes (cache-sized); more for smaller
DEVICE_CHUNK = 1 << 24  # elements per chunk reduced on a GPU (few kernel launches, 64 MiB temps)
RELEASE_EVERY = 8 << 20  # bytes: drop pages of a contiguous tensor as the scan passes them
QUANTIZED_INTS = {"qint8": "int8", "quint8": "uint8", "qint32": "int32"}
QUANTIZED_NOTE = (
    "{dtype}: statistics of the stored integers; the scale and zero point are not applied "
    "(the checkpoint's index does not record them)"
)


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
    # percent (1, 5, 25, 50, 75, 95, 99) -> value, numpy's "inverted_cdf" definition
    quantiles: dict[float, float] | None = None
    quantile_error: float | None = None  # |reported - true| bound; 0.0 when exact

    @property
    def zero_fraction(self) -> float:
        return self.zeros / self.count if self.count else 0.0

    @property
    def finite_count(self) -> int:
        return self.count - self.nan - self.posinf - self.neginf

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: NaN and ±Inf floats become the strings "nan", "inf", "-inf";
        statistics that were not computed are None; quantiles are keyed "1", "5", ... "99"."""
        out: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            if isinstance(value, tuple):
                value = [_json_number(v) for v in value]
            elif isinstance(value, dict):
                value = {f"{p:g}": _json_number(v) for p, v in value.items()}
            out[key] = _json_number(value)
        out["zero_fraction"] = self.zero_fraction
        out["finite_count"] = self.finite_count
        return out


def compute_stats(
    info: TensorInfo,
    *,
    bins: int = 64,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    release: bool = True,
    cache: bool = True,
) -> TensorStats:
    """Statistics of a checkpoint tensor, read in place from its file in chunks.

    Raises UnusableInput when the file is truncated, StatsCancelled when should_cancel() says
    so. Tensors that cannot be read in place (sparse, packed 4-bit, unknown dtypes) get a
    TensorStats without values whose notes say why. With `cache`, a result computed before for
    the same file, tensor and bins is returned at once (see analysis.cache)."""
    _check_bins(bins)
    key = stats_cache.key_for(info, bins, ENGINE_VERSION) if cache else None
    if key is not None and (found := _cached(key)) is not None:
        if progress is not None:
            progress(1.0)
        return found
    stats = _compute(info, bins, progress, should_cancel, release)
    if key is not None and key == stats_cache.key_for(info, bins, ENGINE_VERSION):
        stats_cache.remember(key, stats)
        if info.numel >= stats_cache.DISK_MIN_ELEMENTS:
            stats_cache.store(key, _to_cache(stats))
    return stats


def tensor_stats(
    name: str,
    tensor: torch.Tensor,
    *,
    bins: int = 64,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> TensorStats:
    """The same statistics for a live tensor. On a GPU, float32 and 8/16-bit tensors are reduced
    there (chunks of DEVICE_CHUNK; only per-chunk sums and key counts come to the host); other
    dtypes, and a second histogram pass when one is needed, copy chunk by chunk to the CPU.
    Sparse tensors count their implicit zeros; quantized ones are decoded when their scheme is
    per-tensor affine, else described by their stored integers."""
    import torch

    from paramtui.analysis.stats import special

    _check_bins(bins)
    dtype = str(tensor.dtype).removeprefix("torch.")
    numel = tensor.numel()
    if tensor.device.type == "meta":
        return unavailable(name, dtype, numel, "it is a meta tensor, which has no values")
    if tensor.is_quantized:
        return special.quantized_stats(name, tensor, bins, progress, should_cancel)
    if dtype_info(dtype).kind not in access.VIEWABLE_KINDS:
        return unavailable(name, dtype, numel, f"{dtype} values cannot be read as numbers")
    if tensor.layout != torch.strided:
        if not tensor.is_sparse and "sparse" not in str(tensor.layout):
            reason = f"its layout is {tensor.layout}; only dense and sparse tensors have statistics"
            return unavailable(name, dtype, numel, reason)
        return special.sparse_stats(name, tensor, bins, progress, should_cancel)
    chunk = chunk_for(dtype)
    chunks = lambda: access.iter_tensor_chunks(tensor, chunk)  # noqa: E731 - read per pass
    first = None
    if counted_on_device(tensor):  # the first (usually only) pass runs where the tensor lives
        first = lambda: access.iter_tensor_chunks(tensor, DEVICE_CHUNK, on_device=True)  # noqa: E731
    return run_chunks(name, dtype, numel, chunks, bins, progress, should_cancel, first=first)


def counted_on_device(tensor: torch.Tensor) -> bool:
    """Whether a live tensor's statistics are computed on its own device: CUDA tensors of the
    dtypes whose accumulators need only torch reductions and a bincount of 16-bit keys (other
    accelerators, e.g. MPS without float64, keep the host path)."""
    dtype = str(tensor.dtype).removeprefix("torch.")
    info = dtype_info(dtype)
    cuda = tensor.device.type == "cuda"
    return cuda and info.kind != "complex" and (info.itemsize <= 2 or dtype == "float32")


def unavailable(name: str, dtype: str, count: int, reason: str) -> TensorStats:
    """A TensorStats without values, saying why."""
    nothing = dict.fromkeys(("mean", "std", "min", "max", "abs_mean", "l2"))
    return TensorStats(
        name=name, dtype=dtype, count=count, **nothing, zeros=0, nan=0, posinf=0, neginf=0,
        histogram_edges=(), histogram_counts=(), notes=(f"no statistics: {reason}",),
    )  # fmt: skip


def chunk_for(dtype: str) -> int:
    """Elements per chunk: CHUNK for 4- and 8-byte dtypes, more for smaller ones."""
    size = dtype_info(dtype).itemsize
    return CHUNK * (4 if size == 1 else 2 if size == 2 else 1)


def run_chunks(
    name: str,
    dtype: str,
    numel: int,
    chunks: Callable[[], Iterable[torch.Tensor]],
    bins: int,
    progress: Callable[[float], None] | None,
    should_cancel: Callable[[], bool] | None,
    releaser: Callable[[], Callable[[int], None] | None] | None = None,
    notes: tuple[str, ...] = (),
    first: Callable[[], Iterable[torch.Tensor]] | None = None,
) -> TensorStats:
    """Statistics of the chunks that `chunks()` yields (called again for a second pass).
    `releaser()` gives each pass a callback told how many leading elements are done with.
    `first()`, when given, yields the first pass's chunks instead (on a GPU), read serially."""
    from paramtui.analysis.stats.dispatch import accumulator_for

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


def _compute(
    info: TensorInfo,
    bins: int,
    progress: Callable[[float], None] | None,
    should_cancel: Callable[[], bool] | None,
    release: bool,
) -> TensorStats:
    if info.location is None and (view := live.live_view(info)) is not None:  # a live model
        return tensor_stats(
            info.name, view, bins=bins, progress=progress, should_cancel=should_cancel
        )
    if pieces.is_composite(info):  # GGUF blocks, sharded DCP: read in pieces
        try:
            source = pieces.chunk_source(info, chunk_for, release)
        except pieces.Unreadable as exc:
            return unavailable(info.name, info.dtype, info.numel, str(exc))
        found = run_chunks(
            info.name, source.dtype, info.numel, source.chunks, bins, progress, should_cancel,
            notes=source.notes,
        )  # fmt: skip
        return replace(found, dtype=info.dtype)
    readable, notes = _readable(info)
    reason = access.unviewable_reason(readable)
    if reason is not None:
        return unavailable(info.name, info.dtype, info.numel, reason)
    chunk = chunk_for(readable.dtype)
    chunks = lambda: access.iter_chunks(readable, chunk)  # noqa: E731 - read per pass
    releaser = (lambda: access.page_releaser(readable, RELEASE_EVERY)) if release else None
    try:
        found = run_chunks(
            info.name, readable.dtype, info.numel, chunks, bins, progress, should_cancel,
            releaser, notes,
        )  # fmt: skip
        return found if readable is info else replace(found, dtype=info.dtype)
    finally:
        if release:
            access.release_pages(readable)


def _readable(info: TensorInfo) -> tuple[TensorInfo, tuple[str, ...]]:
    """`info` as a dense tensor of a dtype torch reads: quantized tensors by their integers."""
    if info.dtype in QUANTIZED_INTS:
        as_int = replace(info, dtype=QUANTIZED_INTS[info.dtype], layout="strided")
        return as_int, (QUANTIZED_NOTE.format(dtype=info.dtype),)
    return info, ()


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


def _cached(key: str) -> TensorStats | None:
    found = stats_cache.recall(key)
    if isinstance(found, TensorStats):
        return found
    stored = stats_cache.load(key)
    if stored is None:
        return None
    try:
        stats = _from_cache(stored)
    except (KeyError, TypeError, ValueError):
        return None
    stats_cache.remember(key, stats)
    return stats


def _to_cache(stats: TensorStats) -> dict[str, Any]:
    out: dict[str, Any] = {f.name: getattr(stats, f.name) for f in fields(stats)}
    if stats.quantiles is not None:
        out["quantiles"] = [[p, v] for p, v in stats.quantiles.items()]
    return out


def _from_cache(raw: dict[str, Any]) -> TensorStats:
    values = {f.name: raw[f.name] for f in fields(TensorStats)}
    for key in ("histogram_edges", "histogram_counts", "notes"):
        values[key] = tuple(values[key])
    if values["quantiles"] is not None:
        values["quantiles"] = {float(p): v for p, v in values["quantiles"]}
    return TensorStats(**values)


def _check_bins(bins: int) -> None:
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins}")


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
