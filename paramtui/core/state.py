"""A checkpoint's current state: what writers, verification and comparisons read.

`CheckpointState` is the seam between the floors: io's writers and its verifier take one, and
edits.EditSession (a checkpoint with edits applied), io's views of it (one shard's names, a DCP
folder with sharded tensors assembled) and `SourceState` (a checkpoint as its file holds it)
implement it. mypy checks each implementation against the Protocol where it is defined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from paramtui.core import storage
from paramtui.core.model import CheckpointIndex, TensorInfo

if TYPE_CHECKING:
    import torch


class CheckpointState(Protocol):
    """Tensors by name, with what an edit may have changed: values, flags, names."""

    @property
    def index(self) -> CheckpointIndex:
        """The opened source: format, path, files, non-tensor entries, the tensors it holds."""
        ...

    @property
    def structure_changed(self) -> bool:
        """Names were added or removed (the state no longer maps onto the source's records)."""
        ...

    def names(self) -> list[str]:
        """Current tensor names in file order."""
        ...

    def info(self, name: str) -> TensorInfo:
        """The current TensorInfo (with the current requires_grad intent)."""
        ...

    def tensor(self, name: str) -> torch.Tensor:
        """The current value (read-only: a mapped view or a private copy)."""
        ...

    def is_edited(self, name: str) -> bool: ...

    def edited_names(self) -> list[str]: ...

    def requires_grad(self, name: str) -> bool | None: ...

    def grad_intents(self) -> dict[str, bool]:
        """Names -> requires_grad set in this state (not what the file records)."""
        ...

    def edited_storages(self) -> dict[str, torch.Tensor]:
        """Storage id -> private copy (1-D uint8, the whole storage) of each edited storage."""
        ...

    def sharing(self, storage_id: str) -> list[str]:
        """Current names that view the storage `storage_id`, in order."""
        ...

    def mark_saved(self) -> None:
        """A writer wrote this state out in full."""
        ...


class SourceState:
    """A checkpoint exactly as its file holds it: no edits, no intents."""

    structure_changed = False

    def __init__(self, index: CheckpointIndex) -> None:
        self._index = index
        self._groups: dict[str, list[str]] | None = None

    @property
    def index(self) -> CheckpointIndex:
        return self._index

    def names(self) -> list[str]:
        return list(self._index.tensors)

    def info(self, name: str) -> TensorInfo:
        return self._index.tensor(name)

    def tensor(self, name: str) -> torch.Tensor:
        return storage.source_tensor(self.info(name))

    def is_edited(self, name: str) -> bool:
        return False

    def edited_names(self) -> list[str]:
        return []

    def requires_grad(self, name: str) -> bool | None:
        return self.info(name).requires_grad

    def grad_intents(self) -> dict[str, bool]:
        return {}

    def edited_storages(self) -> dict[str, torch.Tensor]:
        return {}

    def sharing(self, storage_id: str) -> list[str]:
        if self._groups is None:
            self._groups = {}
            for name, info in self._index.tensors.items():
                self._groups.setdefault(info.storage_id, []).append(name)
        return list(self._groups.get(storage_id, []))

    def mark_saved(self) -> None:
        """Nothing to remember: the source has no unsaved changes."""


if TYPE_CHECKING:

    def _conforms(state: SourceState) -> CheckpointState:
        return state
