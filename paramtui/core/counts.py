"""Element and byte counts by role, each view of a storage counted once (tied weights).

A parameter tied to another name (`lm_head.weight` and `embed.weight` on one storage) is one
parameter, not two; views of different parts of one storage (LSTM gates) are each counted.
Names, shapes and strides only: no tensor bytes are read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from paramtui.core.dtypes import DTYPES
from paramtui.core.model import BUFFER, OPTIMIZER_STATE, PARAMETER, TensorInfo

_View = tuple[str, int, tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Tally:
    """Elements and bytes of a set of tensors."""

    numel: int = 0
    nbytes: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"numel": self.numel, "nbytes": self.nbytes}


@dataclass(frozen=True, slots=True)
class RoleCounts:
    """What a set of tensors holds, split by role (each view once); `tensors` and `every`
    count every name on its own (a tied weight twice)."""

    tensors: int = 0
    every: Tally = Tally()
    parameters: Tally = Tally()
    buffers: Tally = Tally()
    optimizer_state: Tally = Tally()
    other: Tally = Tally()  # gradients, schedulers' tensors, anything else
    shares_storage: bool = False  # some names share a storage (tied weights, views)

    @property
    def headline(self) -> int:
        """The number a tree shows: the parameters, or every element where there are none
        (an optimizer's state, a bare set of buffers)."""
        if self.parameters.numel:
            return self.parameters.numel
        return self.buffers.numel + self.optimizer_state.numel + self.other.numel

    def to_dict(self) -> dict[str, Any]:
        return {
            "tensors": self.tensors,
            "elements": self.every.to_dict(),
            "parameters": self.parameters.to_dict(),
            "buffers": self.buffers.to_dict(),
            "optimizer_state": self.optimizer_state.to_dict(),
            "other": self.other.to_dict(),
        }


_SLOTS = {PARAMETER: 0, BUFFER: 1, OPTIMIZER_STATE: 2}


def count_roles(tensors: Iterable[TensorInfo], dedupe: bool = True) -> RoleCounts:
    """One pass over `tensors`; a name viewing the same bytes as an earlier one is skipped.
    `dedupe=False` skips the check where no two tensors can share a storage (a part of a set
    already counted with `shares_storage` False)."""
    numel, nbytes = [0, 0, 0, 0], [0, 0, 0, 0]
    itemsizes: dict[str | None, int] = {None: 0}
    first: dict[str, TensorInfo] = {}
    views: set[_View] = set()
    count = every_numel = every_nbytes = 0
    for info in tensors:
        count += 1
        n = info.numel
        b = info.stored_nbytes  # block-quantized (GGUF): not numel * itemsize
        if b is None:
            size = itemsizes.get(info.dtype)
            b = n * (size if size is not None else _remember(itemsizes, info.dtype))
        every_numel += n
        every_nbytes += b
        seen = first.setdefault(info.storage_id, info) if dedupe else info
        if seen is not info and not _new_view(seen, info, views):
            continue
        slot = _SLOTS.get(info.role, 3)
        numel[slot] += n
        nbytes[slot] += b
    params, buffers, state, other = (Tally(n, b) for n, b in zip(numel, nbytes, strict=True))
    every = Tally(every_numel, every_nbytes)
    return RoleCounts(count, every, params, buffers, state, other, len(first) < count)


def _new_view(seen: TensorInfo, info: TensorInfo, views: set[_View]) -> bool:
    """A shared storage (rare, so kept off the fast path): is `info` a view not seen yet?"""
    views.add(_view(seen))
    view = _view(info)
    if view in views:
        return False
    views.add(view)
    return True


def _remember(itemsizes: dict[str | None, int], dtype: str) -> int:
    size = itemsizes[dtype] = _itemsize(dtype)
    return size


def _itemsize(dtype: str) -> int:
    found = DTYPES.get(dtype)
    return found.itemsize if found is not None else 1


def _view(info: TensorInfo) -> _View:
    return (info.storage_id, info.storage_offset, info.shape, info.stride)
