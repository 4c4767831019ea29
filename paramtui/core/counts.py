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


def count_roles(tensors: Iterable[TensorInfo], dedupe: bool = True) -> RoleCounts:
    """Counts of `tensors`; a name viewing the same bytes as an earlier one counts once by
    role. `dedupe=False` skips the check where no two tensors can share a storage (a part of a
    set already counted with `shares_storage` False)."""
    members = tensors if isinstance(tensors, list) else list(tensors)
    shared = dedupe and len({info.storage_id for info in members}) < len(members)
    return _tally(members, _first_views(members) if shared else None)


def _tally(members: list[TensorInfo], firsts: set[int] | None) -> RoleCounts:
    """One pass; `firsts`: ids of the tensors to count by role (None: all of them)."""
    sizes: dict[str, int] = {}
    p = pb = b = bb = o = ob = x = xb = every = every_bytes = 0
    for info in members:
        n = info.numel
        nbytes = info.stored_nbytes  # block-quantized (GGUF): not numel * itemsize
        if nbytes is None:
            size = sizes.get(info.dtype)
            if size is None:
                size = sizes[info.dtype] = _itemsize(info.dtype)
            nbytes = n * size
        every += n
        every_bytes += nbytes
        if firsts is not None and id(info) not in firsts:
            continue
        role = info.role
        if role == PARAMETER:
            p, pb = p + n, pb + nbytes
        elif role == BUFFER:
            b, bb = b + n, bb + nbytes
        elif role == OPTIMIZER_STATE:
            o, ob = o + n, ob + nbytes
        else:
            x, xb = x + n, xb + nbytes
    tallies = (Tally(p, pb), Tally(b, bb), Tally(o, ob), Tally(x, xb))
    return RoleCounts(len(members), Tally(every, every_bytes), *tallies, firsts is not None)


def _first_views(members: list[TensorInfo]) -> set[int]:
    """ids of the first tensor of each distinct view (storage, offset, shape, stride)."""
    seen: dict[_View, int] = {}
    for info in members:
        seen.setdefault(_view(info), id(info))
    return set(seen.values())


def _itemsize(dtype: str) -> int:
    found = DTYPES.get(dtype)
    return found.itemsize if found is not None else 1


def _view(info: TensorInfo) -> _View:
    return (info.storage_id, info.storage_offset, info.shape, info.stride)
