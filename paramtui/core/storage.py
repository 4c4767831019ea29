"""Private copies of storages and typed views into them (the copy-on-write layer).

A copy is a 1-D uint8 tensor holding every byte of one storage, so all names that share the
storage (tied weights, views) see one edit. Copies are never written after an edit completes:
an edit clones the current copy and the session keeps the old one for undo. torch is imported
inside functions only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from paramtui.core import access, live
from paramtui.core.dtypes import dtype_info
from paramtui.core.errors import EditRefused, UnusableInput
from paramtui.core.formats.dcp import SHARDED
from paramtui.core.model import TensorInfo

if TYPE_CHECKING:
    import torch

COPY_BLOCK = 64 << 20  # bytes read from the mapping at a time
_INT_OF_SIZE = {1: "int8", 2: "int16", 4: "int32", 8: "int64"}


def read_storage(info: TensorInfo) -> torch.Tensor:
    """A fresh 1-D uint8 copy of the whole storage behind `info`, read in bounded blocks.

    The source pages are released afterwards (the mapping is private and never written). A
    live model's storage (core.live) is cloned where it lives."""
    import torch

    loc = info.location
    live_storage = live.storage_of(info)
    if live_storage is not None:
        return live_storage.clone()  # a live model's storage, copied on its own device
    if info.layout == SHARDED:
        return _assembled(info)
    if loc is None:
        raise EditRefused(f"tensor '{info.name}' cannot be edited: its bytes cannot be located.")
    out = torch.empty(loc.nbytes, dtype=torch.uint8)
    if loc.nbytes == 0:
        return out
    try:
        src = access.open_storage_bytes(info)
    except UnusableInput as exc:
        raise EditRefused(f"tensor '{info.name}' cannot be edited: {exc}") from None
    for begin in range(0, loc.nbytes, COPY_BLOCK):
        out[begin : begin + COPY_BLOCK].copy_(src[begin : begin + COPY_BLOCK])
    del src
    access.release_bytes(loc.path, loc.offset, loc.nbytes)
    return out


def source_tensor(info: TensorInfo) -> torch.Tensor:
    """The unedited value: the read-only mapped view, or for a sharded DCP tensor its chunks
    assembled into a new tensor."""
    if info.layout == SHARDED:
        return typed_view(_assembled(info), info)
    return access.open_tensor(info)


def _assembled(info: TensorInfo) -> torch.Tensor:
    """The bytes of a sharded DCP tensor, its saved chunks copied into one contiguous tensor
    (its TensorInfo describes exactly that: contiguous strides, offset 0)."""
    from paramtui.core import pieces

    try:
        whole = pieces.region_reader(info).read([(0, size) for size in info.shape])
    except pieces.Unreadable as exc:
        raise EditRefused(f"tensor '{info.name}' cannot be edited: {exc}") from None
    return to_bytes(whole.contiguous()).clone()


def typed_view(copy: torch.Tensor, info: TensorInfo) -> torch.Tensor:
    """`info`'s tensor as a view into the uint8 storage copy `copy` (writes go to the copy)."""
    import torch

    dtype = torch_dtype(info.dtype)
    if info.numel == 0:
        return torch.empty_strided(info.shape, info.stride, dtype=dtype)
    size = info.itemsize
    usable = copy.numel() - copy.numel() % size
    if info.storage_offset + access.extent(info.shape, info.stride) > usable // size:
        raise EditRefused(
            f"tensor '{info.name}' reaches past the end of its storage; the checkpoint is "
            "inconsistent and cannot be edited."
        )
    return copy[:usable].view(dtype).as_strided(info.shape, info.stride, info.storage_offset)


def to_bytes(tensor: torch.Tensor) -> torch.Tensor:
    """A new 1-D uint8 storage copy holding `tensor`'s elements in contiguous order."""
    return tensor.detach().contiguous().reshape(-1).view(_uint8()).clone()


def bits(tensor: torch.Tensor) -> torch.Tensor:
    """The elements' bit patterns as integers (16-byte dtypes get a trailing dim of 2)."""
    import torch

    if tensor.dtype.itemsize == 16:
        return torch.view_as_real(tensor).view(torch.int64)
    return tensor.view(_int_dtype(tensor.dtype.itemsize))


def count_changed(before: torch.Tensor, after: torch.Tensor) -> int:
    """Elements whose bit pattern differs (so -0.0 -> 0.0 and NaN payloads count)."""
    if before.numel() == 0:
        return 0
    diff = bits(before) != bits(after)
    if diff.dim() > before.dim():
        diff = diff.any(dim=-1)
    return int(diff.sum())


def zero_where(view: torch.Tensor, kill: torch.Tensor) -> None:
    """Write +0 (all-zero bits) into `view`'s elements where `kill` is True, in place."""
    target = bits(view)
    if target.dim() > view.dim():
        kill = kill.unsqueeze(-1)
    target.masked_fill_(kill, 0)


def values(tensor: torch.Tensor) -> torch.Tensor:
    """Elements in a dtype torch computes with: fp8 / fp16 / bf16 become float32 (a copy)."""
    import torch

    if tensor.is_floating_point() and tensor.dtype.itemsize < 4:
        return tensor.to(torch.float32)
    return tensor


def count_zeros(tensor: torch.Tensor) -> int:
    return int((values(tensor) == 0).sum()) if tensor.numel() else 0


def sparsity(tensor: torch.Tensor) -> float:
    numel = tensor.numel()
    return count_zeros(tensor) / numel if numel else 0.0


def has_overlap(info: TensorInfo) -> bool:
    """True when elements of the view share memory (a stride-0 expanded tensor)."""
    return any(step == 0 and size > 1 for size, step in zip(info.shape, info.stride, strict=True))


def contiguous_stride(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(math.prod(shape[i + 1 :]) for i in range(len(shape)))


def torch_dtype(name: str) -> torch.dtype:
    import torch

    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype) or dtype_info(name).kind == "unknown":
        raise EditRefused(f"the dtype {name} is unknown to paramtui and cannot be edited.")
    return dtype


def _int_dtype(itemsize: int) -> torch.dtype:
    return torch_dtype(_INT_OF_SIZE[itemsize])


def _uint8() -> torch.dtype:
    import torch

    return torch.uint8
