"""The state an edit changes, as data: what a step sets (after) and what it replaced (before)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from paramtui.core.model import TensorInfo
from paramtui.edits.effects import TensorEffect

if TYPE_CHECKING:
    import torch


@dataclass
class Change:
    """Values for some keys of a session's state. None means "absent": a storage back to the
    source file, a name without a requires_grad intent, an added name removed again."""

    copies: dict[str, torch.Tensor | None] = field(default_factory=dict)  # storage id -> copy
    grads: dict[str, bool | None] = field(default_factory=dict)  # name -> intent
    names: tuple[str, ...] | None = None  # the full name list, when the edit changes it
    new_infos: dict[str, TensorInfo | None] = field(default_factory=dict)  # added names


@dataclass
class Outcome:
    """What executing an op would do: the change to commit and the record's parts."""

    change: Change
    effects: list[TensorEffect]
    skipped: list[tuple[str, str]]
    label: str  # the target as the edit log shows it


class SessionState(Protocol):
    """The read side of an EditSession that executing an op needs."""

    @property
    def where(self) -> str: ...

    def names(self) -> list[str]: ...

    def info(self, name: str) -> TensorInfo: ...

    def tensor(self, name: str) -> torch.Tensor: ...

    def copy_of(self, storage_id: str) -> torch.Tensor | None: ...

    def requires_grad(self, name: str) -> bool | None: ...

    def sharing(self, storage_id: str) -> Sequence[str]: ...
