"""Lazy tensor access: a tensor's bytes are read in place through a private mmap, on demand.

Each file is mapped once (MAP_PRIVATE, so no tensor made here can ever write to the file) and the
mapping is shared by every tensor of that file. Callers treat the tensors as read-only: clone
before editing, because `release_pages` drops the pages of a tensor's range, which would also
drop any edit written into them. torch is imported inside functions only.
"""

from __future__ import annotations

import itertools
import math
import mmap
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from paramtui.core import live
from paramtui.core.dtypes import dtype_info
from paramtui.core.errors import UnusableInput
from paramtui.core.model import DataLocation, TensorInfo

if TYPE_CHECKING:
    import torch

DEFAULT_CHUNK = 1 << 20  # elements
COPY_BLOCK = 64 << 20  # bytes copied at a time when unaligned storages must be copied
VIEWABLE_KINDS = frozenset({"float", "int", "uint", "bool", "complex"})

_lock = threading.Lock()
_maps: dict[str, tuple[tuple[int, int, int, int], mmap.mmap]] = {}


def unviewable_reason(info: TensorInfo) -> str | None:
    """Why `info`'s bytes cannot be viewed as a plain tensor, or None when they can."""
    kind = dtype_info(info.dtype).kind
    if info.layout != "strided":
        return f"its layout is {info.layout}; only dense (strided) tensors are read in place"
    if kind == "quantized":
        return f"{info.dtype} is a quantized dtype, which paramtui does not decode yet"
    if kind not in VIEWABLE_KINDS:
        return f"the dtype {info.dtype} is unknown to paramtui"
    if info.location is None and live.storage_of(info) is None:
        return "the file does not say where its bytes are, so they cannot be read in place"
    return None


def open_tensor(info: TensorInfo) -> torch.Tensor:
    """A CPU tensor over `info`'s bytes in the file: zero-copy when aligned, else a private copy.

    Storages whose offset is not a multiple of the item size (legacy torch files) are copied,
    because torch kernels may assume aligned data. A live tensor (core.live) is returned as a
    view of its memory, on its own device.
    """
    import torch

    if (view := _live_view(info)) is not None:
        return view
    start, nbytes = _checked_range(info)
    dtype = _torch_dtype(info.dtype)
    if info.numel == 0:
        return torch.empty_strided(info.shape, info.stride, dtype=dtype)
    mm = _mapping(info)
    if start % info.itemsize == 0:
        flat = torch.frombuffer(mm, dtype=dtype, count=nbytes // info.itemsize, offset=start)
    else:
        flat = _aligned_copy(mm, start, nbytes, dtype)
    return flat.as_strided(info.shape, info.stride, 0)


def open_storage_bytes(info: TensorInfo) -> torch.Tensor:
    """The whole storage behind `info` (not only its view) as a 1-D uint8 tensor over the file."""
    loc = _check(info)
    whole = replace(
        info,
        shape=(loc.nbytes,),
        dtype="uint8",
        stride=(1,),
        storage_offset=0,
        layout="strided",
        stored_nbytes=None,
    )
    return open_tensor(whole)


def iter_chunks(info: TensorInfo, chunk_elems: int = DEFAULT_CHUNK) -> Iterator[torch.Tensor]:
    """Contiguous 1-D tensors of at most `chunk_elems` elements covering `info` in logical order.

    Contiguous aligned tensors yield zero-copy views; other tensors materialise one chunk at a
    time (gathered through a byte view, so unaligned data never meets a typed kernel). Live
    tensors are chunked on their device, each chunk copied to the CPU."""
    if (view := _live_view(info)) is not None:
        yield from iter_tensor_chunks(view, chunk_elems)
        return
    start, nbytes = _checked_range(info)
    if info.numel == 0:
        return
    mm = _mapping(info)
    shape, stride = coalesce(info.shape, info.stride)
    if start % info.itemsize == 0:
        yield from _typed_chunks(mm, info, start, nbytes, shape, stride, chunk_elems)
    else:
        yield from _byte_chunks(mm, info, start, nbytes, shape, stride, chunk_elems)


def iter_tensor_chunks(
    tensor: torch.Tensor, chunk_elems: int = DEFAULT_CHUNK, on_device: bool = False
) -> Iterator[torch.Tensor]:
    """The same chunking for a live tensor (any device): contiguous chunks in logical order,
    copied to the CPU unless `on_device`."""
    if tensor.numel() == 0:
        return
    shape, stride = coalesce(tuple(tensor.shape), tuple(tensor.stride()))
    view = tensor.detach().as_strided(shape, stride)
    for index in block_indices(shape, chunk_elems):
        block = view[index].reshape(-1).contiguous()
        yield block if on_device else block.cpu()


def release_pages(info: TensorInfo) -> None:
    """Drop the resident pages of `info`'s byte range (MADV_DONTNEED), so RSS does not grow.

    Safe only because our mapping is private and never written: dropped pages are read back
    from the file if they are touched again."""
    if info.location is None or info.numel == 0:
        return
    count = extent(info.shape, info.stride)
    begin = info.location.offset + info.storage_offset * info.itemsize
    release_bytes(info.location.path, begin, count * info.itemsize)


def page_releaser(info: TensorInfo, every: int) -> Callable[[int], None] | None:
    """For a contiguous tensor read in order: a callback taking how many leading elements are
    done with, which drops their pages every `every` bytes. None for other tensors."""
    if not info.is_contiguous or info.location is None:
        return None
    start = info.location.offset + info.storage_offset * info.itemsize
    path, itemsize, released = info.location.path, info.itemsize, [0]

    def release(done: int) -> None:
        if done * itemsize - released[0] >= every:
            released[0] = done * itemsize
            release_bytes(path, start, released[0])

    return release


def release_bytes(path: str, offset: int, nbytes: int) -> None:
    """Drop the resident pages of bytes `offset..offset+nbytes` of `path`'s mapping, if mapped."""
    advice = getattr(mmap, "MADV_DONTNEED", None)
    with _lock:
        entry = _maps.get(path)
    if entry is None or advice is None or nbytes <= 0:
        return
    mm = entry[1]
    begin = offset - offset % mmap.PAGESIZE
    end = min(len(mm), offset + nbytes)
    if end > begin:
        mm.madvise(advice, begin, end - begin)


def forget(path: str | None = None) -> None:
    """Stop caching the mapping of `path` (every path when None). Live tensors keep theirs."""
    with _lock:
        if path is None:
            _maps.clear()
        else:
            _maps.pop(path, None)


def _live_view(info: TensorInfo) -> torch.Tensor | None:
    if info.location is not None or unviewable_reason(info) is not None:
        return None
    return live.live_view(info)


def _typed_chunks(
    mm: mmap.mmap,
    info: TensorInfo,
    start: int,
    nbytes: int,
    shape: tuple[int, ...],
    stride: tuple[int, ...],
    chunk: int,
) -> Iterator[torch.Tensor]:
    import torch

    flat = torch.frombuffer(
        mm, dtype=_torch_dtype(info.dtype), count=nbytes // info.itemsize, offset=start
    )
    view = flat.as_strided(shape, stride, 0)
    for index in block_indices(shape, chunk):
        yield view[index].reshape(-1).contiguous()  # a view when the block is contiguous


def _byte_chunks(
    mm: mmap.mmap,
    info: TensorInfo,
    start: int,
    nbytes: int,
    shape: tuple[int, ...],
    stride: tuple[int, ...],
    chunk: int,
) -> Iterator[torch.Tensor]:
    import torch

    size = info.itemsize
    raw = torch.frombuffer(mm, dtype=torch.uint8, count=nbytes, offset=start)
    view = raw.as_strided(shape + (size,), tuple(s * size for s in stride) + (1,), 0)
    dtype = _torch_dtype(info.dtype)
    for index in block_indices(shape, chunk):
        block = view[index].clone(memory_format=torch.contiguous_format)  # aligned copy
        yield block.view(dtype).reshape(-1)


def _aligned_copy(mm: mmap.mmap, start: int, nbytes: int, dtype: torch.dtype) -> torch.Tensor:
    import torch

    raw = torch.frombuffer(mm, dtype=torch.uint8, count=nbytes, offset=start)
    out = torch.empty(nbytes, dtype=torch.uint8)
    for begin in range(0, nbytes, COPY_BLOCK):
        out[begin : begin + COPY_BLOCK].copy_(raw[begin : begin + COPY_BLOCK])
    return out.view(dtype)


def _checked_range(info: TensorInfo) -> tuple[int, int]:
    """(file offset, byte count) of the elements `info` reaches; raises when they are missing."""
    loc = _check(info)
    first = info.storage_offset * info.itemsize
    nbytes = extent(info.shape, info.stride) * info.itemsize if info.numel else 0
    if first + nbytes > loc.nbytes:
        raise UnusableInput(
            f"tensor '{info.name}' in {loc.path} reaches byte {first + nbytes} of its storage, "
            f"which holds only {loc.nbytes} bytes; the checkpoint is inconsistent."
        )
    start = loc.offset + first
    size = _file_size(loc.path)
    if start + nbytes > size:
        raise UnusableInput(
            f"tensor '{info.name}' needs bytes {start}..{start + nbytes} of {loc.path}, "
            f"but the file has only {size} bytes: it is truncated. Copy or download it again."
        )
    return start, nbytes


def _check(info: TensorInfo) -> DataLocation:
    if sys.byteorder != "little":
        raise UnusableInput(
            "paramtui reads tensor bytes in place and supports little-endian machines only; "
            f"this machine is {sys.byteorder}-endian."
        )
    reason = unviewable_reason(info)
    if reason is not None:
        raise UnusableInput(f"tensor '{info.name}' cannot be read: {reason}.")
    assert info.location is not None  # unviewable_reason checked it
    return info.location


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError as exc:
        raise UnusableInput(f"{path} cannot be read: {exc.strerror}.") from None


def _mapping(info: TensorInfo) -> mmap.mmap:
    """The cached private mapping of the tensor's file, remapped if the file has changed."""
    assert info.location is not None
    path = info.location.path
    st = os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _lock:
        entry = _maps.get(path)
        if entry is not None and entry[0] == key:
            return entry[1]
        try:
            with open(path, "rb") as f:
                mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        except (OSError, ValueError) as exc:
            raise UnusableInput(f"{path} cannot be mapped into memory: {exc}.") from None
        _maps[path] = (key, mm)
        return mm


def _torch_dtype(name: str) -> torch.dtype:
    import torch

    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise UnusableInput(f"this version of torch ({torch.__version__}) has no dtype {name}.")
    return dtype


def extent(shape: tuple[int, ...], stride: tuple[int, ...]) -> int:
    """Storage elements spanned by a non-empty strided view, from its first element."""
    return 1 + sum((size - 1) * step for size, step in zip(shape, stride, strict=True))


def coalesce(
    shape: tuple[int, ...], stride: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The same elements in the same order with fewer dims: size-1 dims dropped, and each dim
    merged into its predecessor when the two step through memory as one."""
    dims: list[list[int]] = []
    for size, step in zip(shape, stride, strict=True):
        if size == 1:
            continue
        if dims and dims[-1][1] == step * size:
            dims[-1] = [dims[-1][0] * size, step]
        else:
            dims.append([size, step])
    return tuple(d[0] for d in dims), tuple(d[1] for d in dims)


def block_indices(shape: tuple[int, ...], chunk: int) -> Iterator[tuple[int | slice, ...]]:
    """Indices of consecutive blocks of at most `chunk` elements, in logical (row-major) order.

    The trailing dims that fit in a chunk stay whole; the dim before them is sliced; the dims
    further out are walked one index at a time."""
    k = len(shape)
    while k > 0 and math.prod(shape[k - 1 :]) <= chunk:
        k -= 1
    if k == 0:
        yield ()
        return
    inner = math.prod(shape[k:])
    rows = max(1, chunk // inner)
    for outer in itertools.product(*(range(size) for size in shape[: k - 1])):
        for row in range(0, shape[k - 1], rows):
            yield (*outer, slice(row, row + rows))
