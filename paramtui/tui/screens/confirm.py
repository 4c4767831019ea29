"""Small modal questions: "zero 12 tensors?", "overwrite x.pth?", "quit with unsaved edits?".

A ChoiceScreen shows a title, a body and one button per answer; each answer has a key, Escape
gives the cancelling answer. It returns the chosen answer's value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


@dataclass(frozen=True)
class Choice:
    value: str
    label: str  # the button's text; its key is shown after it
    key: str  # a single key that picks it ("y", "d")
    variant: str = "default"  # Button variant: "default", "primary", "error", "warning"


YES_NO = (Choice("yes", "Yes", "y", "primary"), Choice("no", "No", "n"))


class ChoiceScreen(ModalScreen[str]):
    """Ask one question; dismiss with the value of the answer (Escape: `cancel`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="choice.cancel"),
    ]

    def __init__(
        self,
        title: str,
        body: str | Text,
        choices: tuple[Choice, ...] = YES_NO,
        cancel: str = "no",
        focus: int = 0,
    ) -> None:
        super().__init__()
        self.focus_index = focus
        self.title_text = title
        self.body = body
        self.choices = choices
        self.cancel = cancel

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-box", classes="dialog"):
            yield Static(Text(self.title_text, style="bold"), classes="dialog-title")
            yield Static(self.body if isinstance(self.body, Text) else Text(self.body))
            with Horizontal(classes="dialog-buttons"):
                for choice in self.choices:
                    label = f"{choice.label} ({choice.key})"
                    yield Button(
                        label,
                        id=f"choice-{choice.value}",
                        variant=choice.variant,  # type: ignore[arg-type]
                        compact=True,
                    )

    def on_mount(self) -> None:
        self.query(Button)[self.focus_index].focus()

    def on_key(self, event: events.Key) -> None:
        for choice in self.choices:
            if event.character == choice.key:
                event.stop()
                self.dismiss(choice.value)
                return

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(self.cancel)


def confirm(title: str, body: str | Text, yes: str = "Yes", danger: bool = True) -> ChoiceScreen:
    """A yes/no question whose "yes" button says what will happen ("Zero", "Overwrite").
    Dangerous questions start with Cancel focused: Enter alone never destroys anything."""
    choices = (
        Choice("yes", yes, "y", "error" if danger else "primary"),
        Choice("no", "Cancel", "n"),
    )
    return ChoiceScreen(title, body, choices, cancel="no", focus=1 if danger else 0)
