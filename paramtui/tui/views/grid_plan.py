"""Where the value grid's window is: which rows and columns fit, how wide each column is.

Pure layout over a ValueSource: it keeps the cursor cell on screen, reads only the rows and
columns that can be visible (a column takes at least two cells), and sizes each column to its
widest visible value. The grid widget draws the plan; nothing here touches the screen."""

from __future__ import annotations

from dataclasses import dataclass

from paramtui.tui.views.value_format import formatter, value_kind
from paramtui.tui.views.value_source import ValueSource

Cell = tuple[str, str]  # (text, kind)


@dataclass(frozen=True)
class GridPlan:
    top: int  # first row shown
    left: int  # first column shown
    label_width: int  # width of the row-index column (0: no row labels)
    col_labels: list[str]
    widths: list[int]
    cells: list[list[Cell]]  # rows × shown columns

    @property
    def rows_shown(self) -> int:
        return len(self.cells)

    @property
    def cols_shown(self) -> int:
        return len(self.widths)


def col_label(source: ValueSource, col: int) -> str:
    return str(col) if source.ndim == 2 else "value"


def plan_grid(
    source: ValueSource, cursor: tuple[int, int], top: int, left: int, width: int, height: int
) -> GridPlan:
    """The window to draw in `width`×`height` cells (one line is the column header) that shows
    the cursor, moving `top`/`left` as little as possible."""
    row, col = cursor
    rows = max(height - 1, 1)
    top = min(max(top, row - rows + 1), row)
    top = max(min(top, source.n_rows - rows), 0)
    label_width = len(str(source.n_rows - 1)) if source.ndim >= 1 else 0
    avail = max(width - label_width, 2)
    most = max(avail // 2, 1)  # columns that could fit: each takes at least 2 cells
    left = min(left, col)
    left = max(left, col - most + 1)
    plan = _fit(source, top, rows, left, most, label_width, avail)
    for _ in range(3):  # wide values: make the cursor the last column shown
        if col < left + plan.cols_shown:
            break
        left = _left_for(plan, left, col, avail)
        plan = _fit(source, top, rows, left, most, label_width, avail)
    return plan


def _fit(
    source: ValueSource, top: int, rows: int, left: int, most: int, label_width: int, avail: int
) -> GridPlan:
    window = source.window(top, top + rows, left, left + most)
    fmt = formatter(source.dtype)
    texts = [[(fmt(v), value_kind(v)) for v in line] for line in window.values]
    n_cols = len(texts[0]) if texts else 0
    labels: list[str] = []
    widths: list[int] = []
    used = 0
    for j in range(n_cols):
        label = col_label(source, left + j)
        w = max([len(label)] + [len(line[j][0]) for line in texts])
        if widths and used + w + 1 > avail:
            break
        labels.append(label)
        widths.append(w)
        used += w + 1
    cells = [line[: len(widths)] for line in texts]
    return GridPlan(top, left, label_width, labels, widths, cells)


def _left_for(plan: GridPlan, left: int, col: int, avail: int) -> int:
    """The leftmost column that still lets columns up to `col` fit (widths of the columns
    between are those measured in `plan`'s window, estimated past its end)."""
    measured = {left + j: w for j, w in enumerate(plan.widths)}
    guess = max(plan.widths, default=1)
    used, start = 0, col
    while start >= 0:
        w = measured.get(start, guess) + 1
        if used + w > avail and start < col:
            return start + 1
        used += w
        start -= 1
    return 0
