"""Messages that travel up the DOM. Past tense: they report what happened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from paramtui.core.tree import ModuleNode

if TYPE_CHECKING:
    from paramtui.analysis.optimizer.step import OptimizerSummary
    from paramtui.analysis.scan.run import ScanReport
    from paramtui.analysis.stats.compute import TensorStats
    from paramtui.edits.effects import EditRecord
    from paramtui.io.save import SaveReport
    from paramtui.tui.views.edit_marks import EditMarks


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
    """Statistics for tensor `name` (its values at tensor version `version`) are ready."""

    def __init__(self, name: str, stats: TensorStats, version: int = 0) -> None:
        self.name = name
        self.stats = stats
        self.version = version
        super().__init__()


class StatsFailed(Message):
    """Statistics for tensor `name` could not be computed; `reason` is for the user."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__()


class OptimizerSummarised(Message):
    """What the optimizer knows about tensor `name` (None: nothing); `note`: one line on why
    there is no summary (names ambiguous, state unreadable), else None."""

    def __init__(
        self, name: str, summary: OptimizerSummary | None, note: str | None = None
    ) -> None:
        self.name = name
        self.summary = summary
        self.note = note
        super().__init__()


class TorchLoaded(Message):
    """The background import of torch finished (ok=False: it failed, with `reason`)."""

    def __init__(self, ok: bool, reason: str = "") -> None:
        self.ok = ok
        self.reason = reason
        super().__init__()


class EditFinished(Message):
    """An edit, undo or redo ran. `record` is what it did (None: nothing to undo/redo);
    `marks` are the session's marks afterwards."""

    def __init__(self, kind: str, record: EditRecord | None, marks: EditMarks) -> None:
        self.kind = kind  # "apply", "undo" or "redo"
        self.record = record
        self.marks = marks
        super().__init__()


class EditPreviewed(Message):
    """What an edit would do (`record`), computed before asking the user to confirm it."""

    def __init__(self, record: EditRecord) -> None:
        self.record = record
        super().__init__()


class EditFailed(Message):
    """An edit was refused or failed; `reason` is for the user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__()


class PreviewComputed(Message):
    """What a prune would do (`record`), or why it cannot (`reason`), for form state `key`."""

    def __init__(self, key: object, record: EditRecord | None, reason: str = "") -> None:
        self.key = key
        self.record = record
        self.reason = reason
        super().__init__()


class SaveProgressed(Message):
    """The save worker reached a new phase ("writing safetensors", "verifying")."""

    def __init__(self, phase: str) -> None:
        self.phase = phase
        super().__init__()


class SaveFinished(Message):
    """A save ended: `report` on success, else `reason` (`refused`: SaveRefused's message)."""

    def __init__(self, report: SaveReport | None, reason: str = "", refused: bool = False) -> None:
        self.report = report
        self.reason = reason
        self.refused = refused
        super().__init__()


class SourceReplaced(Message):
    """The open checkpoint was saved over: the app reopens `path` (the index is stale)."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__()


class ValuesOpened(Message):
    """The tensor whose values the value grid shows is ready (a lazy view, or an edited copy)."""

    def __init__(self, tensor: object) -> None:
        self.tensor = tensor  # torch.Tensor; typed loosely so this module does not import torch
        super().__init__()


class ValuesFailed(Message):
    """The value grid cannot show the tensor; `reason` is for the user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__()


class ModuleRowsComputed(Message):
    """Statistics for some rows of the module table: (name, version, stats or None, failure)."""

    def __init__(self, results: list[tuple[str, int, TensorStats | None, str]]) -> None:
        self.results = results
        super().__init__()


class ScanProgressed(Message):
    """The health scan has read `done` of `total` bytes and is at tensor `name`."""

    def __init__(self, done: int, total: int, name: str) -> None:
        self.done = done
        self.total = total
        self.name = name
        super().__init__()


class ScanFinished(Message):
    """The health scan is done: `report` is its ScanReport."""

    def __init__(self, report: ScanReport) -> None:
        self.report = report
        super().__init__()


class ScanFailed(Message):
    """The health scan stopped on an error; `reason` is for the user."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__()
