"""What an edit did: per-tensor effects and the one-line summary of the edit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from paramtui.edits.ops import Freeze, MakePrunePermanent, Op, Unfreeze

GRAD_CHANGED = "requires_grad: "


@dataclass(frozen=True)
class TensorEffect:
    """One tensor touched by an edit.

    `changed` counts elements whose bits changed. Sparsity is zeros / numel; None for edits that
    do not read tensor data (freeze/unfreeze). `tied_to` names the tensor whose storage this one
    shares and that the edit reached first: its elements are already counted there."""

    name: str
    changed: int
    sparsity_before: float | None
    sparsity_after: float | None
    note: str = ""
    numel: int = 0
    tied_to: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class EditRecord:
    """One applied (or previewed) edit: the op, its effects and the tensors it skipped."""

    op: Op
    effects: tuple[TensorEffect, ...]
    skipped: tuple[tuple[str, str], ...]  # (name, reason)
    summary: str

    @property
    def total_changed(self) -> int:
        """Elements changed, each storage element counted once (tied partners left out)."""
        return sum(e.changed for e in self.effects if not e.tied_to)

    @property
    def sparsity_before(self) -> float | None:
        return _overall(self.effects, before=True)

    @property
    def sparsity_after(self) -> float | None:
        return _overall(self.effects, before=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.effects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": type(self.op).__name__,
            "params": dict(self.op.__dict__),
            "summary": self.summary,
            "total_changed": self.total_changed,
            "sparsity_before": self.sparsity_before,
            "sparsity_after": self.sparsity_after,
            "effects": [e.to_dict() for e in self.effects],
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
        }


def _overall(effects: Sequence[TensorEffect], before: bool) -> float | None:
    """Sparsity over the effects' elements, weighted by numel, tied partners counted once."""
    zeros = 0.0
    total = 0
    for e in effects:
        value = e.sparsity_before if before else e.sparsity_after
        if value is None or e.tied_to:
            continue
        zeros += value * e.numel
        total += e.numel
    return zeros / total if total else None


def summarize(op: Op, label: str, effects: Sequence[TensorEffect], skipped: int) -> str:
    """E.g. "prune 30% (L1, per tensor) blocks.1: 12 tensors, 24,576 elements zeroed,
    sparsity 0.0% -> 30.0%"."""
    record = EditRecord(op, tuple(effects), (), "")
    text = f"{op.describe()} {label}: {_count(effects)}"
    if isinstance(op, (Freeze, Unfreeze)):
        newly = sum(1 for e in effects if e.note.startswith(GRAD_CHANGED) and not e.tied_to)
        text += f" ({newly} changed)"
    elif isinstance(op, MakePrunePermanent):
        text += ", each <x> = <x>_orig * <x>_mask"
    else:
        text += f", {record.total_changed:,} elements zeroed"
    before, after = record.sparsity_before, record.sparsity_after
    if before is not None and after is not None:
        text += f", sparsity {before:.1%} -> {after:.1%}"
    if skipped:
        text += f"; {skipped} skipped"
    return text


def grad_note(old: bool | None, new: bool) -> str:
    """The note of a freeze/unfreeze effect; `old` None: the file did not record it."""
    if old == new:
        return f"requires_grad stays {new}"
    return f"{GRAD_CHANGED}{'not recorded' if old is None else old} -> {new}"


def _count(effects: Sequence[TensorEffect]) -> str:
    tied = sum(1 for e in effects if e.tied_to)
    main = len(effects) - tied
    text = f"{main} tensor" + ("" if main == 1 else "s")
    return text + (f" (+{tied} tied)" if tied else "")
