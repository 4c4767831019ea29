"""`/` filters the tree by name (case-insensitive substring), `esc` clears the filter.

Typing restarts a short timer; when it fires the screen's filter worker computes the paths to
keep, and the result is applied only if the box still holds the text it was computed for."""

from __future__ import annotations

from functools import partial
from typing import ClassVar, Protocol

from textual.binding import Binding, BindingType
from textual.timer import Timer

from paramtui.core.tree import ModuleNode
from paramtui.tui.messages import FilterComputed
from paramtui.tui.screens.main.host import ScreenHost
from paramtui.tui.widgets.filter_input import FilterInput

FILTER_DELAY_S = 0.15  # typing pauses this long before the tree is filtered again


class FilterHost(ScreenHost, Protocol):
    module_root: ModuleNode | None  # the whole tree, once built

    @property
    def filter_box(self) -> FilterInput: ...

    def compute_filter(self, root: ModuleNode, needle: str) -> object: ...


class FilterController:
    """The filter box and the filter the tree shows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="main.filter"),
        Binding("escape", "clear_filter", "Clear", id="main.clear_filter"),
    ]
    ACTIONS = frozenset({"clear_filter"})

    def __init__(self, host: FilterHost) -> None:
        self.host = host
        self._timer: Timer | None = None
        self.applied = ""  # the filter text the tree shows now

    def check(self, action: str) -> bool | None:
        return self.host.module_tree.filtered or self.host.filter_box.display

    def open(self) -> None:
        box = self.host.filter_box
        box.display = True
        self.host.set_focus(box)  # now, not later: keys typed right after `/` belong to the box

    def clear(self) -> None:
        self.host.filter_box.value = ""
        self.end()

    def changed(self, text: str) -> None:
        self._stop_timer()
        root = self.host.module_root
        if root is not None and self.host.filter_box.display:  # not when closing
            apply = partial(self.host.compute_filter, root, text)
            self._timer = self.host.set_timer(FILTER_DELAY_S, apply)

    def end(self) -> None:
        """Close the box and show the whole tree again."""
        host = self.host
        self._stop_timer()
        host.cancel_workers("filter")
        host.filter_box.display = False
        host.set_focus(host.module_tree)
        if host.module_tree.filtered:
            host.module_tree.apply_filter(None)
        self.applied = ""
        host.refresh_bindings()

    def computed(self, message: FilterComputed) -> None:
        host = self.host
        if message.needle != host.filter_box.value:
            return  # the text changed since; a newer result is on its way
        host.module_tree.apply_filter(message.keep)
        self.applied = message.needle
        if message.keep is not None and len(message.keep) <= 1:
            host.notify(f"No tensor name contains {message.needle!r}.", severity="warning")
        host.refresh_bindings()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
