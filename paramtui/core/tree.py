"""Dotted tensor names -> a lazy module tree with per-node aggregates and natural ordering.

A node holds the tensors at or below it and groups them into children only when asked, so the
cost of showing a level is proportional to what lies under it: opening a 100k-tensor model only
groups the top level.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

from paramtui.core.counts import count_roles
from paramtui.core.model import TensorInfo

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts `layers.2` before `layers.10`."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part
    )


class ModuleNode:
    """A module (or a tensor leaf) in the tree. Children are built and sorted on first request."""

    __slots__ = (
        "name", "path", "tensor", "num_tensors", "numel", "nbytes", "_members", "_sorted",
        "counts", "_headline",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        path: str,
        members: list[TensorInfo],
        headline: int | None = None,
        dedupe: bool = True,
        tensor: TensorInfo | None = None,
        find_tensor: bool = True,
    ) -> None:
        self.name = name  # the last dotted segment ("" for the root)
        self.path = path  # the full dotted path ("" for the root)
        self._members = members  # every tensor at or below this node, in file order
        self._sorted: list[ModuleNode] | None = None
        self._headline: int | None = headline
        if find_tensor:  # a parent grouping its members already knows it
            tensor = next((info for info in members if info.name == path), None)
        self.tensor = tensor
        self.num_tensors = len(members)
        self.counts = count_roles(members, dedupe)  # one pass, once: the node's aggregates
        self.numel, self.nbytes = self.counts.every.numel, self.counts.every.nbytes

    @property
    def headline(self) -> int:
        """The count the tree shows: parameters (tied weights once), or every element of a
        part without parameters (an optimizer's state). The root shows what it was given (the
        primary model's parameters: an EMA copy is not more parameters)."""
        return self._headline if self._headline is not None else self.counts.headline

    @headline.setter
    def headline(self, value: int) -> None:
        self._headline = value

    @property
    def is_leaf(self) -> bool:
        return self.tensor is not None and self.num_tensors == 1

    @property
    def children(self) -> list[ModuleNode]:
        if self._sorted is None:
            groups: dict[str, list[TensorInfo]] = {}
            tensors: dict[str, TensorInfo] = {}  # children that are tensors themselves
            start = len(self.path) + 1 if self.path else 0
            for info in self._members:
                if info.name == self.path and self.path:
                    continue
                end = info.name.find(".", start)
                part = info.name[start:] if end < 0 else info.name[start:end]
                groups.setdefault(part, []).append(info)
                if end < 0:
                    tensors[part] = info
            prefix = f"{self.path}." if self.path else ""
            dedupe = self.counts.shares_storage  # no tied weights above: none below
            nodes = [
                ModuleNode(part, prefix + part, members, None, dedupe, tensors.get(part), False)
                for part, members in groups.items()
            ]
            self._sorted = sorted(nodes, key=lambda n: natural_key(n.name))
        return self._sorted

    def child(self, name: str) -> ModuleNode | None:
        for node in self.children:
            if node.name == name:
                return node
        return None

    def find(self, path: str) -> ModuleNode | None:
        """The node at a full dotted path, or None."""
        if not path:
            return self
        node: ModuleNode | None = self
        for part in path[len(self.path) + 1 if self.path else 0 :].split("."):
            node = node.child(part) if node is not None else None
        return node

    def iter_tensors(self) -> Iterator[TensorInfo]:
        """Every tensor at or below this node, in file order."""
        return iter(self._members)

    def bytes_by_dtype(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for info in self._members:
            counts[info.dtype] += info.nbytes
        return dict(counts.most_common())


def build_tree(tensors: Iterable[TensorInfo], headline: int | None = None) -> ModuleNode:
    """The root of the module tree; `headline` is the count its label shows (core.roots:
    the primary model's parameters), by default its own parameters."""
    return ModuleNode("", "", list(tensors), headline)


def filter_paths(
    root: ModuleNode, needle: str, owners: Mapping[str, str] | None = None
) -> set[str]:
    """Paths of nodes to show when filtering by `needle` (case-insensitive substring of the full
    name): every matching tensor and all of its ancestors. `owners` maps a tensor to the one it
    belongs to (optimizer state -> its parameter): a tensor also matches by its owner's name."""
    needle = needle.lower()
    owners = owners or {}
    keep: set[str] = {""}
    for info in root.iter_tensors():
        name = info.name
        owner = owners.get(name)
        if needle in name.lower() or (owner is not None and needle in owner.lower()):
            dot = name.find(".")
            while dot >= 0:
                keep.add(name[:dot])
                dot = name.find(".", dot + 1)
            keep.add(name)
    return keep
