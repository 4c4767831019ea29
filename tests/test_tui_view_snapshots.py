"""SVG snapshots of the closer views at 80x24 (pytest-textual-snapshot). Regenerate after a
deliberate change with `pytest tests/test_tui_view_snapshots.py --snapshot-update`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.histogram import HistogramScreen
from paramtui.tui.screens.values import ValuesScreen
from tui_helpers import wait_for
from tui_view_helpers import open_view, write_views_file

SnapCompare = Any  # the fixture's callable


@pytest.fixture
def app(tmp_path: Path) -> ParamtuiApp:
    path = tmp_path / "views.safetensors"  # only the base name appears on screen
    write_views_file(path)
    return ParamtuiApp(open_checkpoint(path))


def test_histogram_view(app: ParamtuiApp, snap_compare: SnapCompare) -> None:
    """`h` on a 20,000-value vector: bars, quantile ticks and labels, zero, exact min/max."""

    async def run_before(pilot: Pilot[int]) -> None:
        screen = await open_view(pilot, "vector", "h", HistogramScreen)
        assert isinstance(screen, HistogramScreen)
        await wait_for(pilot, lambda: screen.stats is not None, timeout=60)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_value_grid(app: ParamtuiApp, snap_compare: SnapCompare) -> None:
    """`v` on the cube, slice 2 (NaN, ±Inf and a row of zeros), cursor on the NaN."""

    async def run_before(pilot: Pilot[int]) -> None:
        screen = await open_view(pilot, "cube", "v", ValuesScreen)
        assert isinstance(screen, ValuesScreen)
        await wait_for(pilot, lambda: screen.source is not None, timeout=60)
        await pilot.press("plus", "plus", "g", *"3,4", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
