"""Optimizer state mapped to parameter names.

torch optimizers save `state` keyed by parameter index, numbered in `param_groups` order. Names
come from, in order of trust: state keyed by name (paramtui snapshots, DCP), the groups'
`param_names` (optimizers built from named_parameters()), or the model's parameter order. The
last is used only when it cannot be wrong in a way we could see: every state tensor's shape
equals its parameter's, and only one placement of the param groups (each an order-preserving
subsequence of the model's parameters, frozen ones skipped; analysis.optimizer.placement) fits.
Otherwise the map says why it is ambiguous and gives no names; it never guesses silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from paramtui.analysis.optimizer.entries import (
    FROZEN_WITH_STATE,
    NO_STATE,
    NOT_IN_OPTIMIZER,
    OptimizerMap,
    OptimizerParam,
)
from paramtui.analysis.optimizer.match import (
    Match,
    match_keys,
    membership_known,
    parameter_tensors,
    relative,
)
from paramtui.analysis.optimizer.read import (
    Key,
    KeyState,
    ParamGroup,
    RawOptimizer,
    read_optimizer,
)
from paramtui.analysis.optimizer.step import OptimizerSummary, summarise
from paramtui.core import training
from paramtui.core.model import CheckpointIndex, TensorInfo

if TYPE_CHECKING:
    from paramtui.analysis.stats.result import TensorStats

__all__ = [
    "FROZEN_WITH_STATE",
    "NO_STATE",
    "NOT_IN_OPTIMIZER",
    "OptimizerMap",
    "OptimizerParam",
    "ParamGroup",
    "map_optimizer",
    "map_optimizers",
    "find_param",
    "optimizer_summary",
]


def map_optimizers(index: CheckpointIndex) -> list[OptimizerMap]:
    """Every optimizer in the checkpoint (Lightning may hold several), mapped to names."""
    roots = training.optimizer_roots(index)
    if not roots:
        return []
    model = training.model_root(index)
    found = [_map_one(index, read_optimizer(index, root), model) for root in roots]
    return _with_unoptimized(index, model, found)


def map_optimizer(index: CheckpointIndex) -> OptimizerMap | None:
    """The checkpoint's (first) optimizer mapped to parameter names; None when it has none."""
    maps = map_optimizers(index)
    return maps[0] if maps else None


def find_param(maps: list[OptimizerMap], tensor: str) -> tuple[OptimizerMap, OptimizerParam] | None:
    """The optimizer entry for a model tensor (or one of its state tensors) in any optimizer."""
    for omap in maps:
        entry = omap.param(tensor)
        if entry is not None:
            return omap, entry
    return None


def optimizer_summary(
    index: CheckpointIndex,
    name: str,
    stats_fn: Callable[[TensorInfo], TensorStats] | None = None,
    *,
    should_cancel: Callable[[], bool] | None = None,
    maps: list[OptimizerMap] | None = None,
) -> OptimizerSummary | None:
    """What the optimizer knows about tensor `name` (see analysis.optimizer.step)."""
    found = find_param(maps if maps is not None else map_optimizers(index), name)
    if found is None:
        return None
    return summarise(index, found[0], found[1], stats_fn, should_cancel)


def _map_one(index: CheckpointIndex, raw: RawOptimizer, model: str | None) -> OptimizerMap:
    match = match_keys(index, raw, model)
    order = _ordered_keys(raw)
    params = tuple(_entry(index, raw, match, key) for key in order)
    notes = list(match.notes)
    stray = [k for k in raw.state if k not in match.group_of] if raw.groups else []
    if stray:
        notes.append(f"{len(stray)} state key(s) are in no param group (e.g. {stray[0]!r})")
    return OptimizerMap(
        optimizer=raw.root,
        model=model,
        method=match.method,
        ambiguous=match.reason,
        groups=tuple(raw.groups),
        params=params,
        not_in_optimizer=(),
        aliases=match.aliases,
        membership_known=membership_known(tuple(raw.groups), bool(raw.named_hyper)),
        notes=tuple(notes),
    )


def _ordered_keys(raw: RawOptimizer) -> list[Key]:
    seen: dict[Key, None] = {}
    for group in raw.groups:
        seen.update(dict.fromkeys(group.params or ()))
    seen.update(dict.fromkeys(raw.named_hyper))
    seen.update(dict.fromkeys(raw.state))
    return list(seen)


def _entry(index: CheckpointIndex, raw: RawOptimizer, match: Match, key: Key) -> OptimizerParam:
    slot = raw.state.get(key, KeyState())
    group = match.group_of.get(key)
    name = match.names.get(key)
    tensor = match.tensors.get(key)
    hyper = raw.groups[_position(raw, group)].hyper if group is not None else {}
    if group is None and name is not None:
        hyper = raw.named_hyper.get(name, {})
    step = slot.values.get("step")
    return OptimizerParam(
        key=key,
        name=name,
        tensor=tensor,
        group=group,
        hyper=hyper,
        state=dict(slot.tensors),
        values=dict(slot.values),
        step=step if isinstance(step, (int, float)) and not isinstance(step, bool) else None,
        step_tensor=slot.tensors.get("step"),
        flags=_flags(index, tensor, slot, in_group=group is not None or bool(hyper)),
    )


def _position(raw: RawOptimizer, group: int) -> int:
    return next(i for i, g in enumerate(raw.groups) if g.index == group)


def _flags(
    index: CheckpointIndex, tensor: str | None, slot: KeyState, in_group: bool
) -> tuple[str, ...]:
    info = index.tensors.get(tensor) if tensor is not None else None
    frozen = info is not None and info.requires_grad is False
    has_state = bool(slot.tensors or slot.values)
    if has_state and frozen:
        return (FROZEN_WITH_STATE,)
    if in_group and not has_state and not frozen:
        return (NO_STATE,)
    return ()


def _with_unoptimized(
    index: CheckpointIndex, model: str | None, maps: list[OptimizerMap]
) -> list[OptimizerMap]:
    """Add the model parameters that no optimizer holds, when every map is certain."""
    if model is None or not all(m.mapped and m.membership_known for m in maps):
        return maps
    held = {m.aliases.get(p.tensor, p.tensor) for m in maps for p in m.params if p.tensor}
    candidates = parameter_tensors(index, model)
    missing = tuple(c.name for c in candidates if c.name not in held)
    if not missing:
        return maps
    extra = tuple(_unoptimized_entry(model, name) for name in missing)
    first = replace(maps[0], params=maps[0].params + extra, not_in_optimizer=missing)
    return [first] + [replace(m, not_in_optimizer=missing) for m in maps[1:]]


def _unoptimized_entry(model: str, tensor: str) -> OptimizerParam:
    name = relative(model, tensor)
    return OptimizerParam(None, name, tensor, None, {}, {}, {}, None, None, (NOT_IN_OPTIMIZER,))
