"""Long dotted names broken between their parts, never inside a word, in a narrow column."""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

_PARTS = re.compile(r"[^.]*\.|[^.]+$")  # each part keeps the dot that ends it


def dotted_lines(name: str, width: int) -> list[str]:
    """`name` in lines of at most `width` cells, broken after dots; a part wider than `width` on
    its own is cut where it must be."""
    if width <= 0 or cell_len(name) <= width:
        return [name]
    lines: list[str] = []
    line = ""
    for part in _PARTS.findall(name):
        if line and cell_len(line) + cell_len(part) > width:
            lines.append(line)
            line = ""
        line += part
        while cell_len(line) > width:
            lines.append(line[:width])
            line = line[width:]
    return [*lines, line] if line else lines


class DottedName:
    """A rich renderable: the name on as many lines as its column needs, broken at dots."""

    def __init__(self, name: str, style: str = "") -> None:
        self.name, self.style = name, style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in dotted_lines(self.name, options.max_width):
            yield Text(line, style=self.style, no_wrap=True, overflow="ignore")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest_part = max((cell_len(p) for p in _PARTS.findall(self.name)), default=0)
        return Measurement(min(widest_part, options.max_width), cell_len(self.name))
