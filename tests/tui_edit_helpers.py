"""Fixtures and Pilot helpers for the TUI editing tests (test_tui_edit.py, test_tui_save.py).

Test modules import the fixtures by name, which makes pytest use them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from rich.style import Style
from textual.pilot import Pilot
from textual.widgets import Static

from checkpoints import flatten_loaded, training_checkpoint
from paramtui.analysis.stats.compute import TensorStats
from paramtui.tui.screens.main import MainScreen
from paramtui.tui.widgets.module_tree import ModuleTree
from tui_helpers import plain, wait_for, wait_for_tree

FC1 = "model.blocks.1.mlp.fc1.weight"  # 256×64 float32, trained


_BUILT: list[Path] = []  # test modules each register the fixture: build the demo only once


@pytest.fixture(scope="session")
def demo_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from paramtui.demo import build_demo

    if not _BUILT:
        target = tmp_path_factory.mktemp("demo") / "demo.pth"
        _BUILT.append(Path(build_demo(str(target), progress=print)))
    return _BUILT[0]


@pytest.fixture
def demo(demo_once: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.pth"
    shutil.copy(demo_once, path)
    return path


@pytest.fixture
def train_pth(tmp_path: Path) -> Path:
    path = tmp_path / "train.pth"
    torch.save(training_checkpoint(), path)
    return path


async def ready(pilot: Pilot[int]) -> ModuleTree:
    """The tree is on screen and the edit session exists (torch imported)."""
    tree = await wait_for_tree(pilot)
    await wait_for(pilot, lambda: main(pilot).workspace.session is not None, timeout=60)
    return tree


def main(pilot: Pilot[int]) -> MainScreen:
    screen = pilot.app.screen_stack[0]
    assert isinstance(screen, MainScreen)
    return screen


async def settled(pilot: Pilot[int]) -> None:
    """No edit running and every worker (stats, previews) done."""
    await wait_for(pilot, lambda: not main(pilot).busy)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def stats_of(pilot: Pilot[int], name: str) -> TensorStats:
    """The statistics of `name`'s current values, once computed."""
    workspace = main(pilot).workspace
    await wait_for(pilot, lambda: workspace.stats(name) is not None)
    stats = workspace.stats(name)
    assert stats is not None
    return stats


def shown_text(widget: object) -> str:
    assert isinstance(widget, Static)
    return plain(widget.content)


def label(tree: ModuleTree, path: str) -> str:
    node = tree.node_for_path(path)
    assert node is not None, path
    return tree.render_label(node, Style(), Style()).plain


def source_value(path: Path, name: str) -> torch.Tensor:
    """What the file on disk holds for `name` (a flattened dotted name)."""
    return flat(path)[name]


def flat(path: str | Path) -> dict[str, torch.Tensor]:
    """A saved file's tensors under their dotted names (torch.load with weights_only)."""
    return flatten_loaded(torch.load(path, weights_only=True, map_location="cpu"))
