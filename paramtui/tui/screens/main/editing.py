"""Editing the node under the cursor: freeze, unfreeze, zero, prune, make a prune permanent,
undo, redo, the edit log and saving an edited copy.

Edits go through the opened checkpoint's EditSession, one at a time, in the screen's edit
worker; its EditFinished carries the session's new marks, which the screen hands down to the
tree and the detail pane. Keys that do not apply to the node under the cursor are dimmed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, Protocol

from textual.binding import Binding, BindingType

from paramtui.core.tree import ModuleNode
from paramtui.tui.messages import EditFailed, EditFinished, EditPreviewed, SourceReplaced
from paramtui.tui.screens.confirm import confirm
from paramtui.tui.screens.main.host import ScreenHost
from paramtui.tui.views import fmt
from paramtui.tui.views.edit_marks import EditMarks
from paramtui.tui.views.edit_rules import (
    Applicability,
    describe_scope,
    is_large,
    notice,
    why_not,
    zero_question,
)
from paramtui.tui.views.prune_form import scope_size
from paramtui.tui.views.save_text import same_file

if TYPE_CHECKING:
    from textual.message import Message

    from paramtui.edits.ops import Op
    from paramtui.io.save import SaveReport
    from paramtui.tui.screens.prune import PruneChoice

FREEZE_KEYS = Binding.Group("Freeze", compact=True)  # the Footer must fit 80 columns
UNDO_KEYS = Binding.Group("Undo", compact=True)
NODE_ACTIONS = frozenset({"freeze", "unfreeze", "zero", "prune", "make_permanent"})


class EditHost(ScreenHost, Protocol):
    def edit_worker(self, kind: str, op: Op | None) -> object: ...

    def show_marks(self, marks: EditMarks) -> None: ...

    def build_module_tree(self) -> object: ...

    def post_message(self, message: Message) -> bool: ...


class EditingController:
    """What may be edited where, and running the edits."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "freeze", "Freeze", id="edit.freeze", group=FREEZE_KEYS),
        Binding("F", "unfreeze", "Unfreeze", id="edit.unfreeze", group=FREEZE_KEYS),
        Binding("z", "zero", "Zero", id="edit.zero"),
        Binding("p", "prune", "Prune", id="edit.prune"),
        # Off the Footer (it fits 80 columns only without it); the help screen lists it.
        Binding("P", "make_permanent", "Make permanent", id="edit.make_permanent", show=False),
        Binding("u,ctrl+z", "undo", "Undo", id="edit.undo", group=UNDO_KEYS),
        Binding("r,ctrl+y", "redo", "Redo", id="edit.redo", group=UNDO_KEYS),
        Binding("s", "save_as", "Save", id="edit.save_as"),
        Binding("l", "edit_log", "Log", id="edit.log"),
    ]
    ACTIONS = NODE_ACTIONS | {"undo", "redo", "save_as", "edit_log"}

    def __init__(self, host: EditHost, save_format: str | None = None) -> None:
        self.host = host
        self.save_format = save_format  # the format the save dialog proposes (config file)
        self.busy = False  # an edit, undo or redo is running
        self._flags: frozenset[str] = frozenset()  # node actions that apply under the cursor
        self._rules = Applicability()

    def reset(self) -> None:
        """Forget what applied where (another index is on show)."""
        self._rules.clear()
        self._flags = frozenset()

    def start(self) -> None:
        """torch is importable: start the edit session."""
        self.host.opened.start_session()
        self.update(self.host.current_node())
        self.host.refresh_bindings()

    def update(self, node: ModuleNode | None) -> None:
        session = self.host.opened.session
        flags = self._rules.flags(session, node) if session is not None and node else frozenset()
        if flags != self._flags:
            self._flags = flags
            self.host.refresh_bindings()  # only when something changed: the Footer is costly

    def check(self, action: str) -> bool | None:
        session = self.host.opened.session
        if session is None or self.busy:
            return None
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

    def freeze(self) -> None:
        from paramtui.edits.ops import Freeze

        self._for_node(lambda node: self.run("apply", Freeze(node.path)))

    def unfreeze(self) -> None:
        from paramtui.edits.ops import Unfreeze

        self._for_node(lambda node: self.run("apply", Unfreeze(node.path)))

    def make_permanent(self) -> None:
        from paramtui.edits.ops import MakePrunePermanent

        self._for_node(lambda node: self.run("apply", MakePrunePermanent(node.path)))

    def zero(self) -> None:
        from paramtui.edits.ops import Zero

        node = self.host.current_node()
        if node is None:
            return
        op = Zero(node.path)
        # A large zero asks first, with what the session's preview says it will do.
        self.run("apply" if not is_large(node.num_tensors, node.numel) else "preview", op)

    def previewed(self, message: EditPreviewed) -> None:
        self.busy = False
        self.host.refresh_bindings()
        record = message.record
        if not record.effects:
            self.host.notify(notice("apply", record), title="Nothing to zero", severity="warning")
            return
        self._confirm_then_apply("Zero?", zero_question(record), "Zero", record.op)

    def explain(self, action: str) -> bool:
        """A node action pressed where it does not apply: say why (True if it was refused)."""
        node = self.host.current_node()
        if self.host.opened.session is None or self.busy or node is None:
            return False
        if action not in NODE_ACTIONS or action in self._flags:
            return False
        self.host.notify(why_not(node, action), title="Not edited", severity="warning")
        return True

    def prune(self) -> None:
        from paramtui.tui.screens.prune import PruneScreen

        session, node = self.host.opened.session, self.host.current_node()
        if session is not None and node is not None:
            self.host.app.push_screen(PruneScreen(session, node), self._pruned)

    def _pruned(self, choice: PruneChoice | None) -> None:
        if choice is None:
            return
        if choice.preview is None:
            self.run("apply", choice.op)
            return
        tensors, numel = scope_size(choice.preview)
        if not is_large(tensors, numel):
            self.run("apply", choice.op)
            return
        scope = describe_scope(choice.op.target, tensors, numel)
        zeroed = fmt.grouped(choice.preview.total_changed)
        body = f"{choice.op.describe()} of {scope}: {zeroed} elements become zero. u undoes it."
        self._confirm_then_apply("Prune?", body, "Prune", choice.op)

    def _confirm_then_apply(self, title: str, body: str, yes: str, op: Op) -> None:
        def answered(answer: str | None) -> None:
            if answer == "yes":
                self.run("apply", op)

        self.host.app.push_screen(confirm(title, body, yes=yes), answered)

    def edit_log(self) -> None:
        from paramtui.tui.screens.edit_log import EditLogScreen

        session = self.host.opened.session
        if session is not None:
            self.host.app.push_screen(EditLogScreen(session.log, session.redo_log, session.dirty))

    def save_as(self, then_quit: bool = False) -> None:
        from paramtui.tui.screens.save_as import SaveAsScreen

        session = self.host.opened.session
        if session is None:
            return

        def saved(report: SaveReport | None) -> None:
            self.saved(report)
            if then_quit and report is not None and report.verified:
                self.host.app.exit(0)

        self.host.app.push_screen(SaveAsScreen(session, self.save_format), saved)

    def _for_node(self, edit: Callable[[ModuleNode], None]) -> None:
        node = self.host.current_node()
        if node is not None:
            edit(node)

    # -- running edits -----------------------------------------------------------------------

    def run(self, kind: str, op: Op | None = None) -> None:
        """Apply `op`, or undo / redo, in the edit worker (one at a time)."""
        if self.host.opened.session is None or self.busy:
            return
        self.busy = True
        self.host.refresh_bindings()
        self.host.edit_worker(kind, op)

    def failed(self, message: EditFailed) -> None:
        self.busy = False
        self.host.refresh_bindings()
        self.host.notify(message.reason, title="Not edited", severity="error", timeout=10)

    def finished(self, message: EditFinished) -> None:
        """The marks are handed down; the caller updates what applies under the cursor."""
        from paramtui.edits.ops import MakePrunePermanent

        self.busy = False
        self.host.show_marks(message.marks)
        record = message.record
        if record is not None:
            self.host.notify(notice(message.kind, record), title="Edit log")
            if isinstance(record.op, MakePrunePermanent):
                self._rules.clear()
                self.host.build_module_tree()  # names were added and removed

    def saved(self, report: SaveReport | None) -> None:
        if report is None:
            return
        opened = self.host.opened
        opened.saved_path = report.path
        self.host.show_marks(replace(opened.marks, dirty=opened.dirty))
        self.host.notify(f"Saved {fmt.printable(report.path)}", title="Saved")
        self.host.refresh_bindings()
        if same_file(report.path, opened.index.path):
            # The index describes the replaced file's layout: read the new one afresh.
            self.host.post_message(SourceReplaced(report.path))
