"""The full histogram as lines of block characters: bars, a zero line, quantile ticks, an axis.

Pure layout of a computed histogram (edges and exact counts) into a width × height box; no
statistics are computed here. Each line is a list of (text, role) segments; the widget gives
each role a style from the stylesheet. Block characters (▁..█) carry the heights and glyphs
(│ ┬ labels) carry the markers, so the drawing reads the same in 16 colours or none.
Bins map to whole columns (k bins per column, or s columns per bin), never split, so a narrow
terminal merges neighbouring bins instead of drawing aliasing artefacts."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

BLOCKS = " ▁▂▃▄▅▆▇█"
BAR, ZERO, MARK, AXIS, PLAIN = "bar", "zero", "mark", "axis", ""
QUANTILES = (1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0)
BELOW_BARS = 3  # the tick line, the quantile labels and the axis labels

Segment = tuple[str, str]  # (text, role)
Line = list[Segment]


@dataclass(frozen=True)
class ColumnLayout:
    """How `bins` bins fill the columns: `per_col` bins in each, or `per_bin` columns each."""

    bins: int
    per_col: int
    per_bin: int

    @classmethod
    def fit(cls, bins: int, width: int) -> ColumnLayout:
        width = max(width, 1)
        if bins > width:
            return cls(bins, math.ceil(bins / width), 1)
        return cls(bins, 1, max(width // max(bins, 1), 1))

    @property
    def columns(self) -> int:
        return math.ceil(self.bins / self.per_col) * self.per_bin

    def column(self, position: float) -> int:
        """The column of a point `position` bins from the left edge."""
        col = int(position * self.per_bin / self.per_col)
        return min(max(col, 0), self.columns - 1)

    def counts(self, counts: Sequence[int]) -> list[int]:
        """The count drawn in each column."""
        if self.per_col > 1:
            k = self.per_col
            return [sum(counts[i : i + k]) for i in range(0, len(counts), k)]
        return [c for c in counts for _ in range(self.per_bin)]


def position(value: float, edges: Sequence[float]) -> float | None:
    """Where `value` falls, in bins from the left edge (None: outside the histogram)."""
    if not edges or not edges[0] <= value <= edges[-1]:
        return None
    i = min(max(bisect.bisect_right(edges, value) - 1, 0), len(edges) - 2)
    width = edges[i + 1] - edges[i]
    return i + ((value - edges[i]) / width if width > 0 else 0.0)


def eighths(counts: Sequence[int], height: int, log: bool) -> list[int]:
    """Bar heights in eighths of a line; any non-zero count shows at least one eighth."""
    top = max(counts, default=0)
    if top <= 0:
        return [0] * len(counts)
    scale: Callable[[int], float] = (
        (lambda c: math.log1p(c) / math.log1p(top)) if log else (lambda c: c / top)
    )
    return [max(round(scale(c) * height * 8), 1) if c > 0 else 0 for c in counts]


@dataclass(frozen=True)
class HistogramInput:
    edges: Sequence[float]
    counts: Sequence[int]
    low: float  # the exact minimum and maximum, for the axis labels
    high: float
    quantiles: Mapping[float, float] | None
    label: Callable[[float], str]  # prints an axis value for the tensor's dtype


def draw(data: HistogramInput, width: int, height: int, log: bool) -> list[Line]:
    """The drawing, `height` lines at most (bars take what the three lines below leave)."""
    if len(data.counts) == 0 or not data.edges:
        return []
    layout = ColumnLayout.fit(len(data.counts), width)
    zero = _column_at(0.0, data.edges, layout) if data.edges[0] < 0 < data.edges[-1] else None
    ticks = _ticks(data, layout)
    levels = eighths(layout.counts(data.counts), max(height - BELOW_BARS, 1), log)
    lines = _bars(levels, max(height - BELOW_BARS, 1), zero)
    lines.append(_tick_line(layout.columns, ticks, zero))
    lines.append(_label_line(layout.columns, ticks))
    lines.append(_axis_line(data, layout.columns, zero))
    return lines


def _column_at(value: float, edges: Sequence[float], layout: ColumnLayout) -> int | None:
    pos = position(value, edges)
    return None if pos is None else layout.column(pos)


def _ticks(data: HistogramInput, layout: ColumnLayout) -> dict[int, str]:
    """Column -> quantile label ("50"), for the quantiles that are known."""
    ticks: dict[int, str] = {}
    for percent in QUANTILES:
        value = (data.quantiles or {}).get(percent)
        col = None if value is None else _column_at(float(value), data.edges, layout)
        if col is not None:
            ticks.setdefault(col, f"{percent:g}")
    return ticks


def _bars(levels: list[int], rows: int, zero: int | None) -> list[Line]:
    lines = []
    for r in range(rows):
        floor = (rows - 1 - r) * 8
        line: Line = []
        for col, level in enumerate(levels):
            cell = min(max(level - floor, 0), 8)
            if cell == 0 and col == zero:
                line.append(("│", ZERO))
            else:
                line.append((BLOCKS[cell], BAR))
        lines.append(line)
    return lines


def _tick_line(columns: int, ticks: dict[int, str], zero: int | None) -> Line:
    line: Line = []
    for col in range(columns):
        if col in ticks:
            line.append(("┬", MARK))
        elif col == zero:
            line.append(("┼", ZERO))
        else:
            line.append(("─", AXIS))
    return line


def _label_line(columns: int, ticks: dict[int, str]) -> Line:
    """Each quantile's label starting under its tick, skipped where it would overlap."""
    cells = [" "] * columns
    free = 0
    for col in sorted(ticks):
        label = ticks[col]
        start = min(col, columns - len(label))
        if start >= free:
            cells[start : start + len(label)] = list(label)
            free = start + len(label) + 1
    return [("".join(cells), MARK)]


def _axis_line(data: HistogramInput, columns: int, zero: int | None) -> Line:
    """The exact minimum at the left, the maximum at the right, 0 under the zero line."""
    low, high = data.label(data.low), data.label(data.high)
    cells = [" "] * max(columns, len(low) + len(high) + 1)
    cells[: len(low)] = list(low)
    cells[len(cells) - len(high) :] = list(high)
    if zero is not None and len(low) < zero < len(cells) - len(high) - 1:
        cells[zero] = "0"
    return [("".join(cells), AXIS)]
