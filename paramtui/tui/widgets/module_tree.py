"""The module tree: a lazy textual Tree over paramtui's ModuleNode tree.

Children are created when a node is expanded, never before, so a checkpoint with 100k tensors
shows its first level instantly. The widget posts ModuleHighlighted when its cursor moves.
Each line is a name and right-aligned columns (views/tree_columns.py) fitted to the tree's width.
Markers (● ❄ ◒ ∇) are drawn before each name from `marks` and the requires_grad flags the file
records (views/grad_marks.py), styled by component classes."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from paramtui.core.model import TensorInfo
from paramtui.core.tree import ModuleNode
from paramtui.tui.messages import ModuleHighlighted
from paramtui.tui.views import fmt
from paramtui.tui.views.edit_marks import EditMarks, Mark
from paramtui.tui.views.grad_marks import (
    can_require_grad,
    grad_counts,
    module_grad_mark,
    tensor_grad_mark,
)
from paramtui.tui.views.tree_columns import (
    first_column,
    fit_line,
    name_text,
    right_side,
    size_column,
)

EXPAND_ALL_LIMIT = 2000  # `e` opens a whole subtree only when it holds at most this many tensors
SLOT_WIDTH = 3  # `●❄ `: the marker slot every line gets once anything is marked


def module_label(node: ModuleNode, width: int = 0) -> Text:
    """`layers …  12.6M  48.1 MiB` for a module, `weight …  768×3072 float32  9.0 MiB` for a
    tensor, in `width` cells (0: as narrow as it goes)."""
    columns = right_side(first_column(node), size_column(node.nbytes), node.is_leaf)
    return fit_line(name_text(node), columns, width)


def root_label(title: str) -> Text:
    return Text(fmt.printable(title), style="bold")


def root_columns(root: ModuleNode) -> tuple[Text, Text]:
    return Text(f"{fmt.count(root.headline)} params", style="dim"), size_column(root.nbytes)


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
        self._frozen_on_file = False  # the file records requires_grad=False for a parameter
        self._parameters: dict[str, list[TensorInfo]] = {}  # module path -> what `f` may freeze
        self._grad_marks: dict[str, Mark | None] = {}  # path -> its mark under `marks`

    def set_marks(self, marks: EditMarks) -> None:
        """Redraw the markers of every created node (labels themselves do not change)."""
        self.marks = marks
        self._grad_marks.clear()
        self._invalidate()  # Tree's own way to drop its cached lines and label widths

    @property
    def shows_markers(self) -> bool:
        return self.marks.any or self._frozen_on_file

    def render_label(self, node: TreeNode[ModuleNode], base_style: Style, style: Style) -> Text:
        """`▼ ●❄ name … columns`: the icon, a 3-cell marker slot once anything is marked (so
        names stay aligned and narrow panes never crop the markers), the name, and the columns
        ending at the right edge."""
        text = super().render_label(node, base_style, style)
        data = node.data
        if data is None:
            return text
        cut = len(self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE)
        head = text[:cut] if node.allow_expand else Text()
        if self.shows_markers:
            head.append_text(self._marker_slot(data))
        room = self.scrollable_content_region.width - self._indent(node) - head.cell_len
        line = fit_line(text[cut:] if node.allow_expand else text, self._columns(node, data), room)
        line.stylize(style)
        return Text.assemble(head, line)

    def _columns(self, node: TreeNode[ModuleNode], data: ModuleNode) -> list[Text]:
        if node.is_root:
            return right_side(*root_columns(data), tensor=False)
        return right_side(first_column(data), size_column(data.nbytes), data.is_leaf)

    def _indent(self, node: TreeNode[ModuleNode]) -> int:
        depth, parent = 0, node.parent
        while parent is not None:
            depth, parent = depth + 1, parent.parent
        return depth * self.guide_depth

    def _marker_slot(self, data: ModuleNode) -> Text:
        values = self.marks.edited_mark(data.path, module=not data.is_leaf)
        slot = Text()
        for mark in (values, self._grad_mark(data)):
            if mark is None:
                slot.append(" ")
            else:
                slot.append(mark[0], style=self.get_component_rich_style(mark[1], partial=True))
        slot.append(" ")
        return slot

    def _grad_mark(self, data: ModuleNode) -> Mark | None:
        """❄ / ◒ / ∇ of a line, computed once per node and marks version."""
        path = data.path
        if path not in self._grad_marks:
            intents = self.marks.intents
            if data.is_leaf and data.tensor is not None:
                self._grad_marks[path] = tensor_grad_mark(data.tensor, intents)
            else:
                self._grad_marks[path] = module_grad_mark(
                    grad_counts(self._parameters_below(data), intents)
                )
        return self._grad_marks[path]

    def _parameters_below(self, data: ModuleNode) -> list[TensorInfo]:
        found = self._parameters.get(data.path)
        if found is None:
            found = self._parameters[data.path] = [
                info for info in data.iter_tensors() if can_require_grad(info)
            ]
        return found

    # -- loading and filtering -------------------------------------------------------------

    def load(self, root: ModuleNode, title: str) -> None:
        """Show `root` (the whole checkpoint) with its first level expanded; the cursor stays
        on the same path, opened down to it, or its nearest ancestor (after an edit renamed
        tensors)."""
        self._title = title
        self._rebuild(root)

    def apply_filter(self, keep: set[str] | None) -> None:
        """Show only the node paths in `keep` (None: show everything); the cursor stays where it
        was, opened down to it."""
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
        self._parameters.clear()
        self._grad_marks.clear()
        self._frozen_on_file = any(
            info.requires_grad is False and can_require_grad(info) for info in root.iter_tensors()
        )
        self.reset(root_label(self._title), root)
        self._by_path[""] = self.root
        self._populate(self.root)
        self.root.expand()
        if self._keep is not None and len(self._keep) <= EXPAND_ALL_LIMIT:
            self._expand_deep(self.root)
        self.reveal_nearest(previous)

    def reveal_nearest(self, path: str) -> None:
        """Put the cursor on `path`, opened down to it, or on its nearest shown ancestor."""
        while path and not self.reveal(path):
            path = path.rpartition(".")[0]
        if not path:
            self.go_to(self.root)

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
        for kid in kids:
            child = node.add(name_text(kid), kid, allow_expand=not kid.is_leaf)
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
