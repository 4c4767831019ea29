"""SVG snapshots of the main screens (pytest-textual-snapshot). Regenerate after a deliberate
change with `pytest tests/test_tui_snapshots.py --snapshot-update`, then look at the SVGs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_helpers import wait_for, wait_for_tree, write_safetensors

from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.help import HelpScreen

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
        await wait_for(pilot, lambda: "layers.10.weight" in app.stats_cache)
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
