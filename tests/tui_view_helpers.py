"""Checkpoints and Pilot helpers for the tests of the closer views (histogram, values, module
table, health scan). Plain module: no fixtures here."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from safetensors.torch import save_file
from textual.pilot import Pilot

from paramtui.tui.app import ParamtuiApp
from tui_helpers import wait_for, wait_for_tree

CUBE_SHAPE = (4, 50, 30)
HUGE_SHAPE = (1 << 16, 1 << 14)  # float32: 4 GiB
PLANTED = {(2, 3, 4): float("nan"), (2, 5, 6): float("inf"), (2, 7, 2): float("-inf")}


def write_views_file(path: Path) -> dict[str, torch.Tensor]:
    """A 3-D cube with NaN/±Inf/zeros planted in slice 2, a wide 1-D vector, a bf16 matrix,
    a scalar, and a small module of four layers (for the table)."""
    gen = torch.Generator().manual_seed(11)
    cube = torch.randn(CUBE_SHAPE, generator=gen)
    for where, value in PLANTED.items():
        cube[where] = value
    cube[2, 0, :] = 0.0
    state = {
        "cube": cube,
        "vector": torch.randn(20_000, generator=gen),
        "half.weight": torch.tensor([[0.1, -1 / 3], [1e-3, 65504.0]], dtype=torch.bfloat16),
        "scalar": torch.tensor(2.5, dtype=torch.float64),
    }
    for i, scale in enumerate((1.0, 10.0, 0.1, 3.0)):
        state[f"block.{i}.weight"] = torch.randn(8, 8, generator=gen) * scale
    state["block.2.weight"][0, 0] = float("nan")
    save_file(state, path)
    return state


def write_huge_safetensors(path: Path) -> None:
    """A 4 GiB float32 tensor whose bytes are a hole in a sparse file (they read as zeros):
    writing the header and truncating costs nothing, reading it all would cost 4 GiB."""
    rows, cols = HUGE_SHAPE
    header = {"big": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [0, rows * cols * 4]}}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        f.truncate(8 + len(raw) + rows * cols * 4)


async def open_view(pilot: Pilot[int], path: str, key: str, screen_type: type) -> object:
    """Reveal `path` in the tree, press `key`, wait until a `screen_type` screen is on top."""
    app = pilot.app
    assert isinstance(app, ParamtuiApp)
    tree = await wait_for_tree(pilot)
    assert tree.reveal(path)
    await pilot.pause()
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, screen_type))
    return app.screen
