"""A one-line question box under a view ("row,col", "[3, 0, :, :]"): Enter answers, Escape
closes it. The screen shows it, reads `Answered`, and hides it again."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class PromptInput(Input):
    """Asks for one value; `purpose` says what the answer is for ("jump", "slice")."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel", id="prompt.cancel"),
    ]

    class Dismissed(Message):
        """The user closed the box with Escape."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.purpose = ""

    def ask(self, purpose: str, placeholder: str, value: str = "") -> None:
        self.purpose = purpose
        self.placeholder = placeholder
        self.value = value
        self.cursor_position = len(value)
        self.display = True
        self.focus()

    def action_dismiss(self) -> None:
        self.display = False
        self.post_message(self.Dismissed())
