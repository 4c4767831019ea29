"""Every key binding of paramtui's screens and widgets that has an id: what a keymap can name.

The classes are found by walking Textual's DOMNode subclasses that paramtui.tui defines (they
are all imported once the app module is), so a new screen's bindings are listed without a
registration line here."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.dom import DOMNode


@dataclass(frozen=True)
class BindingRow:
    id: str
    key: str
    description: str
    owner: str  # the class that declares it


def binding_rows() -> list[BindingRow]:
    """The bindings with an id, sorted by id (one row per id)."""
    rows: dict[str, BindingRow] = {}
    for cls in _paramtui_nodes():
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id and binding.id not in rows:
                rows[binding.id] = BindingRow(
                    binding.id, binding.key, binding.description, cls.__name__
                )
    return sorted(rows.values(), key=lambda row: row.id)


def _paramtui_nodes() -> list[type[DOMNode]]:
    seen: list[type[DOMNode]] = []
    stack: list[type[DOMNode]] = [DOMNode]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.append(sub)
                stack.append(sub)
    return [cls for cls in seen if cls.__module__.startswith("paramtui.tui")]
