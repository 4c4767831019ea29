"""A module's detail pane: its training state and its tensors, without opening the table."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.console import Console

import paramtui
from checkpoints import tiny_net
from paramtui.core.tree import build_tree
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.views.module_summary import MAX_TENSORS, tensor_table, training_rows
from tui_helpers import asynctest, navigate, screen_text, wait_for_tree


def snapshot_file(tmp_path: Path) -> Path:
    """A paramtui snapshot: requires_grad and gradients recorded (layers.0 frozen, no grads)."""
    net = tiny_net()
    net.head(net.norm(net.layers[3](net.embed(torch.tensor([1, 2, 3]))))).sum().backward()
    path = tmp_path / "snap.pth"
    paramtui.snapshot(net, str(path))
    return path


def node_of(path: Path, name: str):  # type: ignore[no-untyped-def]
    root = build_tree(paramtui.open_checkpoint(path))
    for part in name.split("."):
        root = next(c for c in root.children if c.name == part)
    return root


def test_training_rows_count_trainable_frozen_buffers_and_gradients(tmp_path: Path) -> None:
    path = snapshot_file(tmp_path)
    layers = node_of(path, "state_dict.layers")
    assert dict(training_rows(layers, {})) == {
        "parameters": "24: 22 trainable · 2 ❄ frozen",
        "gradients": "recorded for 2 of 24 parameters",  # only layers.3 was in the graph
    }
    frozen_now = {"state_dict.layers.3.weight": False}
    assert dict(training_rows(layers, frozen_now))["parameters"] == "24: 21 trainable · 3 ❄ frozen"
    bn = dict(training_rows(node_of(path, "state_dict.bn"), {}))
    assert bn["buffers"] == "3" and bn["parameters"].startswith("2: 2 trainable")


def test_the_tensor_table_lists_the_first_tensors(tmp_path: Path) -> None:
    layers = node_of(snapshot_file(tmp_path), "state_dict.layers")
    console = Console(width=60, record=True)
    table = tensor_table(layers)
    assert table is not None
    console.print(table)
    lines = console.export_text().splitlines()
    assert lines[0].split()[:3] == ["0.weight", "6×6", "float32"]
    assert len(lines) == MAX_TENSORS + 1 and "12 more" in lines[-1]


@asynctest
async def test_the_module_pane_shows_them(tmp_path: Path) -> None:
    app = ParamtuiApp(paramtui.open_checkpoint(snapshot_file(tmp_path)))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_tree(pilot)
        await navigate(pilot, "state_dict.layers")
        await pilot.pause()
        text = screen_text(app)
        assert "24: 22 trainable · 2 ❄ frozen" in text
        assert "Tensors" in text and "0.weight" in text
