"""Dotted tensor names -> a module tree with per-node aggregates and natural ordering."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

from paramtui.core.model import TensorInfo

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts `layers.2` before `layers.10`."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part
    )


class ModuleNode:
    """A module (or a tensor leaf) in the tree. Children are sorted on first request."""

    __slots__ = ("name", "path", "tensor", "num_tensors", "numel", "nbytes", "_children", "_sorted")

    def __init__(self, name: str, path: str) -> None:
        self.name = name  # the last dotted segment ("" for the root)
        self.path = path  # the full dotted path ("" for the root)
        self.tensor: TensorInfo | None = None
        self.num_tensors = 0
        self.numel = 0
        self.nbytes = 0
        self._children: dict[str, ModuleNode] = {}
        self._sorted: list[ModuleNode] | None = None

    @property
    def is_leaf(self) -> bool:
        return not self._children

    @property
    def children(self) -> list[ModuleNode]:
        if self._sorted is None:
            self._sorted = sorted(self._children.values(), key=lambda n: natural_key(n.name))
        return self._sorted

    def child(self, name: str) -> ModuleNode | None:
        return self._children.get(name)

    def find(self, path: str) -> ModuleNode | None:
        """The node at a full dotted path, or None."""
        node: ModuleNode | None = self
        for part in path.split(".") if path else []:
            node = node.child(part) if node is not None else None
        return node

    def iter_tensors(self) -> Iterator[TensorInfo]:
        """Every tensor at or below this node, in natural order."""
        if self.tensor is not None:
            yield self.tensor
        for child in self.children:
            yield from child.iter_tensors()

    def bytes_by_dtype(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for t in self.iter_tensors():
            counts[t.dtype] += t.nbytes
        return dict(counts.most_common())


def build_tree(tensors: Iterable[TensorInfo]) -> ModuleNode:
    """One pass over the names; aggregates are summed along each tensor's path."""
    root = ModuleNode("", "")
    for info in tensors:
        numel, nbytes = info.numel, info.nbytes
        node = root
        node.num_tensors += 1
        node.numel += numel
        node.nbytes += nbytes
        start = 0
        name = info.name
        while True:
            dot = name.find(".", start)
            end = len(name) if dot < 0 else dot
            part = name[start:end]
            nxt = node._children.get(part)
            if nxt is None:
                nxt = ModuleNode(part, name[:end])
                node._children[part] = nxt
            node = nxt
            node.num_tensors += 1
            node.numel += numel
            node.nbytes += nbytes
            if dot < 0:
                break
            start = dot + 1
        node.tensor = info
    return root


def filter_paths(root: ModuleNode, needle: str) -> set[str]:
    """Paths of nodes to show when filtering by `needle` (case-insensitive substring of the full
    name): every matching tensor and all of its ancestors."""
    needle = needle.lower()
    keep: set[str] = {""}
    for info in root.iter_tensors():
        if needle in info.name.lower():
            parts = info.name.split(".")
            for i in range(1, len(parts) + 1):
                keep.add(".".join(parts[:i]))
    return keep
