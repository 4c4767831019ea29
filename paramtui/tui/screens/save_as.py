"""`s`: save an edited copy. The path decides the format (a ticked box asks for a DCP folder);
existing files and folders need a confirmation.

The save runs in a thread worker (paramtui.io.save: atomic, verified) and reports its phases;
the dialog then shows the SaveReport. When the saver refuses (safetensors cannot hold shared
storages or nested entries), its message says what and offers the lossless alternative: the
user picks another path or ticks an option and tries again."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, ProgressBar, Static

from paramtui.core.errors import ParamtuiError, SaveRefused
from paramtui.tui.messages import SaveFinished, SaveProgressed
from paramtui.tui.screens.confirm import confirm
from paramtui.tui.views.save_text import destination, format_hint, report_text, same_file
from paramtui.tui.widgets.toggles import DialogCheckbox

if TYPE_CHECKING:
    from paramtui.edits.session import EditSession
    from paramtui.io.save import SaveReport


class SaveAsScreen(ModalScreen["SaveReport | None"]):
    """Ask where to save, save in the background, show what was written and verified."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="save.close"),
        # Enter saves from anywhere but a button (the Input submits; check boxes take space).
        Binding("enter", "save", "Save", id="save.save", show=False),
    ]

    def __init__(self, session: EditSession, preferred_format: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.preferred_format = preferred_format  # the config's [save] format
        self.source = session.index.path
        self.report: SaveReport | None = None
        self.saving = False

    def compose(self) -> ComposeResult:
        from paramtui.io.save import default_save_path

        with Vertical(id="save-box", classes="dialog"):
            yield Static(Text("Save an edited copy", style="bold"), classes="dialog-title")
            yield Static(
                Text(
                    ".pth .pt .bin .ckpt → torch zip · .safetensors → safetensors"
                    " · a name ending in / → sharded safetensors folder"
                    " · a folder, with the DCP box ticked → torch.distributed.checkpoint",
                    style="dim",
                )
            )
            yield Input(
                default_save_path(self.source, self.preferred_format),
                id="save-path",
                compact=True,
                select_on_focus=False,
            )
            yield Static(id="save-format")
            yield DialogCheckbox(
                "store tied tensors as copies (--untie)", id="save-untie", compact=True
            )
            yield DialogCheckbox(
                "drop non-tensor entries (--tensors-only)", id="save-tensors-only", compact=True
            )
            yield DialogCheckbox("write a DCP folder (--format dcp)", id="save-dcp", compact=True)
            yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="save-bar")
            yield Static(id="save-status")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (enter)", id="save-go", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="save-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#save-bar").display = False
        self.query_one("#save-status").display = False
        path = self.query_one("#save-path", Input)
        path.focus()
        path.cursor_position = len(path.value)
        self._show_format(path.value)

    @on(Input.Changed, "#save-path")
    def _path_changed(self) -> None:
        self._show_format(self.query_one("#save-path", Input).value)

    @on(Checkbox.Changed, "#save-dcp")
    def _dcp_toggled(self, event: Checkbox.Changed) -> None:
        from paramtui.io.destination import output_format_of_name, split_extension

        path = self.query_one("#save-path", Input)
        if event.value and output_format_of_name(path.value):  # a folder name, not a file name
            path.value = split_extension(path.value)[0]  # last.edited.pth.tar -> last.edited
        self._show_format(path.value)

    def _show_format(self, text: str) -> None:
        dcp = self.query_one("#save-dcp", Checkbox).value
        hint = format_hint(text, self.source, dcp, self.session.index.format)
        self.query_one("#save-format", Static).update(hint)

    # -- saving ------------------------------------------------------------------------------

    def destination(self) -> str:
        return destination(self.query_one("#save-path", Input).value)

    @on(Input.Submitted, "#save-path")
    @on(Button.Pressed, "#save-go")
    def action_save(self) -> None:
        if self.saving:
            return
        if self.report is not None:
            self.dismiss(self.report)
            return
        dest = self.destination()
        if os.path.exists(dest) or same_file(dest, self.source):
            what = (
                "the open checkpoint itself"
                if same_file(dest, self.source)
                else "a folder"
                if os.path.isdir(dest)
                else "a file"
            )
            body = (
                f"{dest} is {what}. Replace it? It is replaced only once the new file is "
                "complete and fsync'd; the old file stays intact until then."
            )
            self.app.push_screen(
                confirm("Overwrite?", body, yes="Overwrite"),
                lambda answer: self._confirmed(answer, dest),
            )
            return
        self._start(dest, overwrite=False)

    def _confirmed(self, answer: str | None, dest: str) -> None:
        if answer == "yes":
            self._start(dest, overwrite=True)

    def _start(self, dest: str, overwrite: bool) -> None:
        self.saving = True
        for widget in self.query("Input, Checkbox, #save-go"):
            widget.disabled = True
        self.query_one("#save-bar").display = True
        self._status(Text("saving… (the destination appears only once complete)", style="italic"))
        untie = self.query_one("#save-untie", Checkbox).value
        tensors_only = self.query_one("#save-tensors-only", Checkbox).value
        kind = "dcp" if self.query_one("#save-dcp", Checkbox).value else None
        self.run_save(dest, overwrite, untie, tensors_only, kind)

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def run_save(
        self, dest: str, overwrite: bool, untie: bool, tensors_only: bool, kind: str | None
    ) -> None:
        from paramtui.io.save import save

        def progress(phase: str) -> None:
            self.post_message(SaveProgressed(phase))

        try:
            report = save(
                self.session,
                dest,
                overwrite=overwrite,
                allow_untie=untie,
                tensors_only=tensors_only,
                format=kind,
                progress=progress,
            )
        except SaveRefused as exc:
            self.post_message(SaveFinished(None, str(exc), refused=True))
        except (ParamtuiError, OSError) as exc:
            self.post_message(SaveFinished(None, str(exc)))
        except Exception as exc:  # noqa: BLE001 - report it in the dialog, keep the app
            self.post_message(SaveFinished(None, f"the save failed: {exc!r}"))
        else:
            self.post_message(SaveFinished(report))

    def on_save_progressed(self, message: SaveProgressed) -> None:
        self._status(Text(f"{message.phase}…", style="italic"))

    def on_save_finished(self, message: SaveFinished) -> None:
        self.saving = False
        self.query_one("#save-bar").display = False
        if message.report is not None:
            self.report = message.report
            self._status(report_text(message.report, len(self.session.grad_intents())))
            self.query_one("#save-cancel").display = False
            go = self.query_one("#save-go", Button)
            go.label, go.disabled = "Close (enter)", False
            go.focus()
            return
        for widget in self.query("Input, Checkbox, #save-go"):
            widget.disabled = False
        title = "Cannot save it this way" if message.refused else "The save failed"
        text = Text(f"{title}: ", style="bold")
        text.append(message.reason)
        self._status(text)
        self.query_one("#save-path", Input).focus()

    def _status(self, text: Text) -> None:
        status = self.query_one("#save-status", Static)
        status.update(text)
        status.display = True

    @on(Button.Pressed, "#save-cancel")
    def action_close(self) -> None:
        if not self.saving:
            self.dismiss(self.report)
