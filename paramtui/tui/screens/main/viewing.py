"""Looking closer: the full histogram (`h`), the value grid (`v`), the module table (`t`) and
the health scan (`S`) open from the node under the cursor.

Each view is a screen of its own with its own worker; the table and the scan dismiss with the
name of a tensor to go to, and the tree's cursor is put on it (clearing a filter that hides
it). Keys that do not apply to the node under the cursor are dimmed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from paramtui.core.model import TensorInfo
from paramtui.core.tree import ModuleNode
from paramtui.tui.screens.main.filtering import FilterController
from paramtui.tui.screens.main.host import ScreenHost
from paramtui.tui.screens.main.statistics import StatisticsController
from paramtui.tui.views.view_rules import VIEW_ACTIONS, applicable

VIEW_KEYS = Binding.Group("View", compact=True)  # the Footer must fit 80 columns


class ViewingController:
    """Opens the views that look closer at a tensor, a module or the whole file."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "histogram", "Histogram", id="view.histogram", group=VIEW_KEYS),
        Binding("v", "values", "Values", id="view.values", group=VIEW_KEYS),
        Binding("t", "module_table", "Module table", id="view.module_table", group=VIEW_KEYS),
        Binding("S", "scan", "Health scan", id="view.scan", group=VIEW_KEYS),
    ]
    ACTIONS = VIEW_ACTIONS

    def __init__(
        self, host: ScreenHost, statistics: StatisticsController, filtering: FilterController
    ) -> None:
        self.host = host
        self._statistics = statistics
        self._filtering = filtering
        self._views: frozenset[str] = frozenset({"scan"})  # the views that apply now

    def update(self, node: ModuleNode | None) -> None:
        edited = node is not None and self.host.opened.is_edited(node.path)
        views = applicable(node, edited)
        if views != self._views:
            self._views = views
            self.host.refresh_bindings()

    def check(self, action: str) -> bool | None:
        return True if action in self._views else None

    def histogram(self) -> None:
        from paramtui.tui.screens.histogram import HistogramScreen

        info = self._tensor_for("histogram")
        if info is not None:
            opened = self.host.opened
            edited = opened.is_edited(info.name)  # a live tensor is not an edit
            self.open_view(HistogramScreen(opened.stats_job(info), edited=edited))

    def values(self) -> None:
        from paramtui.tui.screens.values import ValuesScreen

        info = self._tensor_for("values")
        if info is not None:
            self.open_view(ValuesScreen(info, self.host.opened.stats_job(info).tensor))

    def module_table(self) -> None:
        from paramtui.tui.screens.module_table import ModuleTableScreen

        node = self.host.current_node()
        if node is not None and "module_table" in self._views:
            self.open_view(ModuleTableScreen(node, self.host.opened), self.go_to_tensor)

    def scan(self) -> None:
        from paramtui.tui.screens.scan import ScanScreen

        self.open_view(ScanScreen(self.host.opened), self.go_to_tensor)

    def open_view(self, screen: Screen[Any], done: Callable[[Any], None] | None = None) -> None:
        """Push a view; the detail pane's statistics wait until it closes."""
        self._statistics.stop()
        self.host.app.push_screen(screen, done)

    def _tensor_for(self, action: str) -> TensorInfo | None:
        node = self.host.current_node()
        if node is None or node.tensor is None or action not in self._views:
            return None
        return node.tensor

    def go_to_tensor(self, name: str | None) -> None:
        """Put the tree's cursor on `name` (a view's answer), clearing a filter that hides it."""
        if not name:
            return
        tree = self.host.module_tree
        if not tree.reveal(name) and tree.filtered:
            self._filtering.clear()
            tree.reveal(name)
        self.host.set_focus(tree)
