"""The checkpoints the TUI has open: each an `Opened` (index, edit session, cached statistics).

The main screen works on `Workspace.primary`; a side-by-side comparison opens a second entry
with `Workspace.open`, whose session, statistics and marks are its own. The session exists once
torch has been imported (edits need torch; the first paint must not wait for it). Statistics
are cached per (tensor name, tensor version): an edit, undo or redo gives a tensor a new version,
so its statistics are computed again on its current values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from paramtui.core.model import CheckpointIndex, TensorInfo
from paramtui.tui.views.edit_marks import EditMarks
from paramtui.tui.views.stats_job import StatsJob

if TYPE_CHECKING:
    from paramtui.analysis.optimizer.map import OptimizerMap
    from paramtui.analysis.optimizer.step import OptimizerSummary
    from paramtui.analysis.scan.run import ScanReport
    from paramtui.analysis.stats.compute import TensorStats
    from paramtui.edits.session import EditSession


class Opened:
    """One checkpoint, its edits (once possible) and the statistics computed so far."""

    def __init__(self, index: CheckpointIndex) -> None:
        self.index = index
        self.session: EditSession | None = None
        self.marks = EditMarks()  # replaced after every edit, undo and redo
        self.saved_path: str | None = None  # where the last save wrote to
        self._stats: dict[tuple[str, int], TensorStats] = {}
        self.scan_report: ScanReport | None = None  # the last health scan of the file
        self._optimizer_maps: list[OptimizerMap] | None = None
        # tensor name -> (its OptimizerSummary or None, a note on why there is none, or None)
        self.optimizer_summaries: dict[str, tuple[OptimizerSummary | None, str | None]] = {}

    def start_session(self) -> None:
        """Create the edit session (imports the edits layer, which needs torch to run)."""
        if self.session is None:
            from paramtui.edits.session import EditSession

            self.session = EditSession(self.index)

    @property
    def dirty(self) -> bool:
        return self.session is not None and self.session.dirty

    def tensors(self) -> list[TensorInfo]:
        """The current tensors, in file order (edits can add and remove names)."""
        session = self.session
        if session is None or not session.structure_changed:
            return list(self.index.tensors.values())
        return [session.info(name) for name in session.names()]

    def version(self, name: str) -> int:
        session = self.session
        if session is None:
            return 0
        try:
            return session.tensor_version(name)
        except Exception:  # noqa: BLE001 - a name an edit removed: nothing current to key
            return -1

    def stats(self, name: str) -> TensorStats | None:
        """The statistics of `name`'s current values, if computed already."""
        return self._stats.get((name, self.version(name)))

    def remember(self, name: str, version: int, stats: TensorStats) -> None:
        self._stats[(name, version)] = stats

    def stats_job(self, info: TensorInfo) -> StatsJob:
        """What a statistics worker needs: the file's bytes, or the edited values in memory."""
        version = self.version(info.name)
        if not self.is_edited(info.name):
            return StatsJob(info, version, self._live_tensor(info))
        assert self.session is not None
        return StatsJob(info, version, self.session.tensor(info.name))

    def _live_tensor(self, info: TensorInfo) -> object | None:
        """A live nn.Module's tensor (statistics computed where it lives), else None."""
        if self.index.live is None:
            return None
        from paramtui.core import access

        return access.open_tensor(info) if access.unviewable_reason(info) is None else None

    def is_edited(self, name: str) -> bool:
        """Values changed in this session (as of the last edit, undo or redo)."""
        return name in self.marks.edited

    def optimizer_maps(self) -> list[OptimizerMap]:
        """The file's optimizers mapped to parameter names, computed once (call from a worker)."""
        if self._optimizer_maps is None:
            from paramtui.analysis.optimizer.map import map_optimizers

            self._optimizer_maps = map_optimizers(self.index)
        return self._optimizer_maps


class Workspace:
    """The opened checkpoints, the first one primary. Reading the single-checkpoint API here
    (`index`, `session`, `stats(name)`, ...) reads the primary's."""

    def __init__(self, index: CheckpointIndex) -> None:
        self._opened = [Opened(index)]

    def open(self, index: CheckpointIndex) -> Opened:
        """Open another checkpoint next to the primary (a comparison's second side)."""
        opened = Opened(index)
        self._opened.append(opened)
        return opened

    @property
    def primary(self) -> Opened:
        return self._opened[0]

    def __iter__(self) -> Iterator[Opened]:
        return iter(self._opened)

    def __len__(self) -> int:
        return len(self._opened)

    # -- the primary checkpoint's state, as the single-checkpoint API had it -------------------

    @property
    def index(self) -> CheckpointIndex:
        return self.primary.index

    @property
    def session(self) -> EditSession | None:
        return self.primary.session

    @property
    def marks(self) -> EditMarks:
        return self.primary.marks

    @property
    def dirty(self) -> bool:
        return self.primary.dirty

    @property
    def saved_path(self) -> str | None:
        return self.primary.saved_path

    @property
    def scan_report(self) -> ScanReport | None:
        return self.primary.scan_report

    def stats(self, name: str) -> TensorStats | None:
        return self.primary.stats(name)

    def is_edited(self, name: str) -> bool:
        return self.primary.is_edited(name)
