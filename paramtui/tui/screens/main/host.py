"""What a controller may use of the screen that owns it (MainScreen satisfies it structurally).

Controllers are plain objects: they hold the logic of one job (statistics, filtering, views,
editing) while the screen keeps the widgets, the workers and the message handlers, which
Textual needs on a DOM node. A Protocol here, not an import of the screen, keeps the arrows
pointing one way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from textual.app import App
from textual.notifications import SeverityLevel
from textual.timer import Timer
from textual.widget import Widget

from paramtui.core.tree import ModuleNode
from paramtui.tui.widgets.detail_pane import DetailPane
from paramtui.tui.widgets.module_tree import ModuleTree
from paramtui.tui.workspace import Opened


class ScreenHost(Protocol):
    """The screen's side of every controller."""

    @property
    def app(self) -> App[Any]: ...

    @property
    def opened(self) -> Opened: ...

    @property
    def module_tree(self) -> ModuleTree: ...

    @property
    def detail(self) -> DetailPane: ...

    def current_node(self) -> ModuleNode | None: ...

    def refresh_bindings(self) -> None: ...

    def set_focus(self, widget: Widget | None, scroll_visible: bool = True) -> None: ...

    def set_timer(self, delay: float, callback: Callable[[], object]) -> Timer: ...

    def cancel_workers(self, group: str) -> None: ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...
