"""The main screen: browsing and closer views (InspectScreen), plus editing the node under the
cursor.

Edits go through the workspace's EditSession, one at a time, in a thread worker (copying a
large storage or pruning takes a while); the worker posts EditFinished with the session's new
marks and this screen hands them down to the tree and the detail pane. Bindings that do not
apply to the node under the cursor are dimmed in the Footer (check_action)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding, BindingType

from paramtui.core.errors import ParamtuiError
from paramtui.core.tree import ModuleNode
from paramtui.tui.messages import EditFailed, EditFinished, ModuleHighlighted, SourceReplaced
from paramtui.tui.screens.confirm import confirm
from paramtui.tui.screens.inspect import InspectScreen
from paramtui.tui.views import fmt
from paramtui.tui.views.edit_marks import EditMarks, marks_of
from paramtui.tui.views.edit_rules import Applicability, describe_scope, is_large, notice
from paramtui.tui.views.prune_form import scope_size
from paramtui.tui.views.save_text import same_file
from paramtui.tui.widgets.detail_pane import DetailPane
from paramtui.tui.widgets.module_tree import ModuleTree
from paramtui.tui.workspace import Workspace

if TYPE_CHECKING:
    from paramtui.edits.effects import EditRecord
    from paramtui.edits.ops import Op
    from paramtui.io.save import SaveReport
    from paramtui.tui.screens.prune import PruneChoice

FREEZE_KEYS = Binding.Group("Freeze", compact=True)  # the Footer must fit 80 columns
UNDO_KEYS = Binding.Group("Undo", compact=True)
NODE_ACTIONS = frozenset({"freeze", "unfreeze", "zero", "prune", "make_permanent"})
SESSION_ACTIONS = NODE_ACTIONS | {"undo", "redo", "save_as", "edit_log"}


class MainScreen(InspectScreen):
    """Browse and edit one checkpoint."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "freeze", "Freeze", id="edit.freeze", group=FREEZE_KEYS),
        Binding("F", "unfreeze", "Unfreeze", id="edit.unfreeze", group=FREEZE_KEYS),
        Binding("z", "zero", "Zero", id="edit.zero"),
        Binding("p", "prune", "Prune", id="edit.prune"),
        Binding("P", "make_permanent", "Make permanent", id="edit.make_permanent"),
        Binding("u,ctrl+z", "undo", "Undo", id="edit.undo", group=UNDO_KEYS),
        Binding("r,ctrl+y", "redo", "Redo", id="edit.redo", group=UNDO_KEYS),
        Binding("s", "save_as", "Save", id="edit.save_as"),
        Binding("l", "edit_log", "Log", id="edit.log"),
    ]

    busy = False  # an edit, undo or redo is running

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self._flags: frozenset[str] = frozenset()  # node actions that apply under the cursor
        self._rules = Applicability()

    def reset(self, workspace: Workspace) -> None:
        self._rules.clear()
        self._flags = frozenset()
        super().reset(workspace)

    # -- what applies where ------------------------------------------------------------------

    def on_torch_ready(self) -> None:
        self.workspace.start_session()
        self._update_flags(self.current_node())
        self.refresh_bindings()

    def on_module_highlighted(self, message: ModuleHighlighted) -> None:
        super().on_module_highlighted(message)
        self._update_flags(message.node)

    def values_settled(self) -> bool:
        return not self.busy

    def _update_flags(self, node: ModuleNode | None) -> None:
        session = self.workspace.session
        flags = self._rules.flags(session, node) if session is not None and node else frozenset()
        if flags != self._flags:
            self._flags = flags
            self.refresh_bindings()  # only when something changed: the Footer is costly

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in SESSION_ACTIONS:
            return super().check_action(action, parameters)
        session = self.workspace.session
        if session is None or self.busy:
            return None
        if action == "make_permanent":  # rare: shown only where torch's prune pairs are
            return action in self._flags
        if action in NODE_ACTIONS:
            return True if action in self._flags else None
        if action == "undo":
            return True if session.can_undo else None
        if action == "redo":
            return True if session.can_redo else None
        if action == "edit_log":
            return True if session.log or session.redo_log else None
        return True

    # -- the actions -------------------------------------------------------------------------

    def action_freeze(self) -> None:
        from paramtui.edits.ops import Freeze

        self._for_node(lambda node: self.run_edit("apply", Freeze(node.path)))

    def action_unfreeze(self) -> None:
        from paramtui.edits.ops import Unfreeze

        self._for_node(lambda node: self.run_edit("apply", Unfreeze(node.path)))

    def action_make_permanent(self) -> None:
        from paramtui.edits.ops import MakePrunePermanent

        self._for_node(lambda node: self.run_edit("apply", MakePrunePermanent(node.path)))

    def action_zero(self) -> None:
        from paramtui.edits.ops import Zero

        node = self.current_node()
        if node is None:
            return
        op = Zero(node.path)
        if not is_large(node.num_tensors, node.numel):
            self.run_edit("apply", op)
            return
        scope = describe_scope(node.path, node.num_tensors, node.numel)
        body = (
            f"Set every element of {scope} to zero (buffers and optimizer state under a "
            "module are left alone). u undoes it."
        )
        self._confirm_then_apply("Zero?", body, "Zero", op)

    def action_prune(self) -> None:
        from paramtui.tui.screens.prune import PruneScreen

        session, node = self.workspace.session, self.current_node()
        if session is not None and node is not None:
            self.app.push_screen(PruneScreen(session, node), self._pruned)

    def _pruned(self, choice: PruneChoice | None) -> None:
        if choice is None:
            return
        if choice.preview is None:
            self.run_edit("apply", choice.op)
            return
        tensors, numel = scope_size(choice.preview)
        if not is_large(tensors, numel):
            self.run_edit("apply", choice.op)
            return
        scope = describe_scope(choice.op.target, tensors, numel)
        zeroed = fmt.grouped(choice.preview.total_changed)
        body = f"{choice.op.describe()} of {scope}: {zeroed} elements become zero. u undoes it."
        self._confirm_then_apply("Prune?", body, "Prune", choice.op)

    def _confirm_then_apply(self, title: str, body: str, yes: str, op: Op) -> None:
        def answered(answer: str | None) -> None:
            if answer == "yes":
                self.run_edit("apply", op)

        self.app.push_screen(confirm(title, body, yes=yes), answered)

    def action_undo(self) -> None:
        self.run_edit("undo")

    def action_redo(self) -> None:
        self.run_edit("redo")

    def action_edit_log(self) -> None:
        from paramtui.tui.screens.edit_log import EditLogScreen

        session = self.workspace.session
        if session is not None:
            self.app.push_screen(EditLogScreen(session.log, session.redo_log, session.dirty))

    def action_save_as(self, then_quit: bool = False) -> None:
        from paramtui.tui.screens.save_as import SaveAsScreen

        session = self.workspace.session
        if session is None:
            return

        def saved(report: SaveReport | None) -> None:
            self.saved(report)
            if then_quit and report is not None and report.verified:
                self.app.exit(0)

        self.app.push_screen(SaveAsScreen(session), saved)

    def _for_node(self, edit: Callable[[ModuleNode], None]) -> None:
        node = self.current_node()
        if node is not None:
            edit(node)

    # -- running edits -----------------------------------------------------------------------

    def run_edit(self, kind: str, op: Op | None = None) -> None:
        """Apply `op`, or undo / redo, in the edit worker (one at a time)."""
        if self.workspace.session is None or self.busy:
            return
        self.busy = True
        self.refresh_bindings()
        self.edit_worker(kind, op)

    @work(thread=True, group="edit", exit_on_error=False)
    def edit_worker(self, kind: str, op: Op | None) -> None:
        session = self.workspace.session
        assert session is not None
        record: EditRecord | None
        try:
            if kind == "apply":
                assert op is not None
                record = session.apply(op)
            else:
                record = session.undo() if kind == "undo" else session.redo()
            marks = marks_of(session)
        except ParamtuiError as exc:  # EditRefused included: its message says why
            self.post_message(EditFailed(str(exc)))
        except Exception as exc:  # noqa: BLE001 - report it, keep the app and the session
            self.post_message(EditFailed(f"the edit failed: {exc!r}"))
        else:
            self.post_message(EditFinished(kind, record, marks))

    def on_edit_failed(self, message: EditFailed) -> None:
        self.busy = False
        self.refresh_bindings()
        self.notify(message.reason, title="Not edited", severity="error", timeout=10)

    def on_edit_finished(self, message: EditFinished) -> None:
        from paramtui.edits.ops import MakePrunePermanent

        self.busy = False
        self.show_marks(message.marks)
        record = message.record
        if record is not None:
            self.notify(notice(message.kind, record), title="Edit log")
            if isinstance(record.op, MakePrunePermanent):
                self._rules.clear()
                self.build_module_tree()  # names were added and removed
        self._update_flags(self.current_node())
        self._update_views(self.current_node())
        self.refresh_bindings()

    def show_marks(self, marks: EditMarks) -> None:
        """Hand new marks down, then recompute the statistics on show if their values changed."""
        self.workspace.marks = marks
        self.query_one(ModuleTree).set_marks(marks)
        self.query_one(DetailPane).marks = marks
        node = self.current_node()
        self._want_stats(node.tensor if node is not None else None)

    def saved(self, report: SaveReport | None) -> None:
        if report is None:
            return
        self.workspace.saved_path = report.path
        self.show_marks(replace(self.workspace.marks, dirty=self.workspace.dirty))
        self.notify(f"Saved {fmt.printable(report.path)}", title="Saved")
        self.refresh_bindings()
        if same_file(report.path, self.index.path):
            # The index describes the replaced file's layout: read the new one afresh.
            self.post_message(SourceReplaced(report.path))
