"""The help screen's key table, generated from the real bindings.

A row shows the keys of one or more bindings as they are bound (a changed key shows here
without anyone editing the help) and a longer text from HELP_TEXT, found by the binding's id
(or, for Textual's own bindings, which have none, by its action). A binding without an entry
gets a row of its own with its Footer description, so no binding is ever left out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class BindingLike(Protocol):
    """What the table reads of a textual Binding (this module does not import textual)."""

    @property
    def key(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def id(self) -> str | None: ...


# In the order the help lists them; a row's keys are those of all the bindings it names.
HELP_TEXT: list[tuple[tuple[str, ...], str]] = [
    (("cursor_up", "cursor_down"), "move through the tree"),
    (("page_up", "page_down"), "a page up / down in the tree"),
    (("scroll_home", "scroll_end"), "the first / last row of the tree"),
    (("tree.expand", "tree.collapse"), "expand a module / collapse it or go to its parent"),
    (("select_cursor", "toggle_node"), "expand or collapse the module under the cursor"),
    (("cursor_previous_sibling", "cursor_next_sibling"), "previous / next sibling"),
    (("toggle_expand_all",), "expand or collapse the node under the cursor and its siblings"),
    (("cursor_parent",), "go to the parent module"),
    (("cursor_parent_next_sibling",), "go to the parent's next sibling"),
    (("tree.expand_all",), "expand everything below the cursor"),
    (
        ("tree.collapse_all",),
        "collapse the module under the cursor (or a tensor's parent) and everything "
        "below it; the cursor goes to it",
    ),
    (("main.filter",), "filter the tree by name (case-insensitive substring)"),
    (("main.clear_filter", "filter.clear"), "clear the filter"),
    (("main.detail_narrower", "main.detail_wider"), "move the split: detail pane narrower / wider"),
    (("main.file_notes",), "the file's notes in full; every class it names that was not imported"),
    (("app.focus_next", "app.focus_previous"), "move focus between the tree and the detail pane"),
    (
        ("view.histogram",),
        "the tensor's full histogram: a bin per column, quantile ticks, zero line; l: log",
    ),
    (
        ("view.values",),
        "the tensor's values: g jumps to row,col; s picks a slice [3, 0, :, :]; + - step",
    ),
    (
        ("view.module_table",),
        "the module's tensors in a table: 1-7 sort by a column (again: reverse), s cycles; "
        "enter puts the tree's cursor on a tensor",
    ),
    (
        ("view.scan",),
        "health scan of the whole file: NaN/Inf, zeros, outliers across layers, dead rows, "
        "duplicates, dtype mixes, trends along depth; r scans again; enter goes to a tensor",
    ),
    (
        ("edit.freeze", "edit.unfreeze"),
        "freeze / unfreeze the tensor or module: records requires_grad intent",
    ),
    (("edit.zero",), "zero the tensor, or the parameters of the module (asks on large scopes)"),
    (("edit.prune",), "prune by magnitude: fraction or threshold, scope, structured; live preview"),
    (("edit.make_permanent",), "make a torch prune permanent (<x>_orig * <x>_mask -> <x>)"),
    (("edit.undo",), "undo the last edit"),
    (("edit.redo",), "redo"),
    (("edit.log",), "the edit log: what was done, in order, with its effect"),
    (("edit.save_as",), "save an edited copy (.pth/.pt/.bin/.ckpt or .safetensors); verified"),
    (("app.help", "app.help_alt"), "this help"),
    (("command_palette",), "command palette (themes, keys, quit)"),
    (("app.quit",), "quit (asks first when edits are unsaved)"),
]

KEY_NAMES = {
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "escape": "esc",
    "slash": "/",
    "question_mark": "?",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
}


def help_id(binding: BindingLike) -> str:
    """What HELP_TEXT knows a binding by: its id, else its action."""
    return binding.id or binding.action


def key_display(binding: BindingLike) -> str:
    """`u,ctrl+z` -> `u, ctrl+z`; `shift+up` -> `shift+↑`; `question_mark` -> `?`."""
    return ", ".join(_key_name(key.strip()) for key in binding.key.split(","))


def _key_name(key: str) -> str:
    *modifiers, name = key.split("+")
    return "+".join([*modifiers, KEY_NAMES.get(name, name)])


def key_rows(bindings: Iterable[BindingLike]) -> list[tuple[str, str]]:
    """(keys, what they do) for every binding: HELP_TEXT's rows first, in its order, then
    the bindings it does not name, each with its description."""
    by_id: dict[str, list[BindingLike]] = {}
    for binding in bindings:
        by_id.setdefault(help_id(binding), []).append(binding)
    rows = []
    for ids, text in HELP_TEXT:
        found = [b for i in ids for b in by_id.pop(i, [])]
        if found:
            rows.append((_joined(found), text))
    rows.extend((_joined(found), found[0].description) for found in by_id.values())
    return rows


def _joined(bindings: list[BindingLike]) -> str:
    shown = dict.fromkeys(key_display(b) for b in bindings)  # one esc for two bindings on esc
    return " / ".join(shown)
