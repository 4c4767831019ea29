"""F1 / `?`: the keys and what each pane shows.

The key table is generated from the bindings of the main screen, the tree, the filter box, the
app and the Textual keys they rely on (views/help_keys.py), so it cannot fall behind them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static, Tree

from paramtui.tui.screens.main import MainScreen
from paramtui.tui.views.edit_marks import LEGEND
from paramtui.tui.views.help_keys import key_rows
from paramtui.tui.widgets.filter_input import FilterInput
from paramtui.tui.widgets.module_tree import ModuleTree

TEXTUAL_FOCUS_ACTIONS = frozenset({"app.focus_next", "app.focus_previous"})
# The Tree inherits its paging keys from Textual's scrollable containers (they move the cursor).
TREE_PAGING_ACTIONS = frozenset({"page_up", "page_down", "scroll_home", "scroll_end"})

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
        "mean, std (the population std: ÷ n), min, max, mean |x|, L2 norm, zeros, NaN and "
        "Inf counts, quantiles and a histogram, computed in the background when the cursor "
        "rests on a tensor.",
    ),
]


def help_bindings(app: type[App[Any]]) -> list[Binding]:
    """Every binding the help describes: the tree's (Textual's Tree ones included), the filter
    box's, the main screen's, `app`'s, Textual's focus keys and its command palette key."""
    paging = [b for b in _own(ScrollableContainer) if b.action in TREE_PAGING_ACTIONS]
    found = [*_own(Tree), *paging, *_own(ModuleTree), *_own(FilterInput), *_own(MainScreen)]
    found += _own(app)
    found += [b for b in _own(Screen) if b.action in TEXTUAL_FOCUS_ACTIONS]
    found.append(Binding(app.COMMAND_PALETTE_BINDING, "command_palette", "Command palette"))
    return found


def _own(owner: type[object]) -> list[Binding]:
    """The Binding objects `owner` declares itself (tuples are not used in this project)."""
    declared: Sequence[BindingType] = getattr(owner, "BINDINGS", [])
    return [b for b in declared if isinstance(b, Binding)]


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
            yield Static(_table(key_rows(help_bindings(type(self.app))), "bold"))
            yield Static(Text("\nWhat the panes show", style="bold"))
            yield Static(_table(PANES, "bold"))
            yield Static(Text("\nMarks in the tree", style="bold"))
            yield Static(_table(LEGEND, "bold"))
            yield Static(Text("\nesc closes this help", style="dim"))
