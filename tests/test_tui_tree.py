"""The module tree: requires_grad marks (recorded and in-session alike), right-aligned columns,
and the filter (Esc keeps the cursor; optimizer state matches by its parameter's name)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from rich.style import Style
from rich.text import Text
from torch import nn

from checkpoints import training_checkpoint
from paramtui import open_checkpoint
from paramtui.core.tree import build_tree, filter_paths
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.views.edit_marks import FROZEN, PARTLY_FROZEN, TRAINABLE
from paramtui.tui.views.tree_columns import fit_line
from paramtui.tui.widgets.module_tree import ModuleTree
from tui_edit_helpers import ready, settled
from tui_helpers import SIZE, asynctest, navigate, screen_text, wait_for, wait_for_tree


def label(tree: ModuleTree, path: str) -> str:
    node = tree.node_for_path(path)
    assert node is not None, path
    return tree.render_label(node, Style(), Style()).plain


def marks_of(text: str) -> set[str]:
    return {m for m in (FROZEN, PARTLY_FROZEN, TRAINABLE) if m in text}


@pytest.fixture
def train_pth(tmp_path: Path) -> Path:
    path = tmp_path / "train.pth"
    torch.save(training_checkpoint(), path)
    return path


@pytest.fixture
def frozen_on_file(train_pth: Path, tmp_path: Path) -> Path:
    """The training checkpoint with model.layers.3 frozen by `paramtui edit --freeze`."""
    out = tmp_path / "frozen.pth"
    cmd = [sys.executable, "-m", "paramtui", "edit", str(train_pth), str(out), "-q"]
    subprocess.run([*cmd, "--freeze", "model.layers.3"], check=True, capture_output=True)
    return out


@pytest.fixture
def adam_pth(tmp_path: Path) -> Path:
    """A model whose Adam state maps to names by order (state 0 is model.fc1.weight)."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 2)

    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.Adam(net.parameters())
    net.fc2(net.fc1(torch.randn(3, 4))).sum().backward()
    opt.step()
    path = tmp_path / "adam.pth"
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, path)
    return path


# -- requires_grad marks ----------------------------------------------------------------------


@asynctest
async def test_freezing_one_tensor_marks_ancestors_partly_not_frozen(train_pth: Path) -> None:
    app = ParamtuiApp(open_checkpoint(train_pth))
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        await navigate(pilot, "model.layers.3.bias")
        await pilot.press("f")
        await settled(pilot)
        assert marks_of(label(tree, "model.layers.3.bias")) == {FROZEN}
        for module in ("model.layers.3", "model.layers", "model", ""):
            assert marks_of(label(tree, module)) == {PARTLY_FROZEN}, module
        await navigate(pilot, "model.layers.3.weight")
        await pilot.press("f")
        await settled(pilot)
        assert marks_of(label(tree, "model.layers.3")) == {FROZEN}  # all its parameters now
        assert marks_of(label(tree, "model.layers")) == {PARTLY_FROZEN}


@asynctest
async def test_flags_recorded_in_the_file_mark_the_tree_as_edits_do(frozen_on_file: Path) -> None:
    app = ParamtuiApp(open_checkpoint(frozen_on_file))
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)  # before torch and the edit session, too
        await navigate(pilot, "model.layers.3.bias")
        assert marks_of(label(tree, "model.layers.3.bias")) == {FROZEN}
        assert marks_of(label(tree, "model.layers.3")) == {FROZEN}
        assert marks_of(label(tree, "model.layers")) == {PARTLY_FROZEN}
        assert marks_of(label(tree, "model.layers.2")) == set()
        await ready(pilot)
        await pilot.press("F")  # unfreeze one of the two recorded ones
        await settled(pilot)
        assert marks_of(label(tree, "model.layers.3.bias")) == {TRAINABLE}
        assert marks_of(label(tree, "model.layers.3")) == {PARTLY_FROZEN}


def test_partial_mark_is_in_the_legend() -> None:
    from paramtui.tui.views.edit_marks import LEGEND

    assert PARTLY_FROZEN in [glyph for glyph, _ in LEGEND]


def test_what_the_tree_marks_frozen_is_what_freeze_may_touch() -> None:
    from dataclasses import replace

    from paramtui.edits.checks import refusal
    from paramtui.edits.ops import Freeze
    from paramtui.tui.views.grad_marks import can_require_grad
    from tui_helpers import synthetic_index

    base = next(iter(synthetic_index(layers=1, experts=1, per_expert=1).tensors.values()))
    variants = [
        replace(base, role=role, dtype=dtype, name=name)
        for role in ("parameter", "buffer", "optimizer state", "gradient", "other")
        for dtype in ("float32", "bfloat16", "int64", "bool", "complex64", "mystery")
        for name in ("a.weight", "bn.num_batches_tracked")
    ]
    for info in variants:
        allowed = refusal(Freeze(info.name), info, exact=True, has_bytes=False) is None
        assert can_require_grad(info) == allowed, info


# -- columns -----------------------------------------------------------------------------------


def test_fit_line_right_aligns_and_cuts_the_name_not_the_columns() -> None:
    line = fit_line(Text("embed"), [Text("66  264 B")], 30)
    assert line.cell_len == 30 and line.plain.endswith("66  264 B")
    long = fit_line(Text("bias_ih_l0_reverse_and_more"), [Text("6 float32  24 B")], 24)
    assert long.cell_len == 24 and long.plain.endswith("6 float32  24 B")
    assert "…" in long.plain
    narrow = fit_line(Text("weight"), [Text("6×6 float32  144 B"), Text("6×6 float32")], 20)
    assert narrow.plain.endswith("6×6 float32") and narrow.plain.startswith("weight")


@asynctest
async def test_sizes_end_in_one_column_at_every_depth_and_with_markers(train_pth: Path) -> None:
    app = ParamtuiApp(open_checkpoint(train_pth))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await navigate(pilot, "model.layers.3.weight")

        def size_ends() -> set[int]:
            lefts = [r.split("▏")[0].rstrip() for r in screen_text(app).splitlines() if "▏" in r]
            return {len(left) for left in lefts if left.endswith("B")}  # B, KiB, MiB

        before = size_ends()
        assert len(before) == 1, before
        await pilot.press("f")
        await settled(pilot)
        assert size_ends() == before  # markers take room from the names, not from the sizes


# -- the filter --------------------------------------------------------------------------------


@asynctest
async def test_escape_clears_the_filter_and_keeps_the_cursor(train_pth: Path) -> None:
    app = ParamtuiApp(open_checkpoint(train_pth))
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        await pilot.press("slash", *"layers.7.b", "enter")
        await wait_for(pilot, lambda: app.screen.applied_filter == "layers.7.b")
        await navigate(pilot, "model.layers.7.bias")
        await pilot.press("escape")
        assert not tree.filtered
        assert tree.cursor_node is not None and tree.cursor_node.data is not None
        assert tree.cursor_node.data.path == "model.layers.7.bias"
        assert tree.node_for_path("model.layers.6") is not None  # the whole tree is back


def test_filter_matches_optimizer_state_by_its_parameter(adam_pth: Path) -> None:
    from paramtui.tui.tasks.filter import state_owners
    from paramtui.tui.workspace import Opened

    opened = Opened(open_checkpoint(adam_pth))
    root = build_tree(opened.tensors())
    keep = filter_paths(root, "fc1.w", state_owners(opened))
    assert "optimizer.state.0.exp_avg" in keep and "model.fc1.weight" in keep
    assert "optimizer.state.1.exp_avg" not in keep  # fc1.bias's state
    assert "optimizer.state.0.exp_avg" not in filter_paths(root, "fc1.w")


@asynctest
async def test_typing_a_parameter_name_shows_its_optimizer_state(adam_pth: Path) -> None:
    app = ParamtuiApp(open_checkpoint(adam_pth))
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        await pilot.press("slash", *"fc2.bias", "enter")
        await wait_for(pilot, lambda: app.screen.applied_filter == "fc2.bias")
        assert tree.node_for_path("optimizer.state.3.exp_avg_sq") is not None


# -- the split -------------------------------------------------------------------------------


@asynctest
async def test_brackets_move_the_split_and_the_width_lasts_the_session(train_pth: Path) -> None:
    from paramtui.tui.widgets.detail_pane import DetailPane

    app = ParamtuiApp(open_checkpoint(train_pth))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_tree(pilot)
        pane = app.screen.query_one(DetailPane)
        assert pane.outer_size.width == 50
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert pane.outer_size.width == 40 and app.split.percent == 40
        await pilot.press(*["right_square_bracket"] * 20)
        await pilot.pause()
        assert pane.outer_size.width == 80  # at most four fifths


@asynctest
async def test_the_config_sets_the_split(train_pth: Path) -> None:
    from paramtui.core.config import Config
    from paramtui.tui.widgets.detail_pane import DetailPane

    app = ParamtuiApp(open_checkpoint(train_pth), Config(detail_width=30))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for_tree(pilot)
        assert app.screen.query_one(DetailPane).outer_size.width == 36  # 30 % of 120
    app = ParamtuiApp(open_checkpoint(train_pth), Config(detail_width=70))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_tree(pilot)
        assert app.screen.query_one(DetailPane).outer_size.width == 70
