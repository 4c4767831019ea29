"""The `/` filter box above the tree. Escape clears it; Enter hands focus back to the tree."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    """Case-insensitive substring filter over tensor names."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Clear", id="filter.clear"),
    ]

    class Dismissed(Message):
        """The user cleared the filter with Escape."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter by name (Esc clears, Enter keeps)", id=id)

    def action_dismiss(self) -> None:
        self.value = ""
        self.post_message(self.Dismissed())
