"""The right-hand pane: what the selected node is, and (for a tensor) its statistics.

The screen sets `node` (and `marks` after an edit); the pane redraws. As the workers report, the
screen calls `show_pending` / `show_progress` / `show_stats` / `show_error` for the statistics and
`show_optimizer` for the optimizer's section; the pane's children are its own business."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from paramtui.core.model import CheckpointIndex
from paramtui.core.tree import ModuleNode
from paramtui.tui.views.edit_marks import EditMarks
from paramtui.tui.widgets.describe import describe
from paramtui.tui.widgets.stats_view import StatsView

if TYPE_CHECKING:
    from paramtui.analysis.stats.compute import TensorStats

_CACHE_SIZE = 256  # module descriptions walk their subtree (bytes by dtype): keep recent ones


class DetailPane(VerticalScroll):
    """Details of the highlighted module or tensor."""

    node: reactive[ModuleNode | None] = reactive(None, init=False)
    marks: reactive[EditMarks] = reactive(EditMarks, init=False)

    def __init__(self, index: CheckpointIndex, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.index = index
        self.root: ModuleNode | None = None  # set by the screen once the tree is built
        self._described: dict[tuple[str, int, bool], RenderableType] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text("Reading the index…", style="italic"), id="detail-info")
        yield StatsView(id="stats")
        yield Static("", id="detail-optimizer")

    def on_mount(self) -> None:
        self._stats_view.display = False
        self.show_optimizer(None)

    @property
    def _stats_view(self) -> StatsView:
        return self.query_one(StatsView)

    def reset(self, index: CheckpointIndex) -> None:
        """Describe another index from now on (the same file, reopened)."""
        self.index = index
        self._described.clear()
        self.marks = EditMarks()

    def show_stats(self, stats: TensorStats) -> None:
        """The statistics of the tensor on show."""
        self._stats_view.show_stats(stats)

    def show_pending(self, note: str = "") -> None:
        """Statistics are on their way (`note`: why they may take a while)."""
        self._stats_view.show_pending(note)

    def show_progress(self, fraction: float) -> None:
        self._stats_view.show_progress(fraction)

    def show_error(self, reason: str) -> None:
        """The statistics could not be computed: say why instead."""
        self._stats_view.show_error(reason)

    def show_optimizer(self, section: RenderableType | None) -> None:
        """The optimizer's view of the selected parameter (None: hide the section)."""
        box = self.query_one("#detail-optimizer", Static)
        box.update(section if section is not None else "")
        box.display = section is not None

    def watch_node(self, node: ModuleNode | None) -> None:
        self.show_optimizer(None)
        self._show(node)
        self._stats_view.display = node is not None and node.tensor is not None
        self.scroll_home(animate=False)

    def watch_marks(self) -> None:
        self._show(self.node)  # the same node, described as it is after the edit

    def _show(self, node: ModuleNode | None) -> None:
        info = self.query_one("#detail-info", Static)
        info.update(self._describe(node) if node is not None else "")

    def _describe(self, node: ModuleNode) -> RenderableType:
        key = (node.path, self.marks.version, self.marks.dirty)
        cached = self._described.get(key)
        if cached is None:
            cached = describe(node, self.root or node, self.index, self.marks)
            if len(self._described) >= _CACHE_SIZE:
                self._described.pop(next(iter(self._described)))
            self._described[key] = cached
        return cached
