"""The models (and the rest) a checkpoint holds, each counted on its own.

A plain state dict is one model. A training checkpoint holds its model, EMA copies (timm's
`state_dict_ema`), optimizer state and other parts (schedulers, callbacks) side by side: each
is a root with its own counts, so an EMA copy is a second model and not twice the parameters.
The first model root is the primary one: its parameters are "the checkpoint's parameters"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from paramtui.core.counts import RoleCounts, count_roles
from paramtui.core.model import CheckpointIndex, TensorInfo
from paramtui.core.training import describe_layout
from paramtui.core.tree import ModuleNode, build_tree

MODEL, EMA, OPTIMIZER, OTHER_PART = "model", "ema", "optimizer", "other"


@dataclass(frozen=True, slots=True)
class RootCounts:
    """One part of a checkpoint: its name ("" for the top level), kind and counts."""

    name: str
    kind: str  # "model", "ema", "optimizer" or "other"
    counts: RoleCounts

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, **self.counts.to_dict()}


def count_roots(index: CheckpointIndex, tree: ModuleNode | None = None) -> tuple[RootCounts, ...]:
    """Each root's counts, primary model first, read from the module tree's nodes (`tree`:
    build_tree of the index's tensors, or of an edit session's when it renamed some)."""
    tree = build_tree(index.tensors.values()) if tree is None else tree
    parts = _parts(index, tree)
    if parts == [("", MODEL)]:  # a plain set of weights: the whole tree is the model
        return (RootCounts("", MODEL, tree.counts),)
    found = [RootCounts(name, kind, _counts_of(tree, name, parts)) for name, kind in parts]
    return tuple(r for r in found if r.counts.tensors or r.kind in (MODEL, OPTIMIZER))


def _counts_of(tree: ModuleNode, name: str, parts: list[tuple[str, str]]) -> RoleCounts:
    if name:
        node = tree.find(name)
        return node.counts if node is not None else RoleCounts()
    others = sorted((n for n, _ in parts if n), key=len, reverse=True)
    rest = [t for t in tree.iter_tensors() if not _under_any(t.name, others)]
    return count_roles(rest)


def model_tree(index: CheckpointIndex, tensors: Iterable[TensorInfo] | None = None) -> ModuleNode:
    """The module tree (of `tensors`, default the index's) whose root shows the primary model's
    parameters: an EMA copy or an optimizer beside the model are not more parameters."""
    tree = build_tree(index.tensors.values() if tensors is None else tensors)
    model = primary(count_roots(index, tree))
    if model is not None:
        tree.headline = model.counts.parameters.numel
    return tree


def primary(roots: Iterable[RootCounts]) -> RootCounts | None:
    """The first model root, or None (a file holding only optimizer state)."""
    return next((r for r in roots if r.kind == MODEL), None)


def _parts(index: CheckpointIndex, tree: ModuleNode) -> list[tuple[str, str]]:
    """(root, kind) in the order they are reported; "" catches what no other root holds."""
    tops = dict.fromkeys(node.name for node in tree.children)
    tops.update(dict.fromkeys(name.partition(".")[0] for name in index.metadata))
    layout = describe_layout(index, list(tops))
    if layout is None:
        return [("", MODEL)]
    parts = [(layout.model, MODEL)] if layout.model is not None else []
    parts += [(name, EMA) for name in layout.ema]
    parts += [(name, OPTIMIZER) for name in layout.optimizers]
    parts += [(name, OTHER_PART) for name in layout.other]
    if all(name != "" for name, _ in parts):
        parts.append(("", MODEL if layout.model is None else OTHER_PART))
    return parts


def _under_any(name: str, roots: list[str]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)
