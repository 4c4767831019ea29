"""The module tree: a lazy textual Tree over paramtui's ModuleNode tree.

Children are created when a node is expanded, never before, so a checkpoint with 100k tensors
shows its first level instantly. The widget posts ModuleHighlighted when its cursor moves.
Edit markers (● ❄ ∇) are drawn after each label from `marks`, styled by component classes."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from paramtui.core.tree import ModuleNode
from paramtui.tui.messages import ModuleHighlighted
from paramtui.tui.views import fmt
from paramtui.tui.views.edit_marks import EditMarks, Slots

NAME_WIDTH = 24  # sibling names are padded up to this many cells so the numbers line up
EXPAND_ALL_LIMIT = 2000  # `e` opens a whole subtree only when it holds at most this many tensors


def module_label(node: ModuleNode, name_width: int = 0) -> Text:
    """`layers   12.6M  48.1 MiB` for a module, `weight   768×3072 float32` for a tensor.

    Built from Text pieces, never markup: names are data and may hold any character."""
    name = fmt.printable(node.name) or "(empty)"
    label = Text(name, style="" if node.tensor is not None else "bold")
    label.pad_right(max(name_width - len(name), 0))
    if node.tensor is not None:
        info = node.tensor
        label.append(f"  {fmt.shape(info.shape)} ", style="dim")
        label.append(info.dtype, style="dim italic")
    if not node.is_leaf:
        label.append(f"  {fmt.count(node.headline):>6}  {fmt.size(node.nbytes):>10}", style="dim")
    return label


def root_label(root: ModuleNode, title: str) -> Text:
    label = Text(fmt.printable(title), style="bold")
    label.append(f"  {fmt.count(root.headline)} params  {fmt.size(root.nbytes)}", style="dim")
    return label


def marker_slots(node: ModuleNode, marks: EditMarks) -> Slots:
    """What changed at a node: as a tensor, and (for a module) anywhere below it."""
    if node.is_leaf:
        return marks.tensor_slots(node.path)
    values, grad = marks.module_slots(node.path)
    if node.tensor is not None:  # a tensor that is also a module ("a" and "a.b")
        own_values, own_grad = marks.tensor_slots(node.path)
        values, grad = values or own_values, own_grad or grad
    return values, grad


class ModuleTree(Tree[ModuleNode]):
    """Lazy tree of modules and tensors, in natural order (layers.2 before layers.10)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "module-tree--edited",
        "module-tree--frozen",
        "module-tree--trainable",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "expand_or_enter", "Expand", show=False, id="tree.expand"),
        Binding("left", "collapse_or_leave", "Collapse", show=False, id="tree.collapse"),
        # In the help screen, not the Footer: the edit keys need its room.
        Binding("e", "expand_subtree", "Expand all", show=False, id="tree.expand_all"),
        Binding("E", "collapse_subtree", "Collapse all", show=False, id="tree.collapse_all"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("indexing…", style="dim"), id=id)
        self.guide_depth = 3
        self._keep: set[str] | None = None
        self._populated: set[int] = set()
        self._by_path: dict[str, TreeNode[ModuleNode]] = {}
        self._title = ""
        self._cursor_expandable = True
        self.marks = EditMarks()

    def set_marks(self, marks: EditMarks) -> None:
        """Redraw the markers of every created node (labels themselves do not change)."""
        self.marks = marks
        self._invalidate()  # Tree's own way to drop its cached lines and label widths

    def render_label(self, node: TreeNode[ModuleNode], base_style: Style, style: Style) -> Text:
        """Once anything is edited, every label starts with a 3-cell marker slot (so sibling
        names stay aligned, and narrow panes never crop the markers): `●❄ name`."""
        text = super().render_label(node, base_style, style)
        if not self.marks.any or node.data is None:
            return text
        icon = len(self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE)
        cut = icon if node.allow_expand else 0
        slot = Text()
        for mark in marker_slots(node.data, self.marks):
            if mark is None:
                slot.append(" ")
            else:
                slot.append(mark[0], style=self.get_component_rich_style(mark[1], partial=True))
        slot.append(" ")
        return Text.assemble(text[:cut], slot, text[cut:])

    # -- loading and filtering -------------------------------------------------------------

    def load(self, root: ModuleNode, title: str) -> None:
        """Show `root` (the whole checkpoint) with its first level expanded; the cursor stays
        on the same path when it still exists (reloading after an edit renamed tensors)."""
        self._title = title
        self._rebuild(root)

    def apply_filter(self, keep: set[str] | None) -> None:
        """Show only the node paths in `keep` (None: show everything)."""
        self._keep = keep
        root = self.root.data
        if root is not None:
            self._rebuild(root)

    @property
    def filtered(self) -> bool:
        return self._keep is not None

    def node_for_path(self, path: str) -> TreeNode[ModuleNode] | None:
        """The tree node created for a dotted path, or None if it has not been created."""
        return self._by_path.get(path)

    @property
    def created_count(self) -> int:
        """How many tree nodes exist (the laziness under test)."""
        return len(self._by_path)

    def _rebuild(self, root: ModuleNode) -> None:
        previous = self.cursor_node.data.path if self.cursor_node and self.cursor_node.data else ""
        self._populated.clear()
        self._by_path = {}
        self.reset(root_label(root, self._title), root)
        self._by_path[""] = self.root
        self._populate(self.root)
        self.root.expand()
        if self._keep is not None and len(self._keep) <= EXPAND_ALL_LIMIT:
            self._expand_deep(self.root)
        self.go_to(self._by_path.get(previous, self.root))

    def reveal(self, path: str) -> bool:
        """Open the ancestors of `path` and put the cursor on it (False: not in the tree)."""
        node: TreeNode[ModuleNode] | None = self.root
        parts = path.split(".") if path else []
        for i in range(1, len(parts) + 1):
            assert node is not None
            self._populate(node)
            node.expand()
            node = self._by_path.get(".".join(parts[:i]))
            if node is None:
                return False
        assert node is not None
        self.go_to(node)
        return True

    def go_to(self, node: TreeNode[ModuleNode]) -> None:
        """Put the cursor on `node` (which must be visible)."""
        before = self.cursor_node
        _ = self.last_line  # lays the lines out again, so `node.line` is current
        if node.line == self.cursor_line and node is not before and node.data is not None:
            # Same line, new node (after a rebuild): Tree would not report it, so we do.
            self.post_message(ModuleHighlighted(node.data))
        self.move_cursor(node)

    # -- laziness ----------------------------------------------------------------------------

    def _visible_children(self, module: ModuleNode) -> list[ModuleNode]:
        keep = self._keep
        return [c for c in module.children if keep is None or c.path in keep]

    def _populate(self, node: TreeNode[ModuleNode]) -> None:
        """Create `node`'s children once; open a lone child module too (a.b.c chains)."""
        if node.id in self._populated or node.data is None:
            return
        self._populated.add(node.id)
        kids = self._visible_children(node.data)
        width = min(max((len(k.name) for k in kids), default=0), NAME_WIDTH)
        for kid in kids:
            child = node.add(module_label(kid, width), kid, allow_expand=not kid.is_leaf)
            self._by_path[kid.path] = child
        if len(kids) == 1 and not kids[0].is_leaf:
            self._populate(node.children[0])
            node.children[0].expand()

    def _expand_deep(self, node: TreeNode[ModuleNode]) -> None:
        self._populate(node)
        node.expand()
        for child in node.children:
            if child.allow_expand:
                self._expand_deep(child)

    @on(Tree.NodeExpanded)
    def _on_expanded(self, event: Tree.NodeExpanded[ModuleNode]) -> None:
        event.stop()
        self._populate(event.node)

    @on(Tree.NodeHighlighted)
    def _on_highlighted(self, event: Tree.NodeHighlighted[ModuleNode]) -> None:
        event.stop()
        if event.node.allow_expand != self._cursor_expandable:
            self._cursor_expandable = event.node.allow_expand
            self.refresh_bindings()  # `e` applies to modules only (the Footer is costly to redo)
        if event.node.data is not None:
            self.post_message(ModuleHighlighted(event.node.data))

    # -- actions -----------------------------------------------------------------------------

    def action_expand_or_enter(self) -> None:
        node = self.cursor_node
        if node is None or not node.allow_expand:
            return
        if not node.is_expanded:
            self._populate(node)
            node.expand()
        elif node.children:
            self.go_to(node.children[0])

    def action_collapse_or_leave(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and node.allow_expand:
            node.collapse()
        elif node.parent is not None:
            self.go_to(node.parent)

    def action_expand_subtree(self) -> None:
        """Open everything below the cursor, or just one level when that would be huge."""
        node = self.cursor_node
        if node is None or node.data is None or not node.allow_expand:
            return
        if node.data.num_tensors <= EXPAND_ALL_LIMIT:
            self._expand_deep(node)
        else:
            self._populate(node)
            node.expand()
            self.notify(
                f"{node.data.num_tensors:,} tensors below: opened one level only.",
                severity="warning",
            )

    def action_collapse_subtree(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        target = node if node.allow_expand else node.parent
        if target is not None:
            target.collapse_all()
            self.go_to(target)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "expand_subtree":
            node = self.cursor_node
            return True if node is not None and node.allow_expand else None
        return True
