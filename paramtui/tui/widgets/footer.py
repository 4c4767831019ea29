"""The Footer with Quit and Help pinned at its right end.

Textual's Footer lays the keys out left to right and cuts what does not fit, so at 80 columns
any extra key (a filter's `esc Clear`) pushed the app's own keys, which come last, off screen.
Here they are docked to the right, as Textual docks the command palette's key."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PINNED_ACTIONS = ("request_quit", "help")  # the App's bindings


class PinnedFooter(Footer):
    DEFAULT_CSS = """
    PinnedFooter #pinned-keys {
        dock: right;
        width: auto;
        height: 1;
        padding-left: 1;
    }
    """

    def compose(self) -> ComposeResult:
        pinned: list[FooterKey] = []
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action in PINNED_ACTIONS:
                pinned.append(widget)
            else:
                yield widget
        if pinned:
            self.styles.grid_size_columns = max(1, (self.styles.grid_size_columns or 1) - 1)
            with Horizontal(id="pinned-keys"):
                yield from pinned
