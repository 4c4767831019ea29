"""`v`: the value viewer. A grid of one tensor slice's values, read window by window.

A worker opens the tensor (a lazy mmap'd view, or the session's edited copy; torch may still be
importing); the grid then reads only what is on screen. `s` picks the slice of an N-d tensor
(`[3, 0, :, :]`), `+`/`-` step through the slices, `g` jumps to a row and column."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, Static

from paramtui.core.model import TensorInfo
from paramtui.tui.messages import ValuesFailed, ValuesOpened
from paramtui.tui.views import fmt
from paramtui.tui.views.edit_marks import EDITED
from paramtui.tui.views.region_source import source_for
from paramtui.tui.views.value_format import bits_text, exact_text, formatter
from paramtui.tui.views.value_source import SliceSpec, ValueSource, open_values
from paramtui.tui.widgets.footer import PinnedFooter
from paramtui.tui.widgets.prompt_input import PromptInput
from paramtui.tui.widgets.value_grid import ValueGrid

SLICE_KEYS = Binding.Group("Next/prev slice", compact=True)


def parse_cell(text: str, source: ValueSource) -> tuple[int, int]:
    """`row,col`, `row` or `,col` (negative counts from the end). Raises ValueError."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) > 2:
        raise ValueError("type row,col (or just row)")
    row_text, col_text = parts[0], parts[1] if len(parts) == 2 else ""
    row = _coordinate(row_text, source.n_rows, "row")
    col = _coordinate(col_text, source.n_cols, "column")
    return row, col


def _coordinate(text: str, size: int, what: str) -> int:
    if not text:
        return -1  # keep the cursor's
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not an integer") from None
    if not -size <= value < size:
        raise ValueError(f"{what} {value} is out of range (0..{size - 1})")
    return value % size


class ValuesScreen(Screen[None]):
    """The values of one tensor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "jump", "Jump to", id="values.jump"),
        Binding("s", "pick_slice", "Slice", id="values.slice"),
        Binding(
            "plus,right_square_bracket",
            "step_slice(1)",
            "Next slice",
            id="values.next",
            group=SLICE_KEYS,
        ),  # fmt: skip
        Binding(
            "minus,left_square_bracket",
            "step_slice(-1)",
            "Previous slice",
            id="values.previous",
            group=SLICE_KEYS,
        ),  # fmt: skip
        Binding("escape,q", "close", "Close", id="values.close"),
    ]

    def __init__(self, info: TensorInfo, edited: Any = None) -> None:
        super().__init__()
        self.info = info
        self.edited = edited  # the session's edited value (a torch.Tensor), else None
        self.source: ValueSource | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="values-title")
        yield ValueGrid(id="values-grid")
        yield Static(Text("opening…", style="italic"), id="values-status")
        yield Static(id="values-legend")
        yield PromptInput(id="values-prompt")
        yield PinnedFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(PromptInput).display = False
        grid = self.query_one(ValueGrid)
        grid.focus()
        self.query_one("#values-legend", Static).update(grid.legend())
        if self.info.numel == 0:
            self._status(Text("This tensor is empty: it has no values.", style="italic"))
        else:
            self.open_tensor()

    @work(thread=True, exclusive=True, group="values", exit_on_error=False)
    def open_tensor(self) -> None:
        try:
            tensor = open_values(self.info, self.edited)
        except ValueError as exc:
            self.post_message(ValuesFailed(str(exc)))
        except Exception as exc:  # noqa: BLE001 - a damaged file must not take the UI down
            self.post_message(ValuesFailed(f"the values could not be read: {exc}"))
        else:
            self.post_message(ValuesOpened(tensor))

    def on_values_opened(self, message: ValuesOpened) -> None:
        spec = SliceSpec.default(self.info.shape)
        self._show(source_for(message.tensor, self.info.dtype, spec))

    def on_values_failed(self, message: ValuesFailed) -> None:
        self._status(Text(message.reason, style="italic"))

    def _show(self, source: ValueSource, cursor: tuple[int, int] = (0, 0)) -> None:
        self.source = source
        self.query_one("#values-title", Static).update(self._title())
        self.query_one(ValueGrid).show(source, cursor)
        self.refresh_bindings()

    def _title(self) -> Text:
        info = self.info
        text = Text(fmt.printable(info.name), style="bold")
        text.append(f"  {info.dtype}  {list(info.shape)}", style="dim")
        if self.edited is not None:
            text.append(f"  {EDITED} edited values", style="bold")
        source = self.source
        if source is not None and source.note:
            text.append(f"  {source.note}", style="italic")
        if source is not None and source.spec.fixed_dims:
            spec = source.spec
            text.append(f"  slice {spec.text()}")
            text.append(f" ({spec.number() + 1:,} of {spec.count():,})", style="dim")
        return text

    def _status(self, text: Text) -> None:
        self.query_one("#values-status", Static).update(text)

    @on(ValueGrid.CursorMoved)
    def _cursor_moved(self, event: ValueGrid.CursorMoved) -> None:
        source = self.source
        if source is not None:
            self._status(cell_status(source, event.row, event.col))

    # -- slices and jumps -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        source = self.source
        if action == "jump":
            return source is not None and source.ndim > 0 or None
        if action == "pick_slice":
            return source is not None and len(self.info.shape) > 0 or None
        if action == "step_slice":
            return source is not None and source.spec.count() > 1 or None
        return True

    def action_close(self) -> None:
        self.dismiss()

    def action_jump(self) -> None:
        if self.source is not None and self.source.ndim > 0:
            hint = "row,col" if self.source.ndim == 2 else "row"
            self.query_one(PromptInput).ask("jump", f"go to {hint} (Enter goes, Esc cancels)")

    def action_pick_slice(self) -> None:
        if self.source is not None:
            prompt = self.query_one(PromptInput)
            text = self.source.spec.text()
            prompt.ask("slice", "slice like [3, 0, :, :] (Enter shows it, Esc cancels)", text)

    def action_step_slice(self, delta: int) -> None:
        source = self.source
        if source is not None and source.spec.count() > 1:
            self._show(source.with_spec(source.spec.step(delta)), self.query_one(ValueGrid).cursor)

    @on(Input.Submitted, "#values-prompt")
    def _answered(self, event: Input.Submitted) -> None:
        event.stop()
        prompt, source = self.query_one(PromptInput), self.source
        if source is None:
            return
        try:
            self._apply(prompt.purpose, event.value, source)
        except ValueError as exc:
            self.notify(str(exc), title="Not understood", severity="warning")
            return
        prompt.display = False
        self.query_one(ValueGrid).focus()

    def _apply(self, purpose: str, text: str, source: ValueSource) -> None:
        grid = self.query_one(ValueGrid)
        if purpose == "jump":
            row, col = parse_cell(text, source)
            grid.move_to(grid.cursor[0] if row < 0 else row, grid.cursor[1] if col < 0 else col)
        else:
            self._show(source.with_spec(SliceSpec.parse(text, self.info.shape)), grid.cursor)

    @on(PromptInput.Dismissed)
    def _prompt_closed(self) -> None:
        self.query_one(ValueGrid).focus()


def cell_status(source: ValueSource, row: int, col: int) -> Text:
    """`[3, 0, 12, 7] = -0.0123456789   exact -0.012345678918063641   bits 0xbc4a4b1f`."""
    index = list(source.spec.index)
    shown = iter((row, col)[: source.ndim])
    full = [next(shown) if i is None else i for i in index]
    value = source.value(row, col)
    text = Text(f"[{', '.join(str(i) for i in full)}]", style="bold")
    text.append(" = ")
    text.append(formatter(source.dtype)(value), style="bold")
    exact = exact_text(value, source.dtype)
    if exact != formatter(source.dtype)(value):
        text.append(f"   exact {exact}", style="dim")
    bits = source.bits(row, col)
    if bits is not None:
        text.append(f"   bits {bits_text(bits, source.itemsize)}", style="dim")
    return text
