"""The ctrl+p command palette: paramtui's own commands (the screen's actions, go to tensor)."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette

from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.commands import BEST_TENSORS, GoToTensor, candidates
from paramtui.tui.screens.module_table import ModuleTableScreen
from tui_helpers import SIZE, asynctest, synthetic_index, wait_for, wait_for_tree, write_safetensors


def _app(tmp_path: Path) -> ParamtuiApp:
    path = tmp_path / "tiny.safetensors"
    write_safetensors(path)
    return ParamtuiApp(open_checkpoint(path))


@asynctest
async def test_palette_goes_to_a_tensor_typed_in_part(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        tree = await wait_for_tree(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"3.bia")
        await wait_for(
            pilot,
            lambda: (
                "layers.3.bias"
                in str(app.screen.query_one("CommandList").get_option_at_index(0).prompt)
            ),
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
        await wait_for(
            pilot,
            lambda: tree.cursor_node is not None and tree.cursor_node.data.path == "layers.3.bias",
        )
        assert app.focused is tree


@asynctest
async def test_palette_runs_an_action_of_the_screen(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"module table")
        await wait_for(
            pilot,
            lambda: (
                "Module table"
                in str(app.screen.query_one("CommandList").get_option_at_index(0).prompt)
            ),
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModuleTableScreen))


@asynctest
async def test_go_to_tensor_returns_the_best_few_of_100k_names() -> None:
    index = synthetic_index(layers=100, experts=100, per_expert=10)
    assert len(index.tensors) == 100_000
    app = ParamtuiApp(index)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        provider = GoToTensor(app.screen)
        hits = [hit async for hit in provider.search("layers.42.experts.7.w3")]
        assert 0 < len(hits) <= BEST_TENSORS
        assert hits[0].text == "model.layers.42.mlp.experts.7.w3"
    assert candidates(["a.b.c", "abc", "c.b.a"], "AC") == ["a.b.c", "abc"]
