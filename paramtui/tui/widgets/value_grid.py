"""A spreadsheet-like grid of a tensor slice's values that reads only the visible window.

The screen sets `source` (a ValueSource); the grid keeps a cursor cell and draws the plan that
grid_plan computes for its size, so however large the tensor, one screenful of values is read.
NaN and ±Inf print as words and are reversed, zeros are dimmed (legible without colour); styles
come from component classes, so the stylesheet's theme variables colour them. The grid posts
CursorMoved when its cursor changes; the screen shows the value under it."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from paramtui.tui.views.grid_plan import GridPlan, plan_grid
from paramtui.tui.views.value_format import INF, NAN, ZERO
from paramtui.tui.views.value_source import ValueSource

WHEEL_ROWS = 3

KIND_CLASSES = {NAN: "value-grid--nan", INF: "value-grid--inf", ZERO: "value-grid--zero"}


class ValueGrid(Widget, can_focus=True):
    """The values of one tensor slice, rows × columns, with a cursor cell."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "value-grid--header",
        "value-grid--cursor",
        "value-grid--nan",
        "value-grid--inf",
        "value-grid--zero",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge_col(0)", "First column", show=False),
        Binding("end", "edge_col(1)", "Last column", show=False),
        Binding("ctrl+home", "edge_row(0)", "First row", show=False),
        Binding("ctrl+end", "edge_row(1)", "Last row", show=False),
    ]

    class CursorMoved(Message):
        """The cursor is on cell (row, col) of the slice now."""

        def __init__(self, row: int, col: int) -> None:
            self.row = row
            self.col = col
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source: ValueSource | None = None
        self.cursor = (0, 0)
        self.top = 0
        self.left = 0
        self.plan: GridPlan | None = None  # what was drawn last

    def show(self, source: ValueSource | None, cursor: tuple[int, int] = (0, 0)) -> None:
        """Show another slice (or nothing), with the cursor at `cursor` (clamped)."""
        self.source = source
        self.top = self.left = 0
        self.cursor = (0, 0)
        self.move_to(*cursor)
        self.refresh()

    def move_to(self, row: int, col: int) -> None:
        source = self.source
        if source is None:
            return
        row = min(max(row, 0), source.n_rows - 1)
        col = min(max(col, 0), source.n_cols - 1)
        if (row, col) != self.cursor:
            self.cursor = (row, col)
            self.refresh()
        self.post_message(self.CursorMoved(row, col))

    # -- drawing ---------------------------------------------------------------------------

    def render(self) -> Text:
        source = self.source
        if source is None or not self.size.area:
            return Text("")
        plan = plan_grid(
            source, self.cursor, self.top, self.left, self.size.width, self.size.height
        )
        self.top, self.left, self.plan = plan.top, plan.left, plan
        lines = [self._header(plan)]
        lines += [self._row(plan, i) for i in range(plan.rows_shown)]
        return Text("\n").join(lines)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _header(self, plan: GridPlan) -> Text:
        style = self._style("value-grid--header")
        text = Text(" " * plan.label_width, style=style)
        for label, width in zip(plan.col_labels, plan.widths, strict=True):
            text.append(" " + label.rjust(width), style=style)
        return text

    def _row(self, plan: GridPlan, i: int) -> Text:
        row = plan.top + i
        on_row = row == self.cursor[0]
        text = Text()
        if plan.label_width:
            label_style = self._style("value-grid--header")
            if on_row:
                label_style += Style(reverse=True)
            text.append(str(row).rjust(plan.label_width), style=label_style)
        for j, ((value, kind), width) in enumerate(zip(plan.cells[i], plan.widths, strict=True)):
            text.append(" ")
            style = self._style(KIND_CLASSES[kind]) if kind in KIND_CLASSES else Style()
            if on_row and plan.left + j == self.cursor[1]:
                style += self._style("value-grid--cursor")
            text.append(value.rjust(width), style=style)
        return text

    def legend(self) -> Text:
        """What the styles mean, drawn in those styles, and the keys that move."""
        text = Text()
        text.append("NaN", style=self._style("value-grid--nan"))
        text.append(" ")
        text.append("±Inf", style=self._style("value-grid--inf"))
        text.append(" reversed · ")
        text.append("0", style=self._style("value-grid--zero"))
        text.append(" zeros dimmed · move: arrows PgUp/PgDn Home/End ^Home/^End")
        return text

    # -- moving ----------------------------------------------------------------------------

    def action_move(self, rows: int, cols: int) -> None:
        self.move_to(self.cursor[0] + rows, self.cursor[1] + cols)

    def action_page(self, direction: int) -> None:
        step = max(self.size.height - 2, 1) * direction
        self.top = max(self.top + step, 0)
        self.move_to(self.cursor[0] + step, self.cursor[1])

    def action_edge_col(self, end: int) -> None:
        if self.source is not None:
            self.move_to(self.cursor[0], (self.source.n_cols - 1) * end)

    def action_edge_row(self, end: int) -> None:
        if self.source is not None:
            self.move_to((self.source.n_rows - 1) * end, self.cursor[1])

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.action_move(WHEEL_ROWS, 0)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.action_move(-WHEEL_ROWS, 0)
