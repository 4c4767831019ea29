"""One tensor's statistics, histogram and quantiles, in one streaming pass over fixed-size chunks.

Memory stays at a few chunks whatever the tensor's size; no float64 copy of a whole tensor is
made. 8/16-bit dtypes are counted exactly in a bit-pattern table (stats.pattern_table); float32 in a
table of its top 16 bits plus exact per-chunk moments (stats.bits32), on worker threads; wider
dtypes reduce each chunk to float64 moments and count values on a fine histogram grid
(stats.accumulate, stats.histogram). NaN and Inf are counted and left out of the rest.
Results for checkpoint tensors are cached (stats.cache); live tensors are never cached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

from paramtui.analysis.stats import cache as stats_cache
from paramtui.analysis.stats import chunked
from paramtui.analysis.stats.engine import StatsCancelled
from paramtui.analysis.stats.result import TensorStats, unavailable
from paramtui.core import access, live, pieces
from paramtui.core.dtypes import dtype_info
from paramtui.core.model import TensorInfo

if TYPE_CHECKING:
    import torch

__all__ = ["StatsCancelled", "TensorStats", "compute_stats", "tensor_stats", "unavailable"]

ENGINE_VERSION = 3  # part of every cache key: bump when results change
RELEASE_EVERY = 8 << 20  # bytes: drop pages of a contiguous tensor as the scan passes them
QUANTIZED_NOTE = (
    "{dtype}: statistics of the stored integers; the scale and zero point are not applied "
    "(the checkpoint's index does not record them)"
)


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
    the same file, tensor and bins is returned at once (see stats.cache)."""
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
    return chunked.dense_stats(name, tensor, bins, progress, should_cancel)


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
            source = pieces.chunk_source(info, chunked.chunk_for, release)
        except pieces.Unreadable as exc:
            return unavailable(info.name, info.dtype, info.numel, str(exc))
        found = chunked.run_chunks(
            info.name, source.dtype, info.numel, source.chunks, bins, progress, should_cancel,
            notes=source.notes,
        )  # fmt: skip
        return replace(found, dtype=info.dtype)
    readable, notes = _readable(info)
    reason = access.unviewable_reason(readable)
    if reason is not None:
        return unavailable(info.name, info.dtype, info.numel, reason)
    chunk = chunked.chunk_for(readable.dtype)
    chunks = lambda: access.iter_chunks(readable, chunk)  # noqa: E731 - read per pass
    releaser = (lambda: access.page_releaser(readable, RELEASE_EVERY)) if release else None
    try:
        found = chunked.run_chunks(
            info.name, readable.dtype, info.numel, chunks, bins, progress, should_cancel,
            releaser, notes,
        )  # fmt: skip
        return found if readable is info else replace(found, dtype=info.dtype)
    finally:
        if release:
            access.release_pages(readable)


def _readable(info: TensorInfo) -> tuple[TensorInfo, tuple[str, ...]]:
    """`info` as a dense tensor of a dtype torch reads: quantized tensors by their integers."""
    if info.dtype in chunked.QUANTIZED_INTS:
        as_int = replace(info, dtype=chunked.QUANTIZED_INTS[info.dtype], layout="strided")
        return as_int, (QUANTIZED_NOTE.format(dtype=info.dtype),)
    return info, ()


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
