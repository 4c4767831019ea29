"""Long dotted names in the detail pane break between their parts, never inside a word."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

import tui_edit_helpers
from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.views.dotted import DottedName, dotted_lines
from tui_edit_helpers import FC1, ready
from tui_helpers import asynctest, navigate, screen_text

demo_once = tui_edit_helpers.demo_once
demo = tui_edit_helpers.demo


def test_lines_break_after_dots_and_cut_only_parts_wider_than_the_column() -> None:
    name = "model.blocks.1.mlp.fc1.weight"
    assert dotted_lines(name, 40) == [name]
    assert dotted_lines(name, 20) == ["model.blocks.1.mlp.", "fc1.weight"]
    assert dotted_lines(name, 8) == ["model.", "blocks.", "1.mlp.", "fc1.", "weight"]
    assert dotted_lines("a.bias_ih_l0_reverse", 8) == ["a.", "bias_ih_", "l0_rever", "se"]
    assert "".join(dotted_lines(name, 3)) == name


def test_the_renderable_fits_its_column() -> None:
    console = Console(width=12, record=True)
    console.print(DottedName("model.blocks.1.mlp.fc1.weight"))
    assert console.export_text().splitlines() == ["model.", "blocks.1.", "mlp.fc1.", "weight"]


@asynctest
async def test_the_detail_pane_breaks_a_long_name_at_a_dot(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await navigate(pilot, FC1)
        await pilot.pause()
        pane = [line.split("▏", 1)[1] for line in screen_text(app).splitlines() if "▏" in line]
        name_lines = [line.strip() for line in pane[1:3]]
        assert name_lines[0].endswith(".") and "".join(name_lines).endswith(FC1)
