"""Which closer views (histogram, values, module table, scan) apply to a tree node."""

from __future__ import annotations

from paramtui.core.access import unviewable_reason
from paramtui.core.pieces import is_composite
from paramtui.core.tree import ModuleNode

VIEW_ACTIONS = frozenset({"histogram", "values", "module_table", "scan"})


def applicable(node: ModuleNode | None, edited: bool) -> frozenset[str]:
    """The view actions that apply to `node` (its values are shown when they can be read)."""
    if node is None:
        return frozenset({"scan"})
    found = {"scan"}
    info = node.tensor
    if info is not None:
        found.add("histogram")
        if edited or unviewable_reason(info) is None or is_composite(info):
            found.add("values")
    if not node.is_leaf:
        found.add("module_table")
    return frozenset(found)
