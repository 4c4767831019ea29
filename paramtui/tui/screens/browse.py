"""Browsing: module tree on the left, details and statistics on the right.

Widgets post messages up; this screen sets attributes down and owns the workers (tree building,
filtering, statistics, the background torch import). MainScreen (screens/main.py) adds editing."""

from __future__ import annotations

import os
import sys
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static
from textual.worker import get_current_worker

from paramtui.core.model import TensorInfo
from paramtui.core.tree import ModuleNode, build_tree, filter_paths
from paramtui.tui.messages import (
    FilterComputed,
    ModuleHighlighted,
    OptimizerSummarised,
    StatsComputed,
    StatsFailed,
    StatsProgressed,
    TorchLoaded,
    TreeBuilt,
)
from paramtui.tui.tasks.optimizer import run_optimizer
from paramtui.tui.tasks.stats import StatsJob, run_stats
from paramtui.tui.widgets.describe_optimizer import optimizer_section
from paramtui.tui.widgets.detail_pane import DetailPane
from paramtui.tui.widgets.filter_input import FilterInput
from paramtui.tui.widgets.module_tree import ModuleTree
from paramtui.tui.workspace import Workspace

STATS_DELAY_S = 0.12  # the cursor must rest this long on a tensor before its stats start
FILTER_DELAY_S = 0.15  # typing pauses this long before the tree is filtered again


class BrowseScreen(Screen[None]):
    """Browse one checkpoint."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="main.filter"),
        Binding("escape", "clear_filter", "Clear", id="main.clear_filter"),
    ]

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.index = workspace.index
        self.torch_ready = "torch" in sys.modules
        self._wanted: TensorInfo | None = None  # the tensor whose statistics are on show
        self._stats_timer: Timer | None = None
        self._filter_timer: Timer | None = None
        self._root: ModuleNode | None = None
        self._stats_stopped = False  # stopped for a view that reads the data itself
        self.applied_filter = ""  # the filter text the tree shows now

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text("; ".join(self.index.notes)), id="notes")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield FilterInput(id="filter")
                yield ModuleTree(id="tree")
            yield DetailPane(self.index, id="detail")
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p: in the help

    def on_mount(self) -> None:
        self.query_one("#notes").display = bool(self.index.notes)
        self.query_one(FilterInput).display = False
        self.query_one(ModuleTree).focus()
        self.build_module_tree()

    # -- the tree --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="index")
    def build_module_tree(self) -> None:
        self.post_message(TreeBuilt(build_tree(self.workspace.tensors())))

    def on_tree_built(self, message: TreeBuilt) -> None:
        first = self._root is None
        self._root = message.root
        self.query_one(DetailPane).root = message.root
        name = os.path.basename(self.index.path.rstrip("/")) or self.index.path
        tree = self.query_one(ModuleTree)
        where = tree.cursor_node.data.path if tree.cursor_node and tree.cursor_node.data else ""
        tree.load(message.root, name)
        if not first:  # rebuilt after an edit renamed tensors: stay where the user was
            self._reveal_nearest(tree, where)
        if self.torch_ready:
            self.on_torch_ready()
        elif first:  # after the tree is painted: the import holds the GIL a lot
            self.call_after_refresh(self.import_torch)

    def reset(self, workspace: Workspace) -> None:
        """Show another workspace (the same file reopened after it was saved over)."""
        self.workspace = workspace
        self.index = workspace.index
        self.query_one(DetailPane).reset(workspace.index)
        self.query_one(ModuleTree).set_marks(workspace.marks)
        self.build_module_tree()

    def _reveal_nearest(self, tree: ModuleTree, path: str) -> None:
        while path and not tree.reveal(path):
            path = path.rpartition(".")[0]
        if not path:
            tree.go_to(tree.root)

    def current_node(self) -> ModuleNode | None:
        """The module or tensor under the tree's cursor."""
        node = self.query_one(ModuleTree).cursor_node
        return node.data if node is not None else None

    def on_module_highlighted(self, message: ModuleHighlighted) -> None:
        self.query_one(DetailPane).node = message.node
        self._want_stats(message.node.tensor)

    # -- statistics ------------------------------------------------------------------------

    def _want_stats(self, info: TensorInfo | None) -> None:
        """Show cached stats at once; otherwise start a worker once the cursor rests."""
        if self._stats_timer is not None:
            self._stats_timer.stop()
        self.workers.cancel_group(self, "stats")
        self.workers.cancel_group(self, "optimizer")
        self._wanted = info
        if info is None:
            return
        if not self._show_optimizer(info.name):
            self.set_timer(STATS_DELAY_S, partial(self._start_optimizer, info))
        view = self.query_one(DetailPane).stats
        cached = self.workspace.stats(info.name)
        if cached is not None:
            view.show_stats(cached)
            return
        view.show_pending("" if self.torch_ready else "(loading torch)")
        self._stats_timer = self.set_timer(STATS_DELAY_S, partial(self._start_stats, info))

    def stop_stats(self) -> None:
        """Stop the statistics worker while another screen reads tensor data (the value grid,
        the histogram, the scan): they would compete for the CPU. Resuming starts it again."""
        if self._stats_timer is not None:
            self._stats_timer.stop()
        self.workers.cancel_group(self, "stats")
        self._stats_stopped = True

    def on_screen_resume(self) -> None:
        if self._stats_stopped:
            self._stats_stopped = False
            node = self.current_node()
            self._want_stats(node.tensor if node is not None else None)

    def _start_stats(self, info: TensorInfo) -> None:
        if self.values_settled():
            self.compute_stats(self.workspace.stats_job(info))  # the edited value, read now

    def values_settled(self) -> bool:
        """False while tensor values may be changing (MainScreen: an edit is running; its end
        asks for the statistics again)."""
        return True

    @work(thread=True, exclusive=True, group="stats")
    def compute_stats(self, job: StatsJob) -> None:
        worker = get_current_worker()
        run_stats(job, self, lambda: worker.is_cancelled)

    def _is_wanted(self, name: str, version: int | None = None) -> bool:
        wanted = self._wanted
        if wanted is None or wanted.name != name:
            return False
        return version is None or version == self.workspace.version(name)

    def on_stats_progressed(self, message: StatsProgressed) -> None:
        if self._is_wanted(message.name):
            self.query_one(DetailPane).stats.show_progress(message.fraction)

    def on_stats_computed(self, message: StatsComputed) -> None:
        self.workspace.remember(message.name, message.version, message.stats)
        if self._is_wanted(message.name, message.version):
            self.query_one(DetailPane).stats.show_stats(message.stats)

    def on_stats_failed(self, message: StatsFailed) -> None:
        if self._is_wanted(message.name):
            self.query_one(DetailPane).stats.show_error(message.reason)

    # -- the optimizer's view of the selected parameter (from the file's state) ---------------

    def _show_optimizer(self, name: str) -> bool:
        """Show the cached optimizer section of `name`; False when it is not computed yet."""
        cached = self.workspace.optimizer_summaries.get(name)
        if cached is not None:
            self.query_one(DetailPane).show_optimizer(optimizer_section(cached[0], name, cached[1]))
        return cached is not None

    def _start_optimizer(self, info: TensorInfo) -> None:
        if self._is_wanted(info.name):
            self.summarise_optimizer(info.name)

    @work(thread=True, exclusive=True, group="optimizer", exit_on_error=False)
    def summarise_optimizer(self, name: str) -> None:
        worker = get_current_worker()
        run_optimizer(self.workspace, name, self, lambda: worker.is_cancelled)

    def on_optimizer_summarised(self, message: OptimizerSummarised) -> None:
        self.workspace.optimizer_summaries[message.name] = (message.summary, message.note)
        if self._is_wanted(message.name):
            self._show_optimizer(message.name)

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
            self.on_torch_ready()

    def on_torch_ready(self) -> None:
        """torch is importable now (MainScreen starts the edit session here)."""

    # -- filtering ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one(FilterInput)
        box.display = True
        self.set_focus(box)  # now, not later: keys typed right after `/` belong to the box

    def action_clear_filter(self) -> None:
        box = self.query_one(FilterInput)
        box.value = ""
        self._end_filter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return self.query_one(ModuleTree).filtered or self.query_one(FilterInput).display
        return True

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        if self._root is not None and self.query_one(FilterInput).display:  # not when closing
            apply = partial(self.compute_filter, self._root, event.value)
            self._filter_timer = self.set_timer(FILTER_DELAY_S, apply)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.set_focus(self.query_one(ModuleTree))

    @on(FilterInput.Dismissed)
    def _filter_dismissed(self) -> None:
        self._end_filter()

    def _end_filter(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self.workers.cancel_group(self, "filter")
        self.query_one(FilterInput).display = False
        tree = self.query_one(ModuleTree)
        self.set_focus(tree)
        if tree.filtered:
            tree.apply_filter(None)
        self.applied_filter = ""
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="filter")
    def compute_filter(self, root: ModuleNode, needle: str) -> None:
        keep = filter_paths(root, needle) if needle else None
        if not get_current_worker().is_cancelled:
            self.post_message(FilterComputed(needle, keep))

    def on_filter_computed(self, message: FilterComputed) -> None:
        if message.needle != self.query_one(FilterInput).value:
            return  # the text changed since; a newer result is on its way
        self.query_one(ModuleTree).apply_filter(message.keep)
        self.applied_filter = message.needle
        if message.keep is not None and len(message.keep) <= 1:
            self.notify(f"No tensor name contains {message.needle!r}.", severity="warning")
        self.refresh_bindings()
