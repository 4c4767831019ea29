"""The value grid on tensors stored in pieces: GGUF windows dequantize only the blocks they
show, sharded DCP windows copy their cells out of the chunks they meet; the `v` view shows both
(dequantized values say so) and explains what it cannot show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sources_helpers import (
    gguf_lib,
    oracle,
    write_gguf,
    write_sharded,
    write_undecodable_gguf,
)

import paramtui
from paramtui.core import pieces
from paramtui.core.formats import dcp_load
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.values import ValuesScreen
from paramtui.tui.views.region_source import RegionSource
from paramtui.tui.views.value_format import formatter
from paramtui.tui.widgets.value_grid import ValueGrid
from tui_helpers import SIZE, asynctest, screen_text, wait_for
from tui_view_helpers import open_view


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    write_gguf(tmp_path / "m.gguf")
    return tmp_path / "m.gguf"


@pytest.fixture
def sharded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict]:
    """A sharded DCP folder (one file per chunk) and its whole tensors; nothing may assemble a
    whole tensor with torch's DCP reader."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a whole tensor was loaded")

    monkeypatch.setattr(dcp_load, "load_tensors", refuse)
    folder = tmp_path / "ckpt"
    return folder, write_sharded(folder, one_file=False)


def box_of(box: list[tuple[int, int]]) -> tuple[slice, ...]:
    return tuple(slice(a, b) for a, b in box)


@pytest.mark.parametrize(
    ("name", "box", "blocks"),
    [
        ("blk.0.q4k.weight", [(1, 4), (250, 300)], 3 * 2),  # across a 256-value block edge
        ("blk.0.q4k.weight", [(0, 6), (0, 512)], 6 * 2),
        ("blk.0.q4.weight", [(1, 2), (3, 8), (30, 33)], 5 * 2),  # 32-value blocks
        ("blk.0.q4.weight", [(0, 2), (7, 8), (0, 96)], 2 * 3),
        ("blk.0.q6k.weight", [(2, 3), (255, 256)], 1),
        ("blk.0.q8.weight", [(5, 5), (0, 4)], 0),  # empty
    ],
)
def test_gguf_windows_dequantize_only_their_blocks(
    gguf_file: Path, monkeypatch: pytest.MonkeyPatch, name: str, box: Any, blocks: int
) -> None:
    gguf = gguf_lib()
    info = paramtui.open_checkpoint(gguf_file).tensor(name)
    reader = pieces.region_reader(info)
    seen: list[int] = []
    real = gguf.quants.dequantize

    def counting(data: np.ndarray, qtype: Any) -> np.ndarray:
        seen.append(data.size // gguf.GGML_QUANT_SIZES[qtype][1])
        return real(data, qtype)

    monkeypatch.setattr(gguf.quants, "dequantize", counting)
    got = reader.read(box)
    assert sum(seen) == blocks
    assert got.dtype == torch.float32
    assert torch.equal(got, oracle(gguf_file, name)[box_of(box)])
    assert (reader.dtype, reader.exact) == ("float32", False)


@pytest.mark.parametrize(
    ("name", "box"),
    [
        ("grid", [(10, 25), (5, 12)]),  # meets six tiles
        ("grid", [(0, 37), (0, 29)]),
        ("grid", [(36, 37), (28, 29)]),
        ("wide", [(1, 3), (0, 4), (2, 4)]),
        ("half", [(0, 9), (4, 6)]),
        ("count", [(2, 2), (0, 3)]),  # empty
    ],
)
def test_dcp_windows_match_the_whole_tensor(sharded: Any, name: str, box: Any) -> None:
    folder, state = sharded
    reader = pieces.region_reader(paramtui.open_checkpoint(folder).tensor(name))
    got = reader.read(box)
    torch.testing.assert_close(got, state[name][box_of(box)], rtol=0, atol=0, equal_nan=True)
    assert reader.exact and reader.dtype == str(state[name].dtype).removeprefix("torch.")


async def _grid(pilot: Any, name: str) -> tuple[ValuesScreen, ValueGrid]:
    screen = await open_view(pilot, name, "v", ValuesScreen)
    assert isinstance(screen, ValuesScreen)
    await wait_for(pilot, lambda: screen.source is not None)
    await pilot.pause()
    return screen, screen.query_one(ValueGrid)


def shown(grid: ValueGrid) -> dict[tuple[int, int], str]:
    plan = grid.plan
    assert plan is not None
    return {
        (plan.top + i, plan.left + j): text
        for i, line in enumerate(plan.cells)
        for j, (text, _) in enumerate(line)
    }


@asynctest
async def test_value_grid_shows_dequantized_gguf_values(gguf_file: Path) -> None:
    want = oracle(gguf_file, "blk.0.q4k.weight")
    app = ParamtuiApp(paramtui.open_checkpoint(gguf_file))
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await _grid(pilot, "blk.0.q4k.weight")
        assert isinstance(screen.source, RegionSource)
        cells = shown(grid)
        assert len(cells) > 50
        for (r, c), text in cells.items():
            assert text == formatter("float32")(want[r, c].item())
        await pilot.press("g", *"5,300", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "dequantized from Q4_K to float32" in text
        assert f"[5, 300] = {formatter('float32')(want[5, 300].item())}" in text
        assert "bits" not in text  # a dequantized value has no stored bit pattern


@asynctest
async def test_value_grid_shows_sharded_dcp_values_and_slices(sharded: Any) -> None:
    folder, state = sharded
    app = ParamtuiApp(paramtui.open_checkpoint(folder))
    async with app.run_test(size=SIZE) as pilot:
        screen, grid = await _grid(pilot, "grid")
        assert isinstance(screen.source, RegionSource)
        for (r, c), text in shown(grid).items():
            assert text == formatter("float32")(state["grid"][r, c].item())
        await pilot.press("g", *"30,20", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "[30, 20] = +Inf" in text and "bits 0x7f800000" in text
        assert "read from 9 saved chunks" in text
        await pilot.press("escape")
        screen, grid = await _grid(pilot, "wide")
        await pilot.press("plus")
        await pilot.pause()
        assert screen.source is not None and screen.source.spec.index == (1, None, None)
        cells = shown(grid)
        assert cells
        for (r, c), text in cells.items():
            assert text == formatter("float64")(state["wide"][1, r, c].item())


@asynctest
async def test_value_grid_says_why_a_gguf_type_cannot_be_shown(tmp_path: Path) -> None:
    write_undecodable_gguf(tmp_path / "k.gguf")
    app = ParamtuiApp(paramtui.open_checkpoint(tmp_path / "k.gguf"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_view(pilot, "w", "v", ValuesScreen)
        expected = "its values cannot be shown: this version of the gguf package cannot"
        await wait_for(pilot, lambda: expected in screen_text(app))
        assert screen.source is None
