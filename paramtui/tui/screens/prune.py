"""`p`: the prune dialog. Fraction or threshold, scope, structured or not, and a live preview.

Every change of the form rebuilds the op (prune_form.build_op) and, after a short pause, asks
the session for a preview in a worker; the preview shows each tensor's sparsity before and
after. Enter applies (dismisses with the op and its preview), Escape cancels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Input, Label, RadioSet, Static

from paramtui.core.errors import ParamtuiError
from paramtui.core.tree import ModuleNode
from paramtui.tui.messages import PreviewComputed
from paramtui.tui.views import fmt
from paramtui.tui.views.prune_form import (
    FormError,
    Mode,
    PruneForm,
    build_op,
    preview_renderable,
    scope_choices,
)
from paramtui.tui.widgets.toggles import DialogCheckbox, LegibleRadioButton

if TYPE_CHECKING:
    from paramtui.edits.effects import EditRecord
    from paramtui.edits.ops import Prune
    from paramtui.edits.session import EditSession

PREVIEW_DELAY_S = 0.2
DEFAULT_TEXT: dict[Mode, str] = {"amount": "30%", "threshold": "1e-3"}


@dataclass(frozen=True)
class PruneChoice:
    """What the dialog returns: the op to apply and the preview the user saw (if any)."""

    op: Prune
    preview: EditRecord | None


class PruneScreen(ModalScreen[PruneChoice | None]):
    """Magnitude pruning of the node under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "apply", "Apply", id="prune.apply"),  # radio buttons keep their enter
        Binding("escape", "cancel", "Cancel", id="prune.cancel"),
    ]

    def __init__(self, session: EditSession, node: ModuleNode) -> None:
        super().__init__()
        self.session = session
        self.node = node
        self.choices = scope_choices(node)
        self.op: Prune | None = None
        self.preview: EditRecord | None = None
        self._texts = dict(DEFAULT_TEXT)
        self._mode: Mode = "amount"
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="prune-box", classes="dialog"):
            title = Text("Prune by magnitude  ", style="bold")
            title.append(fmt.printable(self.node.path) or "(whole checkpoint)")
            yield Static(title, classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("by", classes="form-label")
                with RadioSet(id="prune-mode", compact=True):
                    yield LegibleRadioButton("fraction of elements", value=True, id="mode-amount")
                    yield LegibleRadioButton("threshold |x| < t", id="mode-threshold")
            with Horizontal(classes="form-row"):
                yield Label("value", classes="form-label")
                yield Input(DEFAULT_TEXT["amount"], id="prune-value", compact=True)
                yield Static("30% or 0.3", id="prune-hint")
            with Horizontal(classes="form-row"):
                yield Label("scope", classes="form-label")
                with RadioSet(id="prune-scope", compact=True):
                    for i, choice in enumerate(self.choices):
                        yield LegibleRadioButton(
                            choice.label, value=i == 0, id=f"scope-{choice.key}"
                        )
            with Horizontal(classes="form-row"):
                yield Label("kind", classes="form-label")
                yield DialogCheckbox("structured (Ln norm)", id="prune-structured", compact=True)
                yield Label("dim", classes="form-small")
                yield Input("0", id="prune-dim", compact=True, classes="form-number")
                yield Label("n", classes="form-small")
                yield Input("1", id="prune-norm", compact=True, classes="form-number")
            yield Static(id="prune-error")
            yield Static(Text("preview…", style="italic"), id="prune-preview")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (enter)", id="prune-apply", variant="error", compact=True)
                yield Button("Cancel (esc)", id="prune-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#prune-value", Input).focus()
        self._form_changed()

    # -- reading the form ------------------------------------------------------------------

    def form(self) -> PruneForm:
        scope_index = self.query_one("#prune-scope", RadioSet).pressed_index
        return PruneForm(
            mode=self._mode,
            value=self.query_one("#prune-value", Input).value,
            scope=self.choices[max(scope_index, 0)],
            structured=self.query_one("#prune-structured", Checkbox).value,
            dim=self.query_one("#prune-dim", Input).value,
            norm=self.query_one("#prune-norm", Input).value,
        )

    @on(RadioSet.Changed, "#prune-mode")
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        value = self.query_one("#prune-value", Input)
        self._texts[self._mode] = value.value
        self._mode = "threshold" if event.index == 1 else "amount"
        self.query_one("#prune-hint", Static).update(
            "prune |x| below it, e.g. 1e-3" if self._mode == "threshold" else "30% or 0.3"
        )
        value.value = self._texts[self._mode]  # posts Input.Changed -> _form_changed

    @on(Input.Changed)
    @on(Checkbox.Changed)
    @on(RadioSet.Changed, "#prune-scope")
    def _form_changed(self) -> None:
        self.op, self.preview = None, None
        error = self.query_one("#prune-error", Static)
        try:
            self.op = build_op(self.form())
        except (FormError, ParamtuiError) as exc:
            error.update(Text(str(exc), style="bold"))
            error.display = True
            self.query_one("#prune-preview", Static).update("")
            return
        error.display = False
        self.query_one("#prune-preview", Static).update(Text("preview…", style="italic"))
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(PREVIEW_DELAY_S, self._start_preview)

    # -- the preview -----------------------------------------------------------------------

    def _start_preview(self) -> None:
        if self.op is not None:
            self.compute_preview(self.op)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def compute_preview(self, op: Prune) -> None:
        try:
            record = self.session.preview(op)
        except ParamtuiError as exc:
            self.post_message(PreviewComputed(op, None, str(exc)))
        except Exception as exc:  # noqa: BLE001 - show it in the dialog, keep the app
            self.post_message(PreviewComputed(op, None, f"the preview failed: {exc!r}"))
        else:
            self.post_message(PreviewComputed(op, record))

    def on_preview_computed(self, message: PreviewComputed) -> None:
        if message.key != self.op:
            return  # the form changed since; a newer preview is on its way
        shown = self.query_one("#prune-preview", Static)
        if message.record is None:
            shown.update(Text(message.reason, style="bold"))
            return
        self.preview = message.record
        shown.update(preview_renderable(message.record))

    # -- answers ---------------------------------------------------------------------------

    @on(Input.Submitted)
    @on(Button.Pressed, "#prune-apply")
    def action_apply(self) -> None:
        if self.op is None:
            self.app.bell()
            return
        self.dismiss(PruneChoice(self.op, self.preview))

    @on(Button.Pressed, "#prune-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
