"""The main screen: the module tree on the left, details and statistics on the right.

The screen owns the widgets, the workers and the message handlers (Textual wants those on a
DOM node). What each key and message means is decided by a controller with one job: the
statistics on show, the filter, the closer views and the edits (the modules beside this one).
Widgets post messages up; the screen sets attributes down and asks the controllers which keys
apply."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Static
from textual.worker import get_current_worker

from paramtui.core.model import CheckpointIndex
from paramtui.core.roots import model_tree
from paramtui.core.tree import ModuleNode
from paramtui.tui.messages import (
    EditFailed,
    EditFinished,
    EditPreviewed,
    FilterComputed,
    ModuleHighlighted,
    OptimizerSummarised,
    StatsComputed,
    StatsFailed,
    StatsProgressed,
    TorchLoaded,
    TreeBuilt,
)
from paramtui.tui.screens.main.editing import EditingController
from paramtui.tui.screens.main.filtering import FilterController
from paramtui.tui.screens.main.split import STEP, SplitController, SplitWidth
from paramtui.tui.screens.main.statistics import StatisticsController
from paramtui.tui.screens.main.viewing import ViewingController
from paramtui.tui.tasks.edit import run_edit
from paramtui.tui.tasks.filter import run_filter
from paramtui.tui.tasks.optimizer import run_optimizer
from paramtui.tui.tasks.stats import run_stats
from paramtui.tui.views.banner import banner_text
from paramtui.tui.views.edit_marks import EditMarks
from paramtui.tui.views.header import summary_line
from paramtui.tui.views.stats_job import StatsJob
from paramtui.tui.widgets.detail_pane import DetailPane
from paramtui.tui.widgets.filter_input import FilterInput
from paramtui.tui.widgets.footer import PinnedFooter
from paramtui.tui.widgets.module_tree import ModuleTree
from paramtui.tui.workspace import Opened, Workspace

if TYPE_CHECKING:
    from paramtui.edits.ops import Op


class MainScreen(Screen[None]):
    """Browse, look closer at and edit the workspace's primary checkpoint."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *FilterController.BINDINGS,
        *ViewingController.BINDINGS,
        *EditingController.BINDINGS,
        *SplitController.BINDINGS,
        Binding("i", "file_notes", "Notes", show=False, id="main.file_notes"),
    ]

    def __init__(
        self,
        workspace: Workspace,
        split: SplitWidth | None = None,
        save_format: str | None = None,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.torch_ready = "torch" in sys.modules
        self.module_root: ModuleNode | None = None  # the whole tree, once built
        self.statistics = StatisticsController(self, lambda: not self.editing.busy)
        self.filtering = FilterController(self)
        self.viewing = ViewingController(self, self.statistics, self.filtering)
        self.editing = EditingController(self, save_format)
        self.split = SplitController(self, split or SplitWidth())

    @property
    def opened(self) -> Opened:
        return self.workspace.primary

    @property
    def index(self) -> CheckpointIndex:
        return self.opened.index

    @property
    def busy(self) -> bool:
        """An edit, undo or redo is running."""
        return self.editing.busy

    @property
    def applied_filter(self) -> str:
        """The filter text the tree shows now."""
        return self.filtering.applied

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(banner_text(self.index.notes), id="notes")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield FilterInput(id="filter")
                yield ModuleTree(id="tree")
            yield DetailPane(self.index, id="detail")
        yield PinnedFooter(compact=True, show_command_palette=False)  # ctrl+p: in the help

    def on_mount(self) -> None:
        self.query_one("#notes").display = bool(self.index.notes)
        self.filter_box.display = False
        self.split.apply()
        self.module_tree.focus()
        self.build_module_tree()

    # -- the widgets the controllers reach through the screen --------------------------------

    @property
    def module_tree(self) -> ModuleTree:
        return self.query_one(ModuleTree)

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    @property
    def filter_box(self) -> FilterInput:
        return self.query_one(FilterInput)

    def current_node(self) -> ModuleNode | None:
        """The module or tensor under the tree's cursor."""
        node = self.module_tree.cursor_node
        return node.data if node is not None else None

    def cancel_workers(self, group: str) -> None:
        self.workers.cancel_group(self, group)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        for controller in (self.filtering, self.viewing, self.editing):
            if action in controller.ACTIONS:
                return controller.check(action)
        return True

    def on_key(self, event: events.Key) -> None:
        """A dimmed edit key would do nothing: say why instead (the binding will not run)."""
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if not self.check_action(binding.action, ()) and self.editing.explain(binding.action):
                event.stop()
                return

    def action_file_notes(self) -> None:
        from paramtui.tui.screens.file_notes import FileNotesScreen

        self.app.push_screen(FileNotesScreen(self.index))

    # -- the tree --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="index")
    def build_module_tree(self) -> None:
        self.post_message(TreeBuilt(model_tree(self.index, self.opened.tensors())))

    def on_tree_built(self, message: TreeBuilt) -> None:
        first = self.module_root is None
        self.module_root = message.root
        self.detail.root = message.root
        self.sub_title = summary_line(self.index, message.root)  # now with the parameters
        name = os.path.basename(self.index.path.rstrip("/")) or self.index.path
        tree = self.module_tree
        tree.load(message.root, name)  # the cursor stays where it was (an edit renamed tensors)
        if self.torch_ready:
            self.editing.start()
        elif first:  # after the tree is painted: the import holds the GIL a lot
            self.call_after_refresh(self.import_torch)

    def reset(self, workspace: Workspace) -> None:
        """Show another workspace (the same file reopened after it was saved over)."""
        self.editing.reset()
        self.workspace = workspace
        self.detail.reset(self.index)
        self.module_tree.set_marks(self.opened.marks)
        self.build_module_tree()

    def on_module_highlighted(self, message: ModuleHighlighted) -> None:
        self.detail.node = message.node
        self.statistics.want(message.node.tensor)
        self._update_applicable(message.node)

    def _update_applicable(self, node: ModuleNode | None) -> None:
        self.viewing.update(node)
        self.editing.update(node)

    def on_screen_resume(self) -> None:
        self.statistics.resume()

    def show_marks(self, marks: EditMarks) -> None:
        """Hand new marks down, then recompute the statistics on show if their values changed."""
        self.opened.marks = marks
        self.module_tree.set_marks(marks)
        self.detail.marks = marks
        self.statistics.want_current()

    # -- workers: statistics and the optimizer's view of the tensor on show ------------------

    @work(thread=True, exclusive=True, group="stats")
    def compute_stats(self, job: StatsJob) -> None:
        worker = get_current_worker()
        run_stats(job, self, lambda: worker.is_cancelled)

    @work(thread=True, exclusive=True, group="optimizer", exit_on_error=False)
    def summarise_optimizer(self, name: str) -> None:
        worker = get_current_worker()
        run_optimizer(self.opened, name, self, lambda: worker.is_cancelled)

    def on_stats_progressed(self, message: StatsProgressed) -> None:
        self.statistics.progressed(message)

    def on_stats_computed(self, message: StatsComputed) -> None:
        self.statistics.computed(message)

    def on_stats_failed(self, message: StatsFailed) -> None:
        self.statistics.failed(message)

    def on_optimizer_summarised(self, message: OptimizerSummarised) -> None:
        self.statistics.optimizer_summarised(message)

    # -- torch, imported once the tree is on screen ----------------------------------------

    @work(thread=True, group="torch", exit_on_error=False)
    def import_torch(self) -> None:
        try:
            import torch  # noqa: F401
        except Exception as exc:  # a broken install raises more than ImportError
            self.post_message(TorchLoaded(False, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(TorchLoaded(True))

    def on_torch_loaded(self, message: TorchLoaded) -> None:
        self.torch_ready = message.ok
        if not message.ok:
            self.notify(f"torch could not be imported: {message.reason}", severity="error")
        else:
            self.editing.start()

    # -- the split between tree and detail pane ----------------------------------------------

    def action_detail_narrower(self) -> None:
        self.split.move(-STEP)

    def action_detail_wider(self) -> None:
        self.split.move(STEP)

    # -- filtering ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.filtering.open()

    def action_clear_filter(self) -> None:
        self.filtering.clear()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filtering.changed(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.set_focus(self.module_tree)

    @on(FilterInput.Dismissed)
    def _filter_dismissed(self) -> None:
        self.filtering.end()

    @work(thread=True, exclusive=True, group="filter")
    def compute_filter(self, root: ModuleNode, needle: str) -> None:
        worker = get_current_worker()
        run_filter(self.opened, root, needle, self, lambda: worker.is_cancelled)

    def on_filter_computed(self, message: FilterComputed) -> None:
        self.filtering.computed(message)

    # -- the closer views --------------------------------------------------------------------

    def action_histogram(self) -> None:
        self.viewing.histogram()

    def action_values(self) -> None:
        self.viewing.values()

    def action_module_table(self) -> None:
        self.viewing.module_table()

    def action_scan(self) -> None:
        self.viewing.scan()

    # -- editing -----------------------------------------------------------------------------

    def action_freeze(self) -> None:
        self.editing.freeze()

    def action_unfreeze(self) -> None:
        self.editing.unfreeze()

    def action_zero(self) -> None:
        self.editing.zero()

    def action_prune(self) -> None:
        self.editing.prune()

    def action_make_permanent(self) -> None:
        self.editing.make_permanent()

    def action_undo(self) -> None:
        self.editing.run("undo")

    def action_redo(self) -> None:
        self.editing.run("redo")

    def action_edit_log(self) -> None:
        self.editing.edit_log()

    def action_save_as(self, then_quit: bool = False) -> None:
        self.editing.save_as(then_quit)

    @work(thread=True, group="edit", exit_on_error=False)
    def edit_worker(self, kind: str, op: Op | None) -> None:
        session = self.opened.session
        assert session is not None
        run_edit(session, kind, op, self)

    def on_edit_previewed(self, message: EditPreviewed) -> None:
        self.editing.previewed(message)

    def on_edit_failed(self, message: EditFailed) -> None:
        self.editing.failed(message)

    def on_edit_finished(self, message: EditFinished) -> None:
        self.editing.finished(message)
        self._update_applicable(self.current_node())
        self.refresh_bindings()
