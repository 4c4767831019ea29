"""Pilot tests of saving from the TUI: save-as, overwrite confirmation, safetensors refusals
and their options, saving over the open file, and quitting with unsaved edits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

import tui_edit_helpers
from checkpoints import storage_bytes
from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.confirm import ChoiceScreen
from paramtui.tui.screens.main import MainScreen
from paramtui.tui.screens.save_as import SaveAsScreen
from tui_edit_helpers import (
    FC1,
    flat,
    main,
    ready,
    settled,
    shown_text,
    stats_of,
)
from tui_helpers import SIZE, asynctest, navigate, wait_for

# The shared fixtures, used by name: the demo checkpoint (trained once per test session).
demo_once = tui_edit_helpers.demo_once
demo = tui_edit_helpers.demo


async def zero_then_save_as(pilot: Pilot[int], app: ParamtuiApp) -> SaveAsScreen:
    """Zero FC1, then open the save-as dialog."""
    await ready(pilot)
    await navigate(pilot, FC1)
    await pilot.press("z")
    await settled(pilot)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, SaveAsScreen))
    assert isinstance(app.screen, SaveAsScreen)
    return app.screen


@asynctest
async def test_save_as_writes_a_loadable_verified_copy(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await zero_then_save_as(pilot, app)
        dest = dialog.destination()
        assert dest == str(demo.with_name("demo.edited.pth"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.report is not None, timeout=30)
        assert dialog.report is not None and dialog.report.verified
        assert "verified ✓" in shown_text(dialog.query_one("#save-status"))
        await pilot.press("enter")  # Close
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert not main(pilot).workspace.dirty
    edited = flat(dest)
    assert torch.count_nonzero(edited[FC1]) == 0
    original = flat(demo)
    for name, tensor in original.items():
        if name != FC1:
            assert storage_bytes(edited[name]) == storage_bytes(tensor), name


@asynctest
async def test_enter_on_a_check_box_saves_and_space_toggles(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await zero_then_save_as(pilot, app)
        untie = dialog.query_one("#save-untie", Checkbox)
        untie.focus()
        await pilot.press("space")
        assert untie.value is True
        await pilot.press("space")
        assert untie.value is False
        await pilot.press("enter")  # the button says "Save (enter)"
        await wait_for(pilot, lambda: dialog.report is not None, timeout=30)
        assert untie.value is False
        assert dialog.report is not None and dialog.report.verified


@asynctest
async def test_overwriting_needs_confirmation(demo: Path, tmp_path: Path) -> None:
    existing = tmp_path / "taken.pth"
    existing.write_bytes(b"precious")
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await zero_then_save_as(pilot, app)
        dialog.query_one("#save-path", Input).value = str(existing)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("enter")  # Cancel has the focus: Enter alone destroys nothing
        await wait_for(pilot, lambda: app.screen is dialog)
        assert existing.read_bytes() == b"precious"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: dialog.report is not None, timeout=30)
    assert existing.read_bytes() != b"precious"
    assert torch.count_nonzero(flat(existing)[FC1]) == 0


@asynctest
async def test_safetensors_refusal_is_shown_and_options_fix_it(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveAsScreen))
        dialog = app.screen
        assert isinstance(dialog, SaveAsScreen)
        dest = str(demo.with_suffix(".safetensors"))
        dialog.query_one("#save-path", Input).value = dest
        await pilot.press("enter")
        status = dialog.query_one("#save-status")
        await wait_for(pilot, lambda: "Cannot save it this way" in shown_text(status))
        assert not os.path.exists(dest)
        dialog.query_one("#save-untie").value = True  # type: ignore[attr-defined]
        dialog.query_one("#save-tensors-only").value = True  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.report is not None, timeout=30)
    assert os.path.exists(dest)


@asynctest
async def test_quit_with_unsaved_edits_asks(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await navigate(pilot, FC1)
        await pilot.press("z")
        await settled(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.is_running
        await pilot.press("q", "d")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_code == 0


@asynctest
async def test_save_over_the_source_reopens_it(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await navigate(pilot, FC1)
        await pilot.press("z")
        await settled(pilot)
        first = main(pilot).workspace
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveAsScreen))
        dialog = app.screen
        assert isinstance(dialog, SaveAsScreen)
        dialog.query_one("#save-path", Input).value = str(demo)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: dialog.report is not None, timeout=30)
        assert dialog.report is not None and dialog.report.verified, dialog.report
        await pilot.press("enter")
        await wait_for(pilot, lambda: main(pilot).workspace is not first)
        await ready(pilot)
        await navigate(pilot, FC1)
        assert (await stats_of(pilot, FC1)).zero_fraction == 1.0
        assert not main(pilot).workspace.dirty


@asynctest
async def test_quit_can_save_first_then_quits(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await navigate(pilot, FC1)
        await pilot.press("z")
        await settled(pilot)
        await pilot.press("q", "s")  # "Save a copy…"
        await wait_for(pilot, lambda: isinstance(app.screen, SaveAsScreen))
        dialog = app.screen
        assert isinstance(dialog, SaveAsScreen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.report is not None, timeout=30)
        assert app.is_running  # the report stays on screen until it is closed
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.is_running)
    assert torch.count_nonzero(flat(demo.with_name("demo.edited.pth"))[FC1]) == 0


@asynctest
async def test_a_name_ending_in_a_slash_saves_a_sharded_folder(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await zero_then_save_as(pilot, app)
        folder = demo.parent / "sharded"
        dialog.query_one("#save-path", Input).value = f"{folder}/"
        await pilot.pause()
        assert "sharded safetensors folder" in shown_text(dialog.query_one("#save-format"))
        dialog.query_one("#save-untie").value = True  # type: ignore[attr-defined]
        dialog.query_one("#save-tensors-only").value = True  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.report is not None, timeout=30)
        assert dialog.report is not None and dialog.report.files
        assert "model.safetensors.index.json" in shown_text(dialog.query_one("#save-status"))
    weight_map = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    assert len(set(weight_map.values())) == len(dialog.report.files)
    assert torch.count_nonzero(load_file(folder / weight_map[FC1])[FC1]) == 0


@asynctest
async def test_the_config_picks_the_proposed_format(demo: Path) -> None:
    from paramtui.core.config import Config

    app = ParamtuiApp(open_checkpoint(demo), Config(save_format="safetensors"))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await zero_then_save_as(pilot, app)
        assert dialog.destination() == str(demo.with_name("demo.edited.safetensors"))
        assert "→ safetensors" in shown_text(dialog.query_one("#save-format"))
