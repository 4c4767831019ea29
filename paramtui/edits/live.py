"""Edits of a live nn.Module: the session's state written into the model as it changes.

The session computes on copy-on-write copies exactly as for a file (copies of a live storage
are made on its own device). After every apply, undo and redo, `LiveWriter.sync` writes the
storages and requires_grad flags the step changed into the live model, under torch.no_grad().
The values a storage had before its first edit are kept, so undo can put them back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paramtui.core import live
from paramtui.core.errors import EditRefused
from paramtui.core.model import CheckpointIndex
from paramtui.edits.change import Change
from paramtui.edits.ops import MakePrunePermanent, Op

if TYPE_CHECKING:
    import torch


class LiveWriter:
    """Writes a session's changes into the live model of `source`."""

    def __init__(self, source: live.LiveSource, index: CheckpointIndex) -> None:
        self.source = source
        self.index = index
        self._pristine: dict[str, torch.Tensor] = {}

    def check(self, op: Op) -> None:
        if isinstance(op, MakePrunePermanent):
            raise EditRefused(
                "making a prune permanent renames tensors, which a live nn.Module cannot take: "
                "use torch.nn.utils.prune in your own code, or save and edit the file."
            )

    def original(self, storage_id: str) -> torch.Tensor | None:
        """The storage's bytes before this session first wrote it (None: never written)."""
        return self._pristine.get(storage_id)

    def sync(self, change: Change, copies: dict[str, torch.Tensor], grads: dict[str, bool]) -> None:
        """Make the live model hold the session's state for the keys `change` touched."""
        import torch

        with torch.no_grad():
            for sid in change.copies:
                self._write(sid, copies.get(sid))
            for name in change.grads:
                self._set_grad(name, grads.get(name))

    def _write(self, sid: str, copy: torch.Tensor | None) -> None:
        target = self.source.storages.get(sid)
        if target is None:
            raise EditRefused("a live tensor's storage is no longer known; nothing was written.")
        if copy is None:
            copy = self._pristine.pop(sid, None)
            if copy is None:
                return
        elif sid not in self._pristine:
            self._pristine[sid] = target.clone()
        target.copy_(copy)

    def _set_grad(self, name: str, intent: bool | None) -> None:
        param = self.source.params.get(name)
        if param is None:
            return
        wanted = intent if intent is not None else self.index.tensors[name].requires_grad
        if wanted is not None:
            param.requires_grad_(bool(wanted))


def writer_for(index: CheckpointIndex) -> LiveWriter | None:
    source = live.source_of(index)
    return None if source is None else LiveWriter(source, index)
