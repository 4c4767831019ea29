"""A read-only view of a checkpoint state restricted to some of its names (one shard's worth).

It answers what the writers and the verifier ask (names, info, tensor, intents, ...) for the
chosen names only. Saving through it does not mark the state saved: the caller does that once
the whole folder is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from paramtui.core.model import CheckpointIndex, TensorInfo
from paramtui.core.state import CheckpointState

if TYPE_CHECKING:
    import torch


class SessionSubset:
    def __init__(self, state: CheckpointState, names: Iterable[str]) -> None:
        self._state = state
        self._names = list(names)
        self._chosen = frozenset(self._names)

    @property
    def index(self) -> CheckpointIndex:
        return self._state.index

    @property
    def structure_changed(self) -> bool:
        return self._state.structure_changed

    def names(self) -> list[str]:
        return list(self._names)

    def info(self, name: str) -> TensorInfo:
        return self._state.info(name)

    def tensor(self, name: str) -> torch.Tensor:
        return self._state.tensor(name)

    def is_edited(self, name: str) -> bool:
        return name in self._chosen and self._state.is_edited(name)

    def edited_names(self) -> list[str]:
        return [n for n in self._names if self._state.is_edited(n)]

    def requires_grad(self, name: str) -> bool | None:
        return self._state.requires_grad(name)

    def grad_intents(self) -> dict[str, bool]:
        return {n: v for n, v in self._state.grad_intents().items() if n in self._chosen}

    def edited_storages(self) -> dict[str, torch.Tensor]:
        return self._state.edited_storages()

    def sharing(self, storage_id: str) -> list[str]:
        return [n for n in self._state.sharing(storage_id) if n in self._chosen]

    def mark_saved(self) -> None:
        """One shard is not the whole save."""


if TYPE_CHECKING:

    def _conforms(subset: SessionSubset) -> CheckpointState:
        return subset
