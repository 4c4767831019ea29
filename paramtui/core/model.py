"""The checkpoint index: what a file holds, known without reading tensor bytes."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from paramtui.core.dtypes import dtype_info
from paramtui.core.errors import TensorNotFound

# Roles a tensor can play. "recorded" roles come from the file; others are inferred from names.
PARAMETER = "parameter"
BUFFER = "buffer"
OPTIMIZER_STATE = "optimizer state"
GRADIENT = "gradient"  # a parameter's saved .grad (paramtui snapshots: grads.<name>)
OTHER = "other"


@dataclass(frozen=True, slots=True)
class DataLocation:
    """Where a storage's raw bytes lie: `nbytes` bytes at `offset` in `path` (little-endian)."""

    path: str
    offset: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One tensor as saved. `stride` and `storage_offset` count elements of `dtype`."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    device: str | None  # the device it was saved from ("cuda:0"); None when not recorded
    stride: tuple[int, ...]
    storage_offset: int
    storage_id: str  # equal for every name that shares one storage
    location: DataLocation | None  # None when the bytes cannot be mapped
    role: str = OTHER
    role_recorded: bool = False  # True when the file says it (nn.Parameter), not the name
    requires_grad: bool | None = None  # None: not recorded
    has_grad: bool | None = None  # None: not recorded
    layout: str = "strided"  # "strided", "quantized", "sparse", "gguf-quantized", "dcp-sharded"
    stored_nbytes: int | None = None  # bytes on disk when not numel * itemsize (GGUF blocks)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return dtype_info(self.dtype).itemsize

    @property
    def nbytes(self) -> int:
        if self.stored_nbytes is not None:
            return self.stored_nbytes
        return self.numel * self.itemsize

    @property
    def is_contiguous(self) -> bool:
        expected = 1
        for size, step in zip(reversed(self.shape), reversed(self.stride), strict=True):
            if size != 1 and step != expected:
                return False
            expected *= size
        return True


@dataclass(frozen=True, slots=True)
class MetaEntry:
    """A non-tensor entry of a checkpoint (epoch, step, a hyper-parameter, a string)."""

    name: str
    type_name: str
    preview: str


@dataclass(frozen=True, slots=True)
class ParamGroupRecord:
    """One optimizer param group's parameter list, read in full (metadata previews are clipped)."""

    optimizer: str  # where the optimizer's state_dict lies: "optimizer", "optimizer_states.0"
    group: int
    params: tuple[int | str, ...]  # state keys: indices (torch) or names (paramtui snapshots)
    param_names: tuple[str, ...] | None = None  # torch optimizers built from named_parameters()


@dataclass(slots=True)
class CheckpointIndex:
    """Everything known about a checkpoint before reading any tensor data."""

    path: str
    format: str
    tensors: dict[str, TensorInfo]
    metadata: dict[str, MetaEntry] = field(default_factory=dict)
    file_metadata: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    param_groups: list[ParamGroupRecord] = field(default_factory=list)
    _shares: dict[str, list[str]] | None = None
    live: object | None = None  # core.live.LiveSource when the index is a live nn.Module
    unimported: list[str] = field(default_factory=list)  # globals read as stubs, never run

    def __len__(self) -> int:
        return len(self.tensors)

    def __iter__(self) -> Iterator[TensorInfo]:
        return iter(self.tensors.values())

    def tensor(self, name: str) -> TensorInfo:
        try:
            return self.tensors[name]
        except KeyError:
            raise TensorNotFound(
                f"'{name}' is not a tensor in {self.path}. "
                "Run `paramtui ls` to list the tensor names it holds."
            ) from None

    def storage_groups(self) -> dict[str, list[str]]:
        """Storage id -> names of the tensors that share it, in file order."""
        if self._shares is None:
            groups: dict[str, list[str]] = {}
            for info in self.tensors.values():
                groups.setdefault(info.storage_id, []).append(info.name)
            self._shares = groups
        return self._shares

    def shared_with(self, name: str) -> list[str]:
        """Other tensors that share `name`'s storage (tied weights, views)."""
        info = self.tensor(name)
        return [n for n in self.storage_groups()[info.storage_id] if n != name]

    @property
    def total_numel(self) -> int:
        return sum(t.numel for t in self.tensors.values())

    @property
    def storage_nbytes(self) -> int:
        """Bytes of tensor data on disk: each shared storage counted once."""
        seen: dict[str, int] = {}
        for t in self.tensors.values():
            size = t.location.nbytes if t.location is not None else t.nbytes
            seen[t.storage_id] = max(seen.get(t.storage_id, 0), size)
        return sum(seen.values())
