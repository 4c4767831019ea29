"""SVG snapshots of the main screens (pytest-textual-snapshot). Regenerate after a deliberate
change with `pytest tests/test_tui_snapshots.py --snapshot-update`, then look at the SVGs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.help import HelpScreen
from paramtui.tui.screens.prune import PruneScreen
from paramtui.tui.widgets.module_tree import ModuleTree
from tui_helpers import wait_for, wait_for_tree, write_safetensors

SnapCompare = Any  # the fixture's callable


@pytest.fixture
def app(tmp_path: Path) -> ParamtuiApp:
    path = tmp_path / "tiny.safetensors"  # only the base name appears on screen
    write_safetensors(path)
    return ParamtuiApp(open_checkpoint(path))


def test_main_screen_with_statistics(app: ParamtuiApp, snap_compare: SnapCompare) -> None:
    """A tensor selected three levels down, its details, statistics and histogram."""

    async def run_before(pilot: Pilot[int]) -> None:
        tree = await wait_for_tree(pilot)
        tree.reveal("layers.10.weight")
        await wait_for(pilot, lambda: app.workspace.stats("layers.10.weight") is not None)
        await pilot.app.workers.wait_for_complete()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_filtered_tree_at_80x24(app: ParamtuiApp, snap_compare: SnapCompare) -> None:
    """`/` then `bias`: only the matching tensors and their ancestors, opened."""

    async def run_before(pilot: Pilot[int]) -> None:
        await wait_for_tree(pilot)
        await pilot.press("slash", *"bias", "enter")
        await wait_for(pilot, lambda: pilot.app.screen.applied_filter == "bias")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_help_screen(app: ParamtuiApp, snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[int]) -> None:
        await wait_for_tree(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    assert snap_compare(app, terminal_size=(100, 32), run_before=run_before)


async def _session_ready(pilot: Pilot[int]) -> None:
    await wait_for_tree(pilot)
    await wait_for(pilot, lambda: pilot.app.workspace.session is not None, timeout=60)


def test_edited_markers(app: ParamtuiApp, snap_compare: SnapCompare) -> None:
    """layers.3 frozen, layers.3.weight zeroed: ● and ❄ in the tree, the pane and statistics."""

    async def run_before(pilot: Pilot[int]) -> None:
        await _session_ready(pilot)
        screen = pilot.app.screen
        tree = screen.query_one(ModuleTree)
        tree.reveal("layers.3")
        await pilot.press("f")
        await wait_for(pilot, lambda: not screen.busy)
        tree.reveal("layers.3.weight")
        await pilot.press("z")
        await wait_for(pilot, lambda: not screen.busy)
        await wait_for(pilot, lambda: app.workspace.stats("layers.3.weight") is not None)
        await pilot.app.workers.wait_for_complete()
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_prune_dialog_at_80x24(app: ParamtuiApp, snap_compare: SnapCompare) -> None:
    """`p` on a module: scope choices and the preview of 30% per tensor."""

    async def run_before(pilot: Pilot[int]) -> None:
        await _session_ready(pilot)
        pilot.app.screen.query_one(ModuleTree).reveal("layers.10")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PruneScreen))
        dialog = pilot.app.screen
        await wait_for(pilot, lambda: dialog.preview is not None)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
