"""The requires_grad mark of a tree line: what the file records, overridden by this session.

A tensor is marked ❄ when it is frozen (requires_grad=False) and ∇ when unfrozen in this session.
A module is marked ❄ only when every parameter below it is frozen, ◒ when some are; the same
rule holds whether the flag was recorded in the file (`paramtui edit --freeze`, snapshots) or set
in this session. Pure functions: no widgets, no torch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from paramtui.core.dtypes import DTYPES
from paramtui.core.model import BUFFER, GRADIENT, OPTIMIZER_STATE, TensorInfo
from paramtui.tui.views.edit_marks import FROZEN_MARK, PARTLY_FROZEN_MARK, TRAINABLE_MARK, Mark

_NOT_PARAMETERS = frozenset({BUFFER, GRADIENT, OPTIMIZER_STATE})


def can_require_grad(info: TensorInfo) -> bool:
    """What `f` may freeze: parameters of a floating dtype, not buffers, optimizer state or step
    counters. The same rule as edits.checks (a test holds them together): the first screen must
    not import the edits layer."""
    if info.role in _NOT_PARAMETERS or info.name.rpartition(".")[2] == "num_batches_tracked":
        return False
    found = DTYPES.get(info.dtype)
    return found is not None and found.kind in ("float", "complex")


def requires_grad_now(info: TensorInfo, intents: Mapping[str, bool]) -> bool | None:
    """This session's intent if it set one, else the file's record (None: not recorded)."""
    return intents.get(info.name, info.requires_grad)


@dataclass(frozen=True)
class GradCounts:
    """The parameters below a module: how many, how many frozen, how many unfrozen here."""

    parameters: int = 0
    frozen: int = 0
    unfrozen_in_session: int = 0


def grad_counts(tensors: Iterable[TensorInfo], intents: Mapping[str, bool]) -> GradCounts:
    parameters = frozen = unfrozen = 0
    for info in tensors:
        if not can_require_grad(info):
            continue
        parameters += 1
        now = requires_grad_now(info, intents)
        frozen += now is False
        unfrozen += intents.get(info.name) is True
    return GradCounts(parameters, frozen, unfrozen)


def tensor_grad_mark(info: TensorInfo, intents: Mapping[str, bool]) -> Mark | None:
    intent = intents.get(info.name)
    if intent is True:
        return TRAINABLE_MARK
    if intent is False or (info.requires_grad is False and can_require_grad(info)):
        return FROZEN_MARK
    return None


def module_grad_mark(counts: GradCounts) -> Mark | None:
    """❄ all parameters frozen, ◒ some, ∇ none frozen but some unfrozen in this session."""
    if counts.frozen and counts.frozen >= counts.parameters:
        return FROZEN_MARK
    if counts.frozen:
        return PARTLY_FROZEN_MARK
    return TRAINABLE_MARK if counts.unfrozen_in_session else None
