"""Read one optimizer state_dict's parts from an index: its param groups and per-key state.

torch optimizers key `state` by parameter index; paramtui snapshots and DCP's flattened optimizer
state key it by parameter name. Nothing here reads tensor bytes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from paramtui.core.model import CheckpointIndex

Key = int | str
LIST_KEYS = ("params", "param_names")


@dataclass(frozen=True)
class ParamGroup:
    """One param group: its hyper-parameters and the state keys of its parameters."""

    index: int
    hyper: dict[str, Any]  # lr, betas, weight_decay, eps, momentum ... (previews when unparsable)
    hyper_tensors: dict[str, str]  # hyper-parameters saved as tensors (capturable lr): tensor names
    params: tuple[Key, ...] | None  # None when the list could not be read in full
    param_names: tuple[str, ...] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "hyper": jsonable(self.hyper),
            "hyper_tensors": dict(self.hyper_tensors),
            "params": None if self.params is None else list(self.params),
            "param_names": None if self.param_names is None else list(self.param_names),
        }


@dataclass
class KeyState:
    tensors: dict[str, str] = field(default_factory=dict)  # "exp_avg" -> tensor name
    values: dict[str, Any] = field(default_factory=dict)  # "step" -> 40 (saved as a number)


@dataclass
class RawOptimizer:
    root: str
    groups: list[ParamGroup]
    named_hyper: dict[str, dict[str, Any]]  # DCP flattened groups: param name -> hyper-params
    state: dict[Key, KeyState]
    by_names: bool  # state keyed by parameter names, not indices


def join(root: str, part: str) -> str:
    return f"{root}.{part}" if root else part


def literal(preview: str) -> Any:
    """The value a metadata preview shows, or the preview itself when it is not a literal."""
    if preview.endswith("…"):
        return preview
    try:
        return ast.literal_eval(preview)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return preview


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return repr(value)


def read_optimizer(index: CheckpointIndex, root: str) -> RawOptimizer:
    groups, named = _read_groups(index, root)
    entries = _state_entries(index, root)
    by_names = _keyed_by_names(groups, entries)
    state: dict[Key, KeyState] = {}
    for rest, tensor, value in entries:
        key, leaf = _split(rest, by_names)
        slot = state.setdefault(key, KeyState())
        if tensor is not None:
            slot.tensors[leaf] = tensor
        else:
            slot.values[leaf] = value
    return RawOptimizer(root, groups, named, state, by_names)


def _state_entries(index: CheckpointIndex, root: str) -> list[tuple[str, str | None, Any]]:
    """(name after "<root>.state.", tensor name or None, metadata value) in file order."""
    prefix = join(root, "state") + "."
    out: list[tuple[str, str | None, Any]] = [
        (n[len(prefix) :], n, None) for n in index.tensors if n.startswith(prefix)
    ]
    out += [
        (n[len(prefix) :], None, literal(e.preview))
        for n, e in index.metadata.items()
        if n.startswith(prefix)
    ]
    return out


def _keyed_by_names(groups: list[ParamGroup], entries: list[tuple[str, Any, Any]]) -> bool:
    if any(isinstance(k, str) for g in groups for k in g.params or ()):
        return True
    for rest, _, _ in entries:
        first, _, leaf = rest.partition(".")
        if not first.isdigit() or "." in leaf:
            return True  # "blocks.0.weight.exp_avg", or "0.weight.exp_avg" (a Sequential)
    return False


def _split(rest: str, by_names: bool) -> tuple[Key, str]:
    if by_names:
        key, _, leaf = rest.rpartition(".")
        return key, leaf
    first, _, leaf = rest.partition(".")
    return int(first), leaf


def _read_groups(
    index: CheckpointIndex, root: str
) -> tuple[list[ParamGroup], dict[str, dict[str, Any]]]:
    prefix = join(root, "param_groups") + "."
    hyper: dict[int, dict[str, Any]] = {}
    lists: dict[int, dict[str, Any]] = {}
    tensors: dict[int, dict[str, str]] = {}
    named: dict[str, dict[str, Any]] = {}
    for name, entry in index.metadata.items():
        if name.startswith(prefix):
            group, key = _group_key(name[len(prefix) :])
            if group is None:
                fqn, _, leaf = key.rpartition(".")
                named.setdefault(fqn, {})[leaf] = literal(entry.preview)
            else:
                target = lists if key in LIST_KEYS else hyper
                target.setdefault(group, {})[key] = literal(entry.preview)
    for name in index.tensors:
        if name.startswith(prefix):
            group, key = _group_key(name[len(prefix) :])
            if group is not None:
                tensors.setdefault(group, {})[key] = name
    records = {r.group: r for r in index.param_groups if r.optimizer == root}
    ids = sorted(set(hyper) | set(lists) | set(tensors) | set(records))
    groups = [
        _group(i, hyper.get(i, {}), tensors.get(i, {}), lists.get(i, {}), records.get(i))
        for i in ids
    ]
    return groups, named


def _group_key(rest: str) -> tuple[int | None, str]:
    """(group number, key) for "0.lr" and "0.betas.0"; (None, rest) for DCP's flattened groups
    keyed by parameter name ("layer.weight.lr", "0.weight.lr" in a Sequential)."""
    first, _, key = rest.partition(".")
    head, dot, tail = key.partition(".")
    if first.isdigit() and head and (not dot or tail.isdigit()):
        return int(first), key
    return None, rest


def _group(
    i: int, hyper: dict[str, Any], tensors: dict[str, str], lists: dict[str, Any], record: Any
) -> ParamGroup:
    if record is not None:
        return ParamGroup(i, hyper, tensors, record.params, record.param_names)
    params = _sequence(lists.get("params"), (int, str))
    names = _sequence(lists.get("param_names"), (str,))
    return ParamGroup(i, hyper, tensors, params, names)


def _sequence(value: Any, kinds: tuple[type, ...]) -> tuple[Any, ...] | None:
    if isinstance(value, (list, tuple)) and all(isinstance(v, kinds) for v in value):
        return tuple(value)
    return None
