"""The Textual app: a thin shell around MainScreen, and `run_app` that the CLI calls.

The index is read before the App starts (it takes milliseconds and needs neither torch nor the
tensor bytes), so a bad file is reported on stderr without ever starting the TUI. torch is
imported by a worker after the first paint."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input

from paramtui.core.model import CheckpointIndex
from paramtui.tui import fmt
from paramtui.tui.screens.help import HelpScreen
from paramtui.tui.screens.main import MainScreen

if TYPE_CHECKING:
    from paramtui.analysis.stats import TensorStats


def summary_line(index: CheckpointIndex) -> str:
    """`safetensors · 12 tensors · 1.2M params · 4.6 MiB on disk` for the header (shared
    storages counted once, so it can be less than the tree's sum)."""
    return (
        f"{index.format} · {fmt.grouped(len(index.tensors))} tensors · "
        f"{fmt.count(index.total_numel)} params · {fmt.size(index.storage_nbytes)} on disk"
    )


class ParamtuiApp(App[int]):
    """Browse one checkpoint's module tree, tensor details and statistics."""

    CSS_PATH = "paramtui.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("question_mark", "help", "Help", show=False, id="app.help_alt"),
    ]

    def __init__(self, index: CheckpointIndex) -> None:
        super().__init__()
        self.index = index
        self.stats_cache: dict[str, TensorStats] = {}  # tensor name -> statistics, this session
        self.title = fmt.printable(os.path.basename(index.path.rstrip("/")) or index.path)
        self.sub_title = summary_line(index)

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(self.index, self.stats_cache)

    def on_key(self, event: events.Key) -> None:
        """A printable key reaching the App while a text box has focus was queued for another
        widget before focus moved ("/abc" arriving in one read over SSH): an Input consumes
        every printable key it gets. Type it into the box instead of running a binding (`q`)."""
        focused = self.focused
        if isinstance(focused, Input) and event.is_printable and event.character:
            event.prevent_default()
            focused.insert_text_at_cursor(event.character)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def run_app(path: str) -> int:
    """Open `path` in the TUI; returns the process exit code (2 when the file is unusable)."""
    from paramtui.core.errors import ParamtuiError
    from paramtui.core.open import open_checkpoint

    try:
        index = open_checkpoint(path)
    except ParamtuiError as exc:
        print(f"paramtui: {exc}", file=sys.stderr)
        return exc.exit_code
    app = ParamtuiApp(index)
    app.run()
    return app.return_code or 0
