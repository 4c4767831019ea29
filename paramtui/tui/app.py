"""The Textual app: a thin shell around MainScreen, and `run_app` that the CLI calls.

The index is read before the App starts (it takes milliseconds and needs neither torch nor the
tensor bytes), so a bad file is reported on stderr without ever starting the TUI. torch is
imported by a worker after the first paint; the edit session starts once it is there."""

from __future__ import annotations

import os
import sys
from typing import ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

from paramtui.core.config import Config, setting_error
from paramtui.core.model import CheckpointIndex
from paramtui.tui.bindings import binding_rows
from paramtui.tui.commands import GoToTensor, ScreenActions
from paramtui.tui.messages import SourceReplaced
from paramtui.tui.screens.confirm import Choice, ChoiceScreen
from paramtui.tui.screens.help import HelpScreen
from paramtui.tui.screens.main import MainScreen
from paramtui.tui.screens.main.split import DEFAULT_PERCENT, SplitWidth
from paramtui.tui.views import fmt
from paramtui.tui.views.header import summary_line
from paramtui.tui.workspace import Workspace

QUIT_CHOICES = (
    Choice("save", "Save a copy…", "s", "primary"),
    Choice("discard", "Discard edits", "d", "error"),
    Choice("cancel", "Cancel", "c"),
)
# A live model already holds its edits: quitting keeps them unless the user reverts them.
LIVE_QUIT_CHOICES = (
    Choice("save", "Save a copy…", "s", "primary"),
    Choice("keep", "Keep edits in the model", "k"),
    Choice("revert", "Undo all edits", "r", "error"),
    Choice("cancel", "Cancel", "c"),
)


class ParamtuiApp(App[int]):
    """Browse and edit one checkpoint's module tree, tensor details and statistics."""

    CSS_PATH = "paramtui.tcss"
    COMMANDS = App.COMMANDS | {ScreenActions, GoToTensor}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "request_quit", "Quit", id="app.quit"),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("question_mark", "help", "Help", show=False, id="app.help_alt"),
    ]

    def __init__(self, index: CheckpointIndex, config: Config | None = None) -> None:
        super().__init__()
        self.workspace = Workspace(index)
        self._show_title(index)
        self.config = config or Config()
        self.split = SplitWidth(self.config.detail_width or DEFAULT_PERCENT)  # kept for the session
        self.default_save_format: str | None = self.config.save_format
        self._apply_config(self.config)

    def _apply_config(self, config: Config) -> None:
        """The config's theme and keymap; a name Textual does not know is the config's error."""
        if config.theme is not None:
            if config.theme not in self.available_themes:
                known = ", ".join(sorted(self.available_themes))
                raise setting_error(
                    config, "", "theme", f"unknown theme '{config.theme}' ({known})"
                )
            self.theme = config.theme
        known_ids = {row.id for row in binding_rows()}
        for binding_id in config.keymap:
            if binding_id not in known_ids:
                what = f"no binding has the id '{binding_id}' (`paramtui config --keys` lists them)"
                raise setting_error(config, "keymap", binding_id, what)
        if config.keymap:
            self.set_keymap(config.keymap)

    @property
    def index(self) -> CheckpointIndex:
        return self.workspace.index

    def _show_title(self, index: CheckpointIndex) -> None:
        self.title = fmt.printable(os.path.basename(index.path.rstrip("/")) or index.path)
        self.sub_title = summary_line(index)

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(self.workspace, self.split, self.default_save_format)

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

    async def action_request_quit(self) -> None:
        """`q`: quit from the main screen; in a dialog it is just a letter (ctrl+q still quits)."""
        if not isinstance(self.screen, ModalScreen):
            await self.action_quit()

    async def action_quit(self) -> None:
        """Quit, but ask first when edits are unsaved."""
        if not self.workspace.dirty:
            self.exit(0)
            return
        if isinstance(self.screen, ChoiceScreen):
            return
        live = self.workspace.index.live is not None
        body = (
            "The live model holds edits that are not saved to a file. Keep them in the model, "
            "undo them all, or save a copy first?"
            if live
            else "This session has edits that are not saved. Save an edited copy first?"
        )
        choices = LIVE_QUIT_CHOICES if live else QUIT_CHOICES
        self.push_screen(
            ChoiceScreen("Unsaved edits", body, choices, cancel="cancel"), self._quit_answered
        )

    def _quit_answered(self, answer: str | None) -> None:
        if answer in ("discard", "keep"):
            self.exit(0)
        elif answer == "revert":
            session = self.workspace.session
            while session is not None and session.undo() is not None:
                pass
            self.exit(0)
        elif answer == "save" and isinstance(self.screen, MainScreen):
            self.screen.action_save_as(then_quit=True)

    def on_source_replaced(self, message: SourceReplaced) -> None:
        """The open checkpoint was saved over: reopen it (its edits are now in the file)."""
        from paramtui.core.errors import ParamtuiError
        from paramtui.core.open import open_checkpoint

        try:
            index = open_checkpoint(message.path)
        except ParamtuiError as exc:
            self.notify(f"could not reopen {message.path}: {exc}", severity="error")
            return
        self.workspace = Workspace(index)
        self._show_title(index)
        main = self.screen_stack[0]
        if isinstance(main, MainScreen):
            main.reset(self.workspace)
        self.notify("Reopened the saved file; the undo history starts afresh.", title="Reopened")


def run_app(path: str, config: Config | None = None) -> int:
    """Open `path` in the TUI; returns the process exit code (2 when the file is unusable)."""
    from paramtui.core.errors import ParamtuiError
    from paramtui.core.open import open_checkpoint

    try:
        index = open_checkpoint(path)
    except ParamtuiError as exc:
        print(f"paramtui: {exc}", file=sys.stderr)
        return exc.exit_code
    app = ParamtuiApp(index, config)
    app.run()
    return app.return_code or 0
