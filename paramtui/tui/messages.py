"""Messages that travel up the DOM. Past tense: they report what happened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from paramtui.core.tree import ModuleNode

if TYPE_CHECKING:
    from paramtui.analysis.stats import TensorStats


class TreeBuilt(Message):
    """The module tree of the open checkpoint is ready to show."""

    def __init__(self, root: ModuleNode) -> None:
        self.root = root
        super().__init__()


class ModuleHighlighted(Message):
    """The tree's cursor moved to a module or tensor node."""

    def __init__(self, node: ModuleNode) -> None:
        self.node = node
        super().__init__()


class FilterComputed(Message):
    """The set of tree paths that match a filter text (None: no filter)."""

    def __init__(self, needle: str, keep: set[str] | None) -> None:
        self.needle = needle
        self.keep = keep
        super().__init__()


class StatsProgressed(Message):
    """A statistics worker got further through tensor `name` (fraction 0..1)."""

    def __init__(self, name: str, fraction: float) -> None:
        self.name = name
        self.fraction = fraction
        super().__init__()


class StatsComputed(Message):
    """Statistics for tensor `name` are ready."""

    def __init__(self, name: str, stats: TensorStats) -> None:
        self.name = name
        self.stats = stats
        super().__init__()


class StatsFailed(Message):
    """Statistics for tensor `name` could not be computed; `reason` is for the user."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__()


class TorchLoaded(Message):
    """The background import of torch finished (ok=False: it failed, with `reason`)."""

    def __init__(self, ok: bool, reason: str = "") -> None:
        self.ok = ok
        self.reason = reason
        super().__init__()
