"""EditSession: apply, preview, undo and redo edits over one checkpoint, copy-on-write.

The source file is only ever read. The first content edit of a tensor copies its whole storage
(every byte, once) into private memory; every name sharing that storage sees the edit, so tied
weights stay tied. Storages never edited are never copied. Each step keeps the state it
replaced (a previous copy, or None: "back to the source file") and the state it set, so undo
and redo swap references instead of recomputing; a copy is never written after its step.

Not thread-safe: call it from one thread (or one worker at a time).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from paramtui.core import storage
from paramtui.core.errors import EditRefused, TensorNotFound
from paramtui.core.model import CheckpointIndex, TensorInfo
from paramtui.edits.change import Change, Outcome
from paramtui.edits.effects import EditRecord, TensorEffect, summarize
from paramtui.edits.execute import execute_content, execute_grad
from paramtui.edits.live import writer_for
from paramtui.edits.ops import Freeze, MakePrunePermanent, Op, Prune, Unfreeze, Zero
from paramtui.edits.permanent import execute_permanent

if TYPE_CHECKING:
    import torch

__all__ = ["EditRecord", "EditSession", "TensorEffect"]

_V = TypeVar("_V")


@dataclass(frozen=True)
class _Step:
    record: EditRecord
    before: Change  # what undo restores
    after: Change  # what redo restores


class EditSession:
    """Edits of one checkpoint, held in memory until saved (see paramtui.io.save)."""

    def __init__(self, index: CheckpointIndex) -> None:
        self.index = index
        self.version = 0
        self._original = tuple(index.tensors)
        self._names: list[str] = list(self._original)
        self._name_set = set(self._names)
        self._new: dict[str, TensorInfo] = {}
        self._copies: dict[str, torch.Tensor] = {}
        self._grads: dict[str, bool] = {}
        self._storage_versions: dict[str, int] = {}
        self._groups: dict[str, list[str]] | None = None
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._saved: tuple[int, _Step | None] = (0, None)
        self.structure_changed = False
        self._live = writer_for(index)  # a live nn.Module: every state change is written to it

    # --- edits -------------------------------------------------------------------------------

    def apply(self, op: Op) -> EditRecord:
        """Apply `op` and push it on the undo stack (clearing redo); EditRefused if refused."""
        outcome = self._execute(op)
        step = _Step(self._record(op, outcome), self._snapshot(outcome.change), outcome.change)
        self._restore(step.after)
        self._undo.append(step)
        self._redo.clear()
        return step.record

    def preview(self, op: Op) -> EditRecord:
        """What `apply(op)` would do; changes nothing. Computes on temporary copies of the
        storages it would touch (freed on return)."""
        return self._record(op, self._execute(op))

    def undo(self) -> EditRecord | None:
        if not self._undo:
            return None
        step = self._undo.pop()
        self._restore(step.before)
        self._redo.append(step)
        return step.record

    def redo(self) -> EditRecord | None:
        if not self._redo:
            return None
        step = self._redo.pop()
        self._restore(step.after)
        self._undo.append(step)
        return step.record

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def log(self) -> list[EditRecord]:
        """Applied edits in order (undone ones are not in it)."""
        return [step.record for step in self._undo]

    @property
    def redo_log(self) -> list[EditRecord]:
        """Undone edits, the next one to redo last."""
        return [step.record for step in self._redo]

    @property
    def dirty(self) -> bool:
        """True when the state differs from the one last marked saved (or opened)."""
        top = self._undo[-1] if self._undo else None
        return (len(self._undo), top) != self._saved

    def mark_saved(self) -> None:
        self._saved = (len(self._undo), self._undo[-1] if self._undo else None)

    # --- current state -----------------------------------------------------------------------

    @property
    def where(self) -> str:
        return self.index.path

    def names(self) -> list[str]:
        """Current tensor names in file order (make-permanent adds and removes names)."""
        return list(self._names)

    def info(self, name: str) -> TensorInfo:
        """The current TensorInfo: the source's (with this session's requires_grad intent), or
        for names an edit created, one with location=None (bytes in edited_storages())."""
        if name not in self._name_set:
            if name in self.index.tensors:
                raise TensorNotFound(f"'{name}' was removed by an edit in this session.")
            self.index.tensor(name)  # raises TensorNotFound with the usual message
        info = self._new.get(name) or self.index.tensors[name]
        intent = self._grads.get(name)
        return info if intent is None else replace(info, requires_grad=intent)

    def tensor(self, name: str) -> torch.Tensor:
        """The current value: a view into the private copy if edited, else the read-only mmap
        view of the source. Treat both as read-only (copies are kept for undo)."""
        info = self.info(name)
        copy = self._copies.get(info.storage_id)
        if copy is not None:
            return storage.typed_view(copy, info)
        return storage.source_tensor(info)

    def is_edited(self, name: str) -> bool:
        return self.info(name).storage_id in self._copies

    def edited_names(self) -> list[str]:
        """Current names whose content differs from the source (edited or created)."""
        return [n for n in self._names if self.is_edited(n)]

    def requires_grad(self, name: str) -> bool | None:
        """This session's intent if set, else what the file records (None: not recorded)."""
        return self.info(name).requires_grad

    def grad_intents(self) -> dict[str, bool]:
        return {n: v for n, v in self._grads.items() if n in self._name_set}

    def edited_storages(self) -> dict[str, torch.Tensor]:
        """Storage id -> private copy (1-D uint8, the whole storage) for current names."""
        live = self._storage_groups()
        return {sid: copy for sid, copy in self._copies.items() if sid in live}

    def tensor_version(self, name: str) -> int:
        """Changes whenever `name`'s content changes (a key for cached statistics)."""
        return self._storage_versions.get(self.info(name).storage_id, 0)

    def added_names(self) -> list[str]:
        return [n for n in self._names if n in self._new]

    def removed_names(self) -> list[str]:
        return [n for n in self._original if n not in self._name_set]

    def copy_of(self, storage_id: str) -> torch.Tensor | None:
        return self._copies.get(storage_id)

    def sharing(self, storage_id: str) -> list[str]:
        """Current names that share the storage `storage_id`, in order."""
        return self._storage_groups().get(storage_id, [])

    # --- internals ---------------------------------------------------------------------------

    def _execute(self, op: Op) -> Outcome:
        if self._live is not None:
            self._live.check(op)
        if isinstance(op, (Freeze, Unfreeze)):
            return execute_grad(self, op)
        if isinstance(op, (Zero, Prune)):
            return execute_content(self, op)
        if isinstance(op, MakePrunePermanent):
            return execute_permanent(self, op)
        raise EditRefused(f"{op!r} is not an edit paramtui knows.")

    def _record(self, op: Op, outcome: Outcome) -> EditRecord:
        summary = summarize(op, outcome.label, outcome.effects, len(outcome.skipped))
        return EditRecord(op, tuple(outcome.effects), tuple(outcome.skipped), summary)

    def _snapshot(self, change: Change) -> Change:
        """The current values of the keys `change` sets: what undoing it restores."""
        return Change(
            copies={sid: self._copies.get(sid) for sid in change.copies},
            grads={name: self._grads.get(name) for name in change.grads},
            names=tuple(self._names) if change.names is not None else None,
            new_infos={name: self._new.get(name) for name in change.new_infos},
        )

    def _restore(self, change: Change) -> None:
        self.version += 1
        for sid, copy in change.copies.items():
            _set(self._copies, sid, copy)
            self._storage_versions[sid] = self.version
        for name, intent in change.grads.items():
            _set(self._grads, name, intent)
        for name, info in change.new_infos.items():
            _set(self._new, name, info)
        if change.names is not None:
            self._names = list(change.names)
            self._name_set = set(self._names)
            self._groups = None
            self.structure_changed = change.names != self._original
        if self._live is not None:
            self._live.sync(change, self._copies, self._grads)

    def _storage_groups(self) -> dict[str, list[str]]:
        if self._groups is None:
            groups: dict[str, list[str]] = {}
            for name in self._names:
                groups.setdefault(self.info(name).storage_id, []).append(name)
            self._groups = groups
        return self._groups


def _set(mapping: dict[str, _V], key: str, value: _V | None) -> None:
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value


if TYPE_CHECKING:
    from paramtui.core.state import CheckpointState

    def _conforms(session: EditSession) -> CheckpointState:
        return session  # the writers and the verifier read a session through this Protocol
