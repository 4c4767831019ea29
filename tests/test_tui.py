"""Pilot tests: open real checkpoints built at test time, drive the TUI with keys, check state."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from rich.style import Style
from textual import events

from checkpoints import training_checkpoint
from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp, run_app
from paramtui.tui.screens.help import HelpScreen
from paramtui.tui.widgets.filter_input import FilterInput
from paramtui.tui.widgets.module_tree import module_label
from tui_helpers import (
    SIZE,
    asynctest,
    detail_text,
    navigate,
    synthetic_index,
    wait_for,
    wait_for_tree,
    write_safetensors,
)


@pytest.fixture
def st_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.safetensors"
    write_safetensors(path)
    return path


@pytest.fixture
def pth_path(tmp_path: Path) -> Path:
    path = tmp_path / "train.pth"
    torch.save(training_checkpoint(), path)
    return path


def app_for(path: Path) -> ParamtuiApp:
    return ParamtuiApp(open_checkpoint(path))


@asynctest
async def test_tree_shows_modules_in_natural_order(st_path: Path) -> None:
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        assert [n.data.name for n in tree.root.children] == ["embed", "layers", "lm_head"]
        await navigate(pilot, "layers")
        await pilot.press("right")
        layers = tree.node_for_path("layers")
        assert layers is not None and layers.is_expanded
        assert [n.data.name for n in layers.children] == [str(i) for i in range(12)]
        line = tree.render_label(layers, Style(), Style()).plain
        assert line.split() == ["▼", "layers", "864", "3.4", "KiB"]


@asynctest
async def test_tensor_details_and_statistics(st_path: Path) -> None:
    state = write_safetensors(st_path)  # same seed: the same tensors as the file
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        await navigate(pilot, "lm_head.weight")
        await wait_for(pilot, lambda: app.workspace.stats("lm_head.weight") is not None)
        await pilot.pause()
        text = detail_text(app)
        assert "[16, 8]" in text and "float32" in text
        assert "not recorded" in text  # safetensors records no device
        stats = app.workspace.stats("lm_head.weight")
        expected = state["lm_head.weight"].double()
        assert stats.mean == pytest.approx(expected.mean().item(), rel=1e-6, abs=1e-9)
        assert stats.max == pytest.approx(expected.max().item())
        assert f"{stats.max:.6g}" in text  # and the pane shows it


@asynctest
async def test_bf16_statistics_appear(st_path: Path) -> None:
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        await navigate(pilot, "embed.weight")
        await wait_for(pilot, lambda: app.workspace.stats("embed.weight") is not None)
        assert app.workspace.stats("embed.weight").count == 16 * 8
        assert "bfloat16" in detail_text(app)


@asynctest
async def test_pth_shows_devices_ties_roles_and_metadata(pth_path: Path) -> None:
    app = app_for(pth_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        root_text = detail_text(app)
        assert "epoch = 3" in root_text and "hparams.name = 'tiny'" in root_text
        await navigate(pilot, "model.head.weight")
        text = detail_text(app)
        assert "tied with model.embed.weight" in text
        assert "saved on   cpu" in text
        await navigate(pilot, "optimizer")
        assert "param_groups.0.lr = 0.001" in detail_text(app)


@asynctest
async def test_module_aggregate(st_path: Path) -> None:
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        await navigate(pilot, "layers")
        text = detail_text(app)
        assert re.search(r"tensors\s+24\b", text)  # the key column is as wide as its longest key
        assert "float32 3.4 KiB (100.0%)" in text
        assert "Statistics" not in text  # modules have no statistics section


@asynctest
async def test_filter_with_slash_then_escape(st_path: Path) -> None:
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        await pilot.press("slash", *"head")
        assert isinstance(app.focused, FilterInput)
        await wait_for(pilot, lambda: app.screen.applied_filter == "head")
        assert [n.data.name for n in tree.root.children] == ["lm_head"]
        await pilot.press("enter")
        assert app.focused is tree
        await pilot.press("escape")
        assert not tree.filtered
        assert [n.data.name for n in tree.root.children] == ["embed", "layers", "lm_head"]


@asynctest
async def test_filter_keeps_keys_typed_in_one_burst(st_path: Path) -> None:
    """Over SSH "/head" can arrive in one read: the letters must land in the filter box."""
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        for key, char in [("slash", "/"), ("h", "h"), ("e", "e"), ("a", "a"), ("d", "d")]:
            app.post_message(events.Key(key, char))
        await wait_for(pilot, lambda: app.screen.applied_filter == "head")
        assert app.screen.query_one(FilterInput).value == "head"
        await pilot.press("escape")
        app.post_message(events.Key("slash", "/"))
        app.post_message(events.Key("q", "q"))  # typed into the box, not the quit binding
        await wait_for(pilot, lambda: app.screen.applied_filter == "q")
        assert app.is_running


@asynctest
async def test_filter_is_case_insensitive_and_opens_matches(st_path: Path) -> None:
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        await pilot.press("slash", *"S.10.BI", "enter")
        await wait_for(pilot, lambda: app.screen.applied_filter == "S.10.BI")
        assert tree.node_for_path("layers.10.bias") is not None  # opened down to the match
        assert tree.node_for_path("layers.1") is None


@asynctest
async def test_help_opens_and_closes(st_path: Path) -> None:
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


@asynctest
async def test_q_quits(st_path: Path) -> None:
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0
        assert not app.is_running


@asynctest
async def test_expand_and_collapse_all(st_path: Path) -> None:
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        await navigate(pilot, "layers")
        await pilot.press("e")
        assert tree.node_for_path("layers.11.bias") is not None
        await pilot.press("E")
        layers = tree.node_for_path("layers")
        assert layers is not None and not layers.is_expanded


@asynctest
async def test_holding_down_computes_only_where_the_cursor_rests(
    st_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paramtui.analysis.stats.compute as stats_module

    computed: list[str] = []
    real = stats_module.compute_stats

    def counting(info, **kwargs):  # type: ignore[no-untyped-def]
        computed.append(info.name)
        return real(info, **kwargs)

    monkeypatch.setattr(stats_module, "compute_stats", counting)
    app = app_for(st_path)
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        await navigate(pilot, "layers")
        await pilot.press("e")
        target_line = tree.cursor_line + 20
        for _ in range(20):  # a burst of key repeats, as a held key sends them
            app.post_message(events.Key("down", None))
        await wait_for(pilot, lambda: tree.cursor_line == target_line)
        resting = tree.cursor_node.data.path
        assert resting.startswith("layers.") and "." in resting[len("layers.") :]
        await wait_for(pilot, lambda: app.workspace.stats(resting) is not None)
        assert computed[-1] == resting
        assert len(computed) <= 3  # not one per row passed over


@asynctest
async def test_100k_tensors_build_nodes_only_on_expand() -> None:
    app = ParamtuiApp(synthetic_index(layers=50, experts=250, per_expert=8))
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        # root + model -> layers (a single-child chain, opened) + the 50 layers
        assert tree.created_count == 1 + 2 + 50
        await navigate(pilot, "model.layers.7")
        await pilot.press("right")  # opens 7, and its lone child mlp, and mlp's lone experts
        assert tree.created_count == 53 + 1 + 1 + 250
        assert tree.node_for_path("model.layers.7.mlp.experts.3") is not None
        assert tree.node_for_path("model.layers.8.mlp") is None


@asynctest
async def test_names_are_data_not_markup(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "odd.safetensors"
    save_file({"[bold red]x[/].w": torch.ones(2), "a\nb": torch.zeros(1)}, path)
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        labels = [str(n.label) for n in tree.root.children]
        assert any(label.startswith("[bold red]x[/]") for label in labels)
        assert any(label.startswith("a\\x0ab") for label in labels)


def test_module_label_puts_the_numbers_in_right_aligned_columns() -> None:
    from paramtui.core.tree import build_tree

    index = synthetic_index(layers=1, experts=2, per_expert=1)
    root = build_tree(index.tensors.values())
    mlp = root.find("model.layers.0.mlp")
    assert mlp is not None
    label = module_label(mlp, width=30)
    assert label.cell_len == 30 and label.plain.startswith("mlp ")
    assert label.plain.split() == ["mlp", "32", "64", "B"]
    assert label.plain.endswith("  64 B")


def test_run_app_reports_unusable_files_without_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "bogus.pth"
    bogus.write_bytes(b"this is not a checkpoint at all")
    assert run_app(str(bogus)) == 2
    err = capsys.readouterr().err
    assert "bogus.pth" in err and "Traceback" not in err
    assert run_app(str(tmp_path / "missing.pth")) == 2


def test_tui_import_and_indexing_leave_torch_for_later(st_path: Path) -> None:
    """The first screen must not wait for torch: nothing on the way to it imports torch."""
    code = (
        "import sys; import paramtui.tui.app as a; from paramtui import open_checkpoint;"
        f"a.ParamtuiApp(open_checkpoint({str(st_path)!r}));"
        "print('torch' in sys.modules, any(m.startswith(('paramtui.edits', 'paramtui.io')) "
        "for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]  # nor anything of editing or saving
