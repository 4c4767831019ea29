"""The screen at 80x24: the Footer keeps Quit and Help in view whatever else it shows, and
dialogs show their whole answer. Checkpoints are built at test time."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn.utils import prune

from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.prune import PruneScreen
from tui_helpers import asynctest, navigate, screen_text, wait_for, wait_for_tree

SMALL = (80, 24)


def footer_line(app: ParamtuiApp) -> str:
    return screen_text(app).rstrip("\n").splitlines()[-1]


def pruned_checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Linear(4, 2))
    prune.l1_unstructured(net[0], "weight", amount=0.5)
    path = tmp_path / "pruned.pth"
    torch.save(net.state_dict(), path)
    return path


@asynctest
async def test_footer_keeps_quit_and_help_at_80_columns(tmp_path: Path) -> None:
    app = ParamtuiApp(open_checkpoint(pruned_checkpoint(tmp_path)))
    async with app.run_test(size=SMALL) as pilot:
        await wait_for_tree(pilot)
        first = footer_line(app)
        assert "q Quit" in first and "f1 Help" in first and "Make permanent" not in first
        await navigate(pilot, "0.weight_orig")  # where P applies
        await pilot.pause()
        assert footer_line(app) == first  # the same keys from the first paint on
        await pilot.press("slash", "w", "e", "enter")  # a filter adds `esc Clear`
        await wait_for(pilot, lambda: "esc Clear" in footer_line(app))
        shown = footer_line(app)
        assert shown.rstrip().endswith("q Quit f1 Help")


@asynctest
async def test_prune_preview_shows_the_resulting_sparsity_at_80_columns(tmp_path: Path) -> None:
    """A tied partner's row names its partner; the sparsity column stays whole."""
    torch.manual_seed(0)
    net = torch.nn.ModuleDict(
        {"embedding": torch.nn.Embedding(64, 64), "output_head": torch.nn.Linear(64, 64, False)}
    )
    net["output_head"].weight = net["embedding"].weight
    path = tmp_path / "tied.pth"
    torch.save(net.state_dict(), path)
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SMALL) as pilot:
        await wait_for_tree(pilot)
        await wait_for(pilot, lambda: app.workspace.session is not None, timeout=60)
        await navigate(pilot, "output_head.weight")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PruneScreen))
        screen = app.screen
        assert isinstance(screen, PruneScreen)
        await wait_for(pilot, lambda: screen.preview is not None)
        await pilot.pause()
        text = screen_text(app)
        assert text.count("0.0% → 30.0%") == 3, text  # two rows and the overall line


class ScaledLinear(torch.nn.Linear):  # a user's class: a full-model pickle names it
    pass


def banner_rows(app: ParamtuiApp) -> int:
    banner = app.screen.query_one("#notes")
    return banner.size.height if banner.display else 0


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
@asynctest
async def test_torchscript_and_sparse_files_get_no_banner(tmp_path: Path) -> None:
    from paramtui.tui.screens.file_notes import FileNotesScreen

    scripted = tmp_path / "scripted.pt"
    torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))).save(
        str(scripted)
    )
    sparse = tmp_path / "sparse.pth"
    torch.save({"adjacency": torch.eye(5).to_sparse(), "w": torch.ones(3)}, sparse)
    for path in (scripted, sparse):
        app = ParamtuiApp(open_checkpoint(path))
        async with app.run_test(size=SMALL) as pilot:
            await wait_for_tree(pilot)
            assert banner_rows(app) == 0, screen_text(app)
            if path == scripted:  # the full list is one key away
                await pilot.press("i")
                await wait_for(pilot, lambda: isinstance(pilot.app.screen, FileNotesScreen))
                assert "__torch__.torch.nn.modules.container.Sequential" in screen_text(app)


@asynctest
async def test_banner_never_takes_more_than_two_rows(tmp_path: Path) -> None:
    from dataclasses import replace

    path = tmp_path / "full_model.pth"
    torch.save(torch.nn.Sequential(ScaledLinear(3, 4), torch.nn.ReLU()), path)
    index = open_checkpoint(path)
    assert len(index.notes) == 1 and "ScaledLinear" in index.notes[0]
    many = replace(index, notes=[*index.notes, *(f"note {i}: " + "long " * 30 for i in range(4))])
    for shown in (index, many):
        app = ParamtuiApp(shown)
        async with app.run_test(size=SMALL) as pilot:
            await wait_for_tree(pilot)
            assert 1 <= banner_rows(app) <= 2
            text = screen_text(app)
            assert "ScaledLinear" in text and "i: all notes" in text
