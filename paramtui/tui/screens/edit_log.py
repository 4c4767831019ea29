"""`l`: the edit log. Applied edits in order with their effect, then the undone ones (redoable)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from paramtui.tui.views import fmt

if TYPE_CHECKING:
    from paramtui.edits.effects import EditRecord

EFFECT_LINES = 3  # tensors listed under each edit


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def record_lines(number: int, record: EditRecord, undone: bool) -> Text:
    """`3. prune 30% … sparsity 0.0% -> 30.0%` and a few of its tensors below."""
    text = Text(f"{number:>2}. ", style="bold")
    text.append("↶ undone  " if undone else "✓ ", style="italic" if undone else "bold")
    text.append(fmt.printable(record.summary), style="dim" if undone else "")
    for effect in record.effects[:EFFECT_LINES]:
        text.append(f"\n      {fmt.printable(effect.name)}", style="dim")
        if effect.note:
            text.append(f"  {fmt.printable(effect.note)}", style="dim")
        elif effect.sparsity_after is not None:
            text.append(
                f"  {fmt.grouped(effect.changed)} changed, "
                f"{_pct(effect.sparsity_before)} → {_pct(effect.sparsity_after)}",
                style="dim",
            )
    more = len(record.effects) - EFFECT_LINES
    if more > 0:
        text.append(f"\n      … {more} more", style="dim")
    return text


def log_text(applied: Sequence[EditRecord], undone: Sequence[EditRecord], dirty: bool) -> Text:
    """Applied edits oldest first, then undone ones in the order `r` would redo them."""
    if not applied and not undone:
        return Text("No edits yet: f freezes, z zeroes, p prunes.", style="italic")
    text = Text()
    for i, record in enumerate(applied, 1):
        text.append_text(record_lines(i, record, undone=False))
        text.append("\n")
    for i, record in enumerate(reversed(undone), len(applied) + 1):
        text.append_text(record_lines(i, record, undone=True))
        text.append("\n")
    state = "unsaved edits — s saves a copy" if dirty else "everything is saved"
    text.append(
        f"\n{len(applied)} applied, {len(undone)} undone (r redoes) · {state}", style="italic"
    )
    return text


class EditLogScreen(ModalScreen[None]):
    """A dismissable overlay with the session's edits."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,l", "dismiss", "Close", id="log.close"),
    ]

    def __init__(
        self, applied: Sequence[EditRecord], undone: Sequence[EditRecord], dirty: bool
    ) -> None:
        super().__init__()
        self.body = log_text(applied, undone, dirty)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="log-box", classes="dialog"):
            yield Static(Text("Edit log", style="bold"), classes="dialog-title")
            yield Static(self.body, id="log-body")
            yield Static(Text("esc closes · u undoes · r redoes (on the main screen)", style="dim"))
