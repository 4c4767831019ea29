"""The detail pane's Optimizer section, on the demo checkpoint (Adam state with param_names;
model.blocks.0 is in no param group)."""

from __future__ import annotations

from pathlib import Path

import tui_edit_helpers
from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.widgets.describe_optimizer import optimizer_section
from tui_edit_helpers import ready
from tui_helpers import SIZE, asynctest, detail_text, navigate, plain, wait_for, write_safetensors

demo_once = tui_edit_helpers.demo_once
demo = tui_edit_helpers.demo

Q1 = "model.blocks.1.attn.q_proj.weight"
Q0 = "model.blocks.0.attn.q_proj.weight"


async def _shown(pilot, name: str) -> str:  # type: ignore[no-untyped-def]
    await navigate(pilot, name)
    await wait_for(pilot, lambda: "Optimizer" in detail_text(pilot.app))
    return detail_text(pilot.app)


@asynctest
async def test_parameter_shows_its_adam_state(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        text = await _shown(pilot, Q0)  # the tree is walked downwards: blocks.0 first
        assert "not in any param group — probably frozen" in text
        assert "lr " not in text
        text = await _shown(pilot, Q1)
        assert "lr             0.003" in text and "Adam-like" in text
        assert "step           60" in text
        assert "‖exp_avg‖" in text and "‖exp_avg_sq‖" in text
        assert "step size" in text and "update/weight" in text
        assert "not in any param group" not in text
        await wait_for(
            pilot, lambda: "Statistics" in detail_text(app) and "bins" in detail_text(app)
        )
        section = app.screen.query_one("#detail-optimizer")
        assert section.region.y < SIZE[1] - 1  # on screen below the statistics, not scrolled off


@asynctest
async def test_state_tensor_names_its_parameter(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        text = await _shown(pilot, "optimizer.state.0.exp_avg")
        assert "parameter      model." in text and "Adam-like" in text


@asynctest
async def test_no_section_without_an_optimizer(tmp_path: Path) -> None:
    path = tmp_path / "plain.safetensors"
    write_safetensors(path)
    app = ParamtuiApp(open_checkpoint(str(path)))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await navigate(pilot, "layers.3.weight")
        await wait_for(pilot, lambda: "mean" in detail_text(app))
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "Optimizer" not in detail_text(app)


def test_ambiguous_mapping_is_one_line() -> None:
    text = plain(optimizer_section(None, "w", "state not tied to names: 3 tensors, 4 indices"))
    assert "state not tied to names: 3 tensors, 4 indices" in text
    assert optimizer_section(None, "w") is None
