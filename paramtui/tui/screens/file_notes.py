"""`i`: everything the banner shortens: the index's notes in full, and every global the file
names that was read as an inert stub instead of being imported (TorchScript's classes, for
one)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from paramtui.core.model import CheckpointIndex
from paramtui.tui.views import fmt


def notes_text(index: CheckpointIndex) -> Text:
    text = Text("Notes\n", style="bold")
    for note in index.notes or ["(none)"]:
        text.append(f"· {fmt.printable(note)}\n")
    text.append("\nNamed by the file, read without importing or running them\n", style="bold")
    for name in index.unimported or ["(none)"]:
        text.append(f"· {fmt.printable(name)}\n")
    return text


class FileNotesScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,i", "dismiss", "Close", id="notes.close"),
    ]

    def __init__(self, index: CheckpointIndex) -> None:
        super().__init__()
        self.index = index

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="file-notes-box", classes="dialog"):
            yield Static(notes_text(self.index))
            yield Static(Text("esc closes", style="dim"))
