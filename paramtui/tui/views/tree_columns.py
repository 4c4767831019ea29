"""A tree line as a name on the left and right-aligned columns, as disk-usage trees draw them.

Modules show `count  size`, tensors `shape dtype  size`; the size column ends at the tree's
right edge on every line, whatever the depth, name or edit markers. A name too long for the
room left is cut with an ellipsis, never the columns. Built from Text, never markup: names are
data and may hold any character."""

from __future__ import annotations

from rich.text import Text

from paramtui.core.tree import ModuleNode
from paramtui.tui.views import fmt

SIZE_WIDTH = 10  # "1023.9 KiB"
COUNT_WIDTH = 6  # "525.1K"
MIN_NAME = 4  # below this many cells for the name, the first column is dropped


def name_text(node: ModuleNode) -> Text:
    name = fmt.printable(node.name) or "(empty)"
    return Text(name, style="" if node.tensor is not None else "bold")


def first_column(node: ModuleNode) -> Text:
    """A tensor's shape and dtype; a module's parameters (its elements when it has none)."""
    if node.is_leaf and node.tensor is not None:
        text = Text(fmt.shape(node.tensor.shape) + " ", style="dim")
        text.append(node.tensor.dtype, style="dim italic")
        return text
    return Text(f"{fmt.count(node.headline):>{COUNT_WIDTH}}", style="dim")


def size_column(nbytes: int) -> Text:
    return Text(f"{fmt.size(nbytes):>{SIZE_WIDTH}}", style="dim")


def right_side(first: Text, size: Text, tensor: bool) -> list[Text]:
    """The columns to try, widest first: a tensor keeps its shape before its size when the
    room is short, a module its size."""
    both = Text.assemble(first, "  ", size)
    return [both, first, size] if tensor else [both, size]


def fit_line(name: Text, options: list[Text], width: int) -> Text:
    """`name … columns` in exactly `width` cells: the first of `options` that leaves the name
    MIN_NAME cells (else the last), the name cut with an ellipsis when it is longer. Without
    a width (0) the name and the first option are joined with two spaces."""
    if width <= 0:
        return Text.assemble(name, "  ", options[0])
    right = next((o for o in options if width - o.cell_len - 1 >= MIN_NAME), options[-1])
    room = width - right.cell_len - 1
    line = name.copy()
    if line.cell_len > room:
        line.truncate(max(room, 1), overflow="ellipsis")
    line.pad_right(max(room - line.cell_len, 0) + 1)
    return Text.assemble(line, right)
