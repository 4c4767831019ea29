"""The value viewer: exact values of a slice, NaN/Inf/zero styles, slices, jumps, edited values,
and a 4 GiB tensor that opens instantly because only the visible window is read."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.values import ValuesScreen
from paramtui.tui.views.value_format import exact_text, formatter
from paramtui.tui.views.value_source import SliceSpec
from paramtui.tui.widgets.value_grid import ValueGrid
from tui_helpers import SIZE, asynctest, screen_text, wait_for, wait_for_tree
from tui_view_helpers import (
    CUBE_SHAPE,
    HUGE_SHAPE,
    open_view,
    write_huge_safetensors,
    write_views_file,
)

FLOAT32 = formatter("float32")


@pytest.fixture
def views(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    path = tmp_path / "views.safetensors"
    return path, write_views_file(path)


async def _grid(pilot, path: str) -> tuple[ValuesScreen, ValueGrid]:  # type: ignore[no-untyped-def]
    screen = await open_view(pilot, path, "v", ValuesScreen)
    assert isinstance(screen, ValuesScreen)
    await wait_for(pilot, lambda: screen.source is not None)
    await pilot.pause()
    return screen, screen.query_one(ValueGrid)


def shown_values(grid: ValueGrid) -> dict[tuple[int, int], tuple[str, str]]:
    plan = grid.plan
    assert plan is not None
    return {
        (plan.top + i, plan.left + j): cell
        for i, line in enumerate(plan.cells)
        for j, cell in enumerate(line)
    }


@asynctest
async def test_slice_of_a_3d_tensor_matches_torch(views) -> None:  # type: ignore[no-untyped-def]
    path, state = views
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await _grid(pilot, "cube")
        assert screen.source.spec.text() == "[0, :, :]"
        await pilot.press("s", "ctrl+u", *"[2, :, :]", "enter")  # ctrl+u clears the box
        await pilot.pause()
        assert screen.source.spec.index == (2, None, None)
        cells = shown_values(grid)
        assert len(cells) > 100  # a screenful, not a handful
        for (r, c), (text, _) in cells.items():
            assert text == FLOAT32(state["cube"][2, r, c].item())
        assert cells[(3, 4)] == ("NaN", "nan")
        assert cells[(5, 6)] == ("+Inf", "inf")
        assert cells[(7, 2)] == ("-Inf", "inf")
        assert cells[(0, 1)] == ("0", "zero")
        assert "slice [2, :, :] (3 of 4)" in screen_text(app)


@asynctest
async def test_nan_inf_and_zeros_are_styled(views) -> None:  # type: ignore[no-untyped-def]
    path, _ = views
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await _grid(pilot, "cube")
        await pilot.press("plus", "plus")  # slices 0 -> 2, like an odometer
        assert screen.source.spec.index == (2, None, None)
        grid.move_to(10, 10)  # keep the cursor's own style off the planted cells
        rendered = grid.render()
        styles = {}
        for span in rendered.spans:
            styles.setdefault(rendered.plain[span.start : span.end].strip(), []).append(span.style)
        assert any(getattr(s, "reverse", False) for s in styles["NaN"])
        assert any(getattr(s, "reverse", False) for s in styles["+Inf"])
        assert any(getattr(s, "dim", False) for s in styles["0"])
        legend = screen_text(app)
        assert "NaN ±Inf reversed" in legend and "zeros dimmed" in legend


@asynctest
async def test_jump_to_row_and_column(views) -> None:  # type: ignore[no-untyped-def]
    path, state = views
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await _grid(pilot, "cube")
        await pilot.press("g", *"45,27", "enter")
        await pilot.pause()
        assert grid.cursor == (45, 27)
        plan = grid.plan
        assert plan.top <= 45 < plan.top + plan.rows_shown
        assert plan.left <= 27 < plan.left + plan.cols_shown
        value = state["cube"][0, 45, 27].item()
        text = screen_text(app)
        assert f"[0, 45, 27] = {FLOAT32(value)}" in text
        assert f"exact {exact_text(value, 'float32')}" in text
        await pilot.press("g", *"-1", "enter")  # a row alone; negative counts from the end
        await pilot.pause()
        assert grid.cursor == (CUBE_SHAPE[1] - 1, 27)
        await pilot.press("g", *"99,0", "enter")  # out of range: refused, box stays open
        await pilot.pause()
        assert grid.cursor == (CUBE_SHAPE[1] - 1, 27)
        await pilot.press("escape")
        assert app.focused is grid
        await pilot.press("escape")
        assert not isinstance(app.screen, ValuesScreen)


@asynctest
async def test_vector_bf16_and_scalar_show_exact_values(views) -> None:  # type: ignore[no-untyped-def]
    path, state = views
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await _grid(pilot, "vector")
        assert grid.plan.col_labels == ["value"]
        await pilot.press("ctrl+end")
        assert grid.cursor == (19_999, 0)
        assert shown_values(grid)[(19_999, 0)][0] == FLOAT32(state["vector"][-1].item())
        await pilot.press("escape")
        screen, grid = await _grid(pilot, "half.weight")
        texts = [cell[0] for cell in shown_values(grid).values()]
        assert texts == ["0.100097656", "-0.333984375", "0.000999450684", "65536"]
        await pilot.press("escape")
        screen, grid = await _grid(pilot, "scalar")
        assert list(shown_values(grid).values()) == [("2.5", "normal")]
        assert not app.screen.check_action("jump", ())


@asynctest
async def test_edited_tensor_shows_the_session_values(views) -> None:  # type: ignore[no-untyped-def]
    path, _ = views
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        await wait_for(pilot, lambda: app.workspace.session is not None, timeout=60)
        tree.reveal("block.1.weight")
        await pilot.press("z")
        await wait_for(pilot, lambda: app.workspace.is_edited("block.1.weight"))
        screen, grid = await _grid(pilot, "block.1.weight")
        assert {cell for cell in shown_values(grid).values()} == {("0", "zero")}
        assert "edited values" in screen_text(app)


@asynctest
async def test_a_4_gib_tensor_opens_instantly(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    write_huge_safetensors(path)
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        await wait_for(pilot, lambda: app.screen.torch_ready, timeout=60)
        started = time.monotonic()
        screen, grid = await _grid(pilot, "big")
        source = screen.source
        rows_visible = grid.size.height - 1
        assert source.rows_fetched <= 2 * rows_visible  # the window, not 65,536 rows
        assert source.cells_fetched <= 2 * rows_visible * grid.size.width
        await pilot.press("g", *f"{HUGE_SHAPE[0] - 1},{HUGE_SHAPE[1] - 1}", "enter")
        await pilot.pause()
        assert grid.cursor == (HUGE_SHAPE[0] - 1, HUGE_SHAPE[1] - 1)
        assert shown_values(grid)[grid.cursor] == ("0", "zero")
        assert source.rows_fetched <= 4 * rows_visible
        assert time.monotonic() - started < 10  # reading 4 GiB would take far longer


def test_slice_spec_parses_steps_and_refuses() -> None:
    shape = (3, 4, 5, 6)
    spec = SliceSpec.default(shape)
    assert spec.text() == "[0, 0, :, :]" and spec.count() == 12
    assert SliceSpec.default((64, 1, 3)).text() == "[:, 0, :]"  # not a 1×3 slice
    assert SliceSpec.default((1, 1, 5)).text() == "[0, :, :]"
    assert SliceSpec.default((7,)).text() == "[:]" and SliceSpec.default(()).text() == "[]"
    assert SliceSpec.parse("2, 1", shape).text() == "[2, 1, :, :]"  # padded with ':'
    assert SliceSpec.parse("[-1, 3, :, :]", shape).index == (2, 3, None, None)
    assert SliceSpec.parse("1, :, 2, :", shape).shown_dims == (1, 3)
    stepped = spec.step(5)
    assert stepped.index == (1, 1, None, None) and stepped.number() == 5
    assert spec.step(-1).index == (2, 3, None, None)  # wraps around
    for bad in ("[5, 0, :, :]", "x", "0, 0, 0, 0, 0", ":, :, :, 0", "2"):
        with pytest.raises(ValueError):
            SliceSpec.parse(bad, shape)
