"""Looking closer: the full histogram (`h`), the value grid (`v`), the module table (`t`) and
the health scan (`S`) open from the node under the cursor. MainScreen builds on this screen.

Each view is a screen of its own with its own worker; the table and the scan dismiss with the
name of a tensor to go to, and this screen puts the tree's cursor on it (clearing a filter
that hides it). Keys that do not apply to the node under the cursor are dimmed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from paramtui.core.access import unviewable_reason
from paramtui.core.model import TensorInfo
from paramtui.core.pieces import is_composite
from paramtui.core.tree import ModuleNode
from paramtui.tui.messages import ModuleHighlighted
from paramtui.tui.screens.browse import BrowseScreen
from paramtui.tui.widgets.module_tree import ModuleTree

VIEW_KEYS = Binding.Group("View", compact=True)  # the Footer must fit 80 columns
VIEW_ACTIONS = frozenset({"histogram", "values", "module_table", "scan"})


def applicable(node: ModuleNode | None, edited: bool) -> frozenset[str]:
    """The view actions that apply to `node` (its values are shown when they can be read)."""
    if node is None:
        return frozenset({"scan"})
    found = {"scan"}
    info = node.tensor
    if info is not None:
        found.add("histogram")
        if edited or unviewable_reason(info) is None or is_composite(info):
            found.add("values")
    if not node.is_leaf:
        found.add("module_table")
    return frozenset(found)


class InspectScreen(BrowseScreen):
    """Browsing plus the views that look closer at a tensor, a module or the whole file."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "histogram", "Histogram", id="view.histogram", group=VIEW_KEYS),
        Binding("v", "values", "Values", id="view.values", group=VIEW_KEYS),
        Binding("t", "module_table", "Module table", id="view.module_table", group=VIEW_KEYS),
        Binding("S", "scan", "Health scan", id="view.scan", group=VIEW_KEYS),
    ]

    _views: frozenset[str] = frozenset({"scan"})

    def on_module_highlighted(self, message: ModuleHighlighted) -> None:
        super().on_module_highlighted(message)
        self._update_views(message.node)

    def _update_views(self, node: ModuleNode | None) -> None:
        edited = node is not None and self.workspace.is_edited(node.path)
        views = applicable(node, edited)
        if views != self._views:
            self._views = views
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in VIEW_ACTIONS:
            return True if action in self._views else None
        return super().check_action(action, parameters)

    # -- the views ---------------------------------------------------------------------------

    def action_histogram(self) -> None:
        from paramtui.tui.screens.histogram import HistogramScreen

        info = self._tensor_for("histogram")
        if info is not None:
            job = self.workspace.stats_job(info)
            edited = self.workspace.is_edited(info.name)  # a live tensor is not an edit
            self.open_view(HistogramScreen(job, edited=edited))

    def action_values(self) -> None:
        from paramtui.tui.screens.values import ValuesScreen

        info = self._tensor_for("values")
        if info is not None:
            self.open_view(ValuesScreen(info, self.workspace.stats_job(info).tensor))

    def action_module_table(self) -> None:
        from paramtui.tui.screens.module_table import ModuleTableScreen

        node = self.current_node()
        if node is not None and "module_table" in self._views:
            self.open_view(ModuleTableScreen(node, self.workspace), self.go_to_tensor)

    def action_scan(self) -> None:
        from paramtui.tui.screens.scan import ScanScreen

        self.open_view(ScanScreen(self.workspace), self.go_to_tensor)

    def open_view(self, screen: Screen[Any], done: Callable[[Any], None] | None = None) -> None:
        """Push a view; the detail pane's statistics wait until it closes."""
        self.stop_stats()
        self.app.push_screen(screen, done)

    def _tensor_for(self, action: str) -> TensorInfo | None:
        node = self.current_node()
        if node is None or node.tensor is None or action not in self._views:
            return None
        return node.tensor

    def go_to_tensor(self, name: str | None) -> None:
        """Put the tree's cursor on `name` (a view's answer), clearing a filter that hides it."""
        if not name:
            return
        tree = self.query_one(ModuleTree)
        if not tree.reveal(name) and tree.filtered:
            self.action_clear_filter()
            tree.reveal(name)
        self.set_focus(tree)
