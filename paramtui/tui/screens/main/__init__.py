"""The main screen: the module tree and the detail pane, composed with controllers that each
own one group of keys (statistics, filtering, viewing, editing)."""

from paramtui.tui.screens.main.screen import MainScreen

__all__ = ["MainScreen"]
