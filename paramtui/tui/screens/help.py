"""F1 / `?`: the keys and what each pane shows."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from paramtui.tui.views.edit_marks import LEGEND

KEYS = [
    ("↑ ↓", "move through the tree"),
    ("→ ←", "expand a module / collapse it or go to its parent"),
    ("enter, space", "expand or collapse the module under the cursor"),
    ("shift+↑ ↓", "previous / next sibling"),
    ("e", "expand everything below the cursor"),
    ("E", "collapse the module under the cursor"),
    ("/", "filter the tree by name (case-insensitive substring)"),
    ("esc", "clear the filter"),
    ("tab", "move focus between the tree and the detail pane"),
    ("h", "the tensor's full histogram: a bin per column, quantile ticks, zero line; l: log"),
    ("v", "the tensor's values: g jumps to row,col; s picks a slice [3, 0, :, :]; + - step"),
    ("t", "the module's tensors in a table: 1-7 sort by a column (again: reverse), s cycles"),
    (
        "S",
        "health scan of the whole file: NaN/Inf, zeros, outliers across layers, dead "
        "rows, duplicates, dtype mixes, trends along depth; r scans again",
    ),
    ("enter", "in the table or the scan: put the tree's cursor on that tensor"),
    ("f / F", "freeze / unfreeze the tensor or module: records requires_grad intent"),
    ("z", "zero the tensor, or the parameters of the module (asks on large scopes)"),
    ("p", "prune by magnitude: fraction or threshold, scope, structured; live preview"),
    ("P", "make a torch prune permanent (<x>_orig * <x>_mask -> <x>)"),
    ("u, ctrl+z", "undo the last edit"),
    ("r, ctrl+y", "redo"),
    ("l", "the edit log: what was done, in order, with its effect"),
    ("s", "save an edited copy (.pth/.pt/.bin/.ckpt or .safetensors); verified"),
    ("f1, ?", "this help"),
    ("ctrl+p", "command palette (themes, keys, quit)"),
    ("q", "quit (asks first when edits are unsaved)"),
]

PANES = [
    (
        "tree",
        "modules in natural order (layers.2 before layers.10) with their parameter "
        "count and bytes; tensors with shape and dtype. Children appear when expanded.",
    ),
    (
        "details",
        "for a tensor: shape, dtype, the device it was saved from, elements, bytes, "
        "stride, storage sharing (tied weights), role, trainable or frozen and gradient — "
        "'not recorded' when the file does not say. For a module: tensors, parameters, bytes "
        "by dtype and its share of the model. The top node shows the file and its metadata.",
    ),
    (
        "statistics",
        "mean, std, min, max, mean |x|, L2 norm, zeros, NaN and Inf counts, quantiles and a "
        "histogram, computed in the background when the cursor rests on a tensor.",
    ),
]


def _table(rows: list[tuple[str, str]], key_style: str) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style=key_style, no_wrap=True)
    table.add_column()
    for key, text in rows:
        table.add_row(key, text)
    return table


class HelpScreen(ModalScreen[None]):
    """A dismissable overlay listing the keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close help", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("paramtui — keys", style="bold"))
            yield Static(_table(KEYS, "bold"))
            yield Static(Text("\nWhat the panes show", style="bold"))
            yield Static(_table(PANES, "bold"))
            yield Static(Text("\nMarks in the tree", style="bold"))
            yield Static(_table(LEGEND, "bold"))
            yield Static(Text("\nesc closes this help", style="dim"))
