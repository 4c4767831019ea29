"""Training checkpoints: which part is the model, the optimizer, the EMA copy, the rest.

Recognises plain {model, optimizer, scheduler, epoch} dicts, PyTorch Lightning checkpoints
(state_dict + optimizer_states + lr_schedulers + callbacks + loops), timm checkpoints
(state_dict, state_dict_ema, args) and paramtui snapshots, whose gradients, trainability flags
and parameter/buffer roles it records on the index. Works on names alone, so every reader can
use it; pickle readers also pass the unpickled object so param groups are read in full.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from paramtui.core.model import (
    BUFFER,
    GRADIENT,
    OTHER,
    PARAMETER,
    CheckpointIndex,
    ParamGroupRecord,
)

SNAPSHOT_KEY = "paramtui_snapshot"
SNAPSHOT_MODEL = "state_dict"
SNAPSHOT_GRADS = "grads"
MODEL_ROOTS = ("model", "state_dict", "model_state_dict", "model_state", "net", "network")
EMA_ROOTS = ("state_dict_ema", "model_ema", "ema", "ema_state_dict")
OPTIMIZER_WORDS = frozenset(
    {"optimizer", "optimizers", "optimizer_states", "optim", "optimizer_state_dict",
     "optimizer_state"}
)  # fmt: skip
# Parts of training checkpoints that hold no model weights, whatever their tensors are called.
NON_MODEL_ROOTS = frozenset(
    {"lr_schedulers", "lr_scheduler", "scheduler", "schedulers", "callbacks", "loops",
     "hyper_parameters", "hparams", "args", "scaler", "grad_scaler", "amp_scaler", "amp",
     "loss_history", "metrics", "rng_state", "rng_states"}
)  # fmt: skip
_OPTIMIZER_STARTS = (*(w + "." for w in OPTIMIZER_WORDS), "state.", "param_groups.")
_OPTIMIZER_TOPS = OPTIMIZER_WORDS | {"state", "param_groups"}
_NON_MODEL_STARTS = tuple(w + "." for w in NON_MODEL_ROOTS)
_TRAINING_PARTS = frozenset(MODEL_ROOTS) | OPTIMIZER_WORDS
_SEARCH_DEPTH = 3  # {"optimizer_states": [{"state": ..., "param_groups": ...}]} is depth 2


@dataclass(frozen=True)
class TrainingLayout:
    """The parts of a training checkpoint, each a root of the module tree."""

    kind: str  # "paramtui snapshot", "lightning", "timm", "training dict"
    model: str | None  # the root holding the model's state_dict
    ema: tuple[str, ...]  # roots holding an EMA copy of the model
    optimizers: tuple[str, ...]  # where each optimizer state_dict lies
    other: tuple[str, ...]  # schedulers, callbacks, loops, hyper-parameters ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": self.model,
            "ema": list(self.ema),
            "optimizers": list(self.optimizers),
            "other": list(self.other),
        }


def recognise(index: CheckpointIndex, obj: Any = None) -> None:
    """Record what the layout tells about the index's tensors (in place).

    `obj` is the unpickled checkpoint when the reader has it: param groups are read from it in
    full, because metadata previews of long `params` lists are clipped."""
    if obj is not None:
        index.param_groups.extend(find_param_groups(obj))
    if is_snapshot(index):
        _apply_snapshot(index)
    tops = set(roots(index))
    kind = _kind(index, tops)
    if kind is not None or tops & _TRAINING_PARTS:  # weights live apart from the other parts
        _mark_non_model_parts(index)
    if kind is not None:
        layout = describe_layout(index)
        if layout is not None and layout.kind != "training dict":
            index.notes.append(_layout_note(layout))


def is_snapshot(index: CheckpointIndex) -> bool:
    entry = index.metadata.get(SNAPSHOT_KEY)
    return entry is not None and entry.preview == "1"


def roots(index: CheckpointIndex) -> list[str]:
    """First components of every tensor and metadata name, in file order."""
    seen: dict[str, None] = {}
    for name in (*index.tensors, *index.metadata):
        seen.setdefault(name.partition(".")[0], None)
    return list(seen)


def model_root(index: CheckpointIndex, tops: Iterable[str] | None = None) -> str | None:
    """The root holding the model's weights next to an optimizer, or None. "" for a live
    nn.Module: its parameters are at the top level ("fc.weight"), beside "optimizer." and
    "grads." (core.live). `tops`: roots(index) when the caller has them."""
    if index.live is not None:
        return ""
    found = set(roots(index) if tops is None else tops)
    return next((r for r in MODEL_ROOTS if r in found and _has_tensors(index, r)), None)


def optimizer_roots(index: CheckpointIndex, tops: Iterable[str] | None = None) -> list[str]:
    """Where optimizer state_dicts lie: "optimizer", "optimizer_states.0", "" (a bare one).
    `tops` (roots(index), when the caller has them) skips the pass over names when no root
    can hold an optimizer."""
    if tops is not None and not index.param_groups and _OPTIMIZER_TOPS.isdisjoint(tops):
        return []
    found: dict[str, None] = {r.optimizer: None for r in index.param_groups}
    names = (*index.tensors, *index.metadata)
    for name in names:
        if name.startswith(_OPTIMIZER_STARTS):  # one C call per name: cheap on 100k tensors
            root = _optimizer_root_of(name)
            if root is not None:
                found.setdefault(root, None)
    if "" in found and not any(n.startswith("param_groups.") for n in names):
        del found[""]  # a top-level module called "state", not a bare optimizer
    return list(found)


def describe_layout(index: CheckpointIndex, tops: list[str] | None = None) -> TrainingLayout | None:
    """The checkpoint's training layout, or None when it is a plain set of weights. `tops`:
    roots(index) when the caller has them (a module tree's first level and the metadata's)."""
    tops = roots(index) if tops is None else tops
    optimizers = tuple(optimizer_roots(index, tops))
    model = model_root(index, tops)
    ema = tuple(r for r in EMA_ROOTS if r in tops and _has_tensors(index, r))
    other = tuple(r for r in tops if r in NON_MODEL_ROOTS)
    kind = _kind(index, set(tops))
    if kind is None and not optimizers:
        return None
    return TrainingLayout(kind or "training dict", model, ema, optimizers, other)


def find_param_groups(obj: Any) -> list[ParamGroupRecord]:
    """Every optimizer state_dict's param groups near the top of an unpickled checkpoint."""
    out: list[ParamGroupRecord] = []
    _visit(obj, "", 0, out)
    return out


def _visit(value: Any, name: str, depth: int, out: list[ParamGroupRecord]) -> None:
    if isinstance(value, dict):
        groups = value.get("param_groups")
        if "state" in value and isinstance(groups, list):
            out.extend(param_group_records(name, groups))
            return
        children: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, (list, tuple)):
        if not value or not isinstance(value[0], (dict, list, tuple)):
            return  # a list of numbers (a loss history) holds no optimizer
        children = enumerate(value)
    else:
        return
    if depth < _SEARCH_DEPTH:
        for key, child in children:
            _visit(child, f"{name}.{key}" if name else str(key), depth + 1, out)


def param_group_records(root: str, groups: list[Any]) -> list[ParamGroupRecord]:
    """Records of an optimizer's `param_groups` list (for readers that hold it unpickled)."""
    out = []
    for i, group in enumerate(groups):
        if not isinstance(group, dict):
            continue
        params = tuple(
            p for p in group.get("params") or () if isinstance(p, (int, str))
            and not isinstance(p, bool)
        )  # fmt: skip
        names = group.get("param_names")
        named = None
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            named = tuple(names)
        out.append(ParamGroupRecord(root, i, params, named))
    return out


def _optimizer_root_of(name: str) -> str | None:
    for marker in (".state.", ".param_groups."):
        head, found, _ = name.partition(marker)
        if found and head.partition(".")[0] in OPTIMIZER_WORDS and head.count(".") <= 1:
            return head
    if name.startswith(("state.", "param_groups.")):
        return ""  # a bare optimizer state_dict
    return None


def _has_tensors(index: CheckpointIndex, root: str) -> bool:
    prefix = root + "."
    return any(name.startswith(prefix) for name in index.tensors)


def _kind(index: CheckpointIndex, tops: set[str]) -> str | None:
    if is_snapshot(index):
        return "paramtui snapshot"
    lightning_parts = {"optimizer_states", "lr_schedulers", "loops", "callbacks"}
    if "pytorch-lightning_version" in tops or ("state_dict" in tops and tops & lightning_parts):
        return "lightning"
    if "state_dict" in tops and (tops & set(EMA_ROOTS) or "arch" in tops):
        return "timm"
    return None


def _layout_note(layout: TrainingLayout) -> str:
    names = {"paramtui snapshot": "a paramtui snapshot", "lightning": "a PyTorch Lightning "
             "checkpoint", "timm": "a timm training checkpoint"}  # fmt: skip
    parts = [f"model weights in '{layout.model}'"] if layout.model else []
    parts += [f"an EMA copy in '{r}'" for r in layout.ema]
    parts += [f"optimizer state in '{r}'" for r in layout.optimizers]
    return f"{names[layout.kind]}: " + (", ".join(parts) or "no model weights found")


def _mark_non_model_parts(index: CheckpointIndex) -> None:
    """Tensors of schedulers, callbacks and loops are not weights, whatever their names say."""
    for name, info in index.tensors.items():
        if name.startswith(_NON_MODEL_STARTS) and not info.role_recorded and info.role != OTHER:
            index.tensors[name] = replace(info, role=OTHER)


def _apply_snapshot(index: CheckpointIndex) -> None:
    roles = _meta_values(index, "roles.")
    flags = _meta_values(index, "requires_grad.")
    grad_prefix = SNAPSHOT_GRADS + "."
    model_prefix = SNAPSHOT_MODEL + "."
    grads = {n[len(grad_prefix) :] for n in index.tensors if n.startswith(grad_prefix)}
    for name, info in index.tensors.items():
        if name.startswith(grad_prefix):
            index.tensors[name] = replace(info, role=GRADIENT, role_recorded=True)
        elif name.startswith(model_prefix):
            key = name[len(model_prefix) :]
            role = roles.get(key)
            if role not in (PARAMETER, BUFFER):
                continue
            wants = flags.get(key)
            index.tensors[name] = replace(
                info,
                role=role,
                role_recorded=True,
                requires_grad=wants if isinstance(wants, bool) else None,
                has_grad=(key in grads) if role == PARAMETER else None,
            )


def _meta_values(index: CheckpointIndex, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, entry in index.metadata.items():
        if name.startswith(prefix):
            try:
                out[name[len(prefix) :]] = ast.literal_eval(entry.preview)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
    return out
