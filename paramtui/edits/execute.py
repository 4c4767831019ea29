"""Executing an op against a session's current state, without committing anything.

Content edits work on working copies of the storages they touch (clones of the session's copy,
or fresh reads of the source), so a preview is the same computation with the result dropped.
Names that view the same elements (tied weights) are edited once and reported together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from paramtui.core import storage
from paramtui.core.errors import EditRefused
from paramtui.core.model import TensorInfo
from paramtui.core.select import Selection, select
from paramtui.edits import prune
from paramtui.edits.change import Change, Outcome, SessionState
from paramtui.edits.checks import refusal
from paramtui.edits.effects import TensorEffect, grad_note
from paramtui.edits.ops import Freeze, Op, Prune, Unfreeze, Zero

if TYPE_CHECKING:
    import torch

VERBS = {Freeze: "freeze", Unfreeze: "unfreeze", Zero: "zero", Prune: "prune"}


class Workspace:
    """Working copies of the storages one op edits, made on first touch."""

    def __init__(self, state: SessionState) -> None:
        self.state = state
        self.copies: dict[str, torch.Tensor] = {}

    def view(self, info: TensorInfo) -> torch.Tensor:
        sid = info.storage_id
        if sid not in self.copies:
            base = self.state.copy_of(sid)
            self.copies[sid] = base.clone() if base is not None else storage.read_storage(info)
        return storage.typed_view(self.copies[sid], info)


def eligible(
    state: SessionState, op: Op, selection: Selection
) -> tuple[list[str], list[tuple[str, str]]]:
    """Split the selection into names `op` may touch and (name, reason) pairs it skips.

    A refused exact target, or a selection left empty, raises EditRefused."""
    verb = VERBS.get(type(op), "edit")
    keep: list[str] = []
    skipped: list[tuple[str, str]] = []
    for name in selection.names:
        info = state.info(name)
        reason = refusal(op, info, selection.exact, state.copy_of(info.storage_id) is None)
        if reason is None:
            keep.append(name)
        elif selection.exact:
            raise EditRefused(f"cannot {verb} '{name}': {reason}.")
        else:
            skipped.append((name, reason))
    if not keep:
        raise EditRefused(_nothing_left(verb, selection, skipped))
    return keep, skipped


def _nothing_left(verb: str, selection: Selection, skipped: list[tuple[str, str]]) -> str:
    reasons: dict[str, list[str]] = {}
    for name, reason in skipped:
        reasons.setdefault(reason, []).append(name)
    parts = [f"{len(ns)} tensor(s) because {r} (e.g. '{ns[0]}')" for r, ns in reasons.items()]
    return (
        f"nothing to {verb} under '{selection.label}': every selected tensor was refused: "
        + "; ".join(parts[:3])
        + "."
    )


def alias_key(info: TensorInfo) -> tuple[object, ...]:
    """Names with equal keys view exactly the same elements (tied weights)."""
    return (info.storage_id, info.dtype, info.shape, info.stride, info.storage_offset)


def dedupe(state: SessionState, names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The first name of each alias group, and alias -> that first name."""
    first: dict[tuple[object, ...], str] = {}
    tied: dict[str, str] = {}
    for name in names:
        key = alias_key(state.info(name))
        if key in first:
            tied[name] = first[key]
        else:
            first[key] = name
    return list(first.values()), tied


def execute_grad(state: SessionState, op: Freeze | Unfreeze) -> Outcome:
    """Record the requires_grad intent on the selected parameters and their tied aliases."""
    value = isinstance(op, Unfreeze)
    selection = select(state.names(), op.target, state.where)
    names, skipped = eligible(state, op, selection)
    primary, tied = dedupe(state, names)
    for name in primary:
        tied.update(_aliases_of(state, name, exclude=tied))
    change = Change()
    effects = []
    for name in _in_order(state, set(primary) | set(tied)):
        change.grads[name] = value
        note = grad_note(state.requires_grad(name), value)
        effects.append(
            TensorEffect(name, 0, None, None, note, state.info(name).numel, tied.get(name, ""))
        )
    return Outcome(change, effects, skipped, selection.label)


def execute_content(state: SessionState, op: Zero | Prune) -> Outcome:
    """Zero or prune the selected tensors on working copies; report every name they reach."""
    selection = select(state.names(), op.target, state.where)
    names, skipped = eligible(state, op, selection)
    primary, tied = dedupe(state, names)
    work = Workspace(state)
    infos = [state.info(n) for n in primary]
    if isinstance(op, Zero):
        for info in infos:
            view = work.view(info)
            storage.zero_where(view, storage.values(view) != 0)
    else:
        _prune(work, op, infos)
    effects = _effects(state, work, primary, tied)
    changed = {state.info(e.name).storage_id for e in effects if e.changed and not e.tied_to}
    change = Change(copies={sid: work.copies[sid] for sid in changed})
    return Outcome(change, effects, skipped, selection.label)


def _prune(work: Workspace, op: Prune, infos: list[TensorInfo]) -> None:
    """Per tensor: one tensor's temporaries at a time. Global: one cut over all of them."""
    if op.scope == "global" and op.threshold is None:
        views = [work.view(info) for info in infos]
        xs = [storage.values(v) for v in views]
        for view, x, keep in zip(views, xs, prune.global_keep(xs, op.fraction), strict=True):
            _zero_pruned(view, x, keep)
        return
    for info in infos:
        view = work.view(info)
        x = storage.values(view)
        _zero_pruned(view, x, prune.keep_mask(op, x))


def _zero_pruned(view: torch.Tensor, x: torch.Tensor, keep: torch.Tensor) -> None:
    kill = ~keep & (x != 0)  # already-zero elements keep their bits (-0.0 stays -0.0)
    storage.zero_where(view, kill)


def _effects(
    state: SessionState, work: Workspace, primary: list[str], tied: dict[str, str]
) -> list[TensorEffect]:
    """Effects of the edited names, their aliases, and other names of the touched storages
    whose elements changed (partial views of the same storage)."""
    found: dict[str, TensorEffect] = {}
    for name in primary:
        found[name] = _effect(state, work, name, "")
    for sid in work.copies:
        for name in state.sharing(sid):
            if name in found:
                continue
            owner = tied.get(name) or _alias_owner(state, name, primary)
            effect = _effect(state, work, name, owner or _first_in(state, sid, primary))
            if owner or effect.changed:
                found[name] = effect
    return [found[n] for n in _in_order(state, set(found))]


def _effect(state: SessionState, work: Workspace, name: str, tied_to: str) -> TensorEffect:
    info = state.info(name)
    before = state.tensor(name)
    after = work.view(info)
    note = f"shares its storage with '{tied_to}'" if tied_to else ""
    return TensorEffect(
        name,
        storage.count_changed(before, after),
        storage.sparsity(before),
        storage.sparsity(after),
        note,
        info.numel,
        tied_to,
    )


def _alias_owner(state: SessionState, name: str, primary: list[str]) -> str:
    key = alias_key(state.info(name))
    return next((p for p in primary if alias_key(state.info(p)) == key), "")


def _first_in(state: SessionState, storage_id: str, primary: list[str]) -> str:
    return next(p for p in primary if state.info(p).storage_id == storage_id)


def _aliases_of(state: SessionState, name: str, exclude: dict[str, str]) -> dict[str, str]:
    info = state.info(name)
    key = alias_key(info)
    return {
        other: name
        for other in state.sharing(info.storage_id)
        if other != name and other not in exclude and alias_key(state.info(other)) == key
    }


def _in_order(state: SessionState, names: set[str]) -> list[str]:
    return [n for n in state.names() if n in names]
