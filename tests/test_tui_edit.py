"""Pilot tests of editing in the TUI: freeze, zero, prune (dialog), undo/redo, the edit log,
make-permanent, and the pure parts behind them (the prune form, the marks).

Checkpoints are built at test time: the demo (trained once per test session, then copied) and
the small training checkpoint of tests/checkpoints.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

import tui_edit_helpers
from paramtui import open_checkpoint
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.confirm import ChoiceScreen
from paramtui.tui.screens.edit_log import EditLogScreen
from paramtui.tui.screens.main import MainScreen
from paramtui.tui.screens.prune import PruneScreen
from tui_edit_helpers import (
    FC1,
    label,
    main,
    ready,
    settled,
    shown_text,
    source_value,
    stats_of,
)
from tui_helpers import SIZE, asynctest, detail_text, navigate, wait_for

# The shared fixtures, used by name: the demo (built once per session) and a training file.
demo_once = tui_edit_helpers.demo_once
demo = tui_edit_helpers.demo
train_pth = tui_edit_helpers.train_pth


@asynctest
async def test_freeze_subtree_marks_tree_and_pane(train_pth: Path) -> None:
    app = ParamtuiApp(open_checkpoint(train_pth))
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        await navigate(pilot, "model.layers")
        assert "❄" not in label(tree, "model.layers")
        await pilot.press("f")
        await settled(pilot)
        assert "❄" in label(tree, "model.layers")
        assert "◒" in label(tree, "model")  # partly frozen: model.norm and others are not
        assert "❄" not in label(tree, "model.norm")
        assert "frozen in this session" in detail_text(app)
        await navigate(pilot, "model.layers.3.weight")
        text = detail_text(app)
        assert "frozen (edited; requires_grad=False)" in text
        session = main(pilot).workspace.session
        assert session is not None and session.requires_grad("model.layers.3.weight") is False
        assert session.requires_grad("model.norm.weight") is not False
        await pilot.press("F")  # unfreeze just this tensor
        await settled(pilot)
        assert "∇" in label(tree, "model.layers.3.weight")
        assert "trainable (edited; requires_grad=True)" in detail_text(app)


@asynctest
async def test_zero_tensor_then_undo_and_redo(demo: Path) -> None:
    original = source_value(demo, FC1)
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        await navigate(pilot, FC1)
        before = await stats_of(pilot, FC1)
        assert before.zero_fraction < 0.01
        await pilot.press("z")  # one tensor, 16k elements: no question asked
        await settled(pilot)
        after = await stats_of(pilot, FC1)
        assert after.zeros == after.count == original.numel()
        assert "16,384 (100.00%)" in detail_text(app)
        assert "●" in label(tree, FC1) and "●" in label(tree, "model.blocks")
        assert "edited in this session" in detail_text(app)
        await pilot.press("u")
        await settled(pilot)
        undone = await stats_of(pilot, FC1)
        assert undone.zeros == before.zeros and undone.mean == before.mean
        assert "●" not in label(tree, FC1)
        await pilot.press("r")
        await settled(pilot)
        assert (await stats_of(pilot, FC1)).zeros == original.numel()
        assert "●" in label(tree, FC1)


async def prune_dialog_on_fc1(pilot: Pilot[int], app: ParamtuiApp) -> PruneScreen:
    await ready(pilot)
    await navigate(pilot, FC1)
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(app.screen, PruneScreen))
    assert isinstance(app.screen, PruneScreen)
    return app.screen


@asynctest
async def test_prune_dialog_previews_then_applies(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await prune_dialog_on_fc1(pilot, app)
        box = dialog.query_one("#prune-value", Input)
        box.value = ""
        await pilot.press(*"30%")
        await wait_for(pilot, lambda: dialog.preview is not None)
        preview = dialog.preview
        assert preview is not None and preview.op.amount == pytest.approx(0.3)
        assert preview.sparsity_after == pytest.approx(0.3, abs=1e-3)
        shown = shown_text(dialog.query_one("#prune-preview"))
        assert "0.0% → 30.0%" in shown
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await settled(pilot)
        stats = await stats_of(pilot, FC1)
        assert stats.zero_fraction == pytest.approx(0.3, abs=1e-3)
        session = main(pilot).workspace.session
        assert session is not None and session.log[-1].summary.startswith("prune 30%")


@asynctest
async def test_enter_on_the_structured_box_applies_and_space_toggles(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await prune_dialog_on_fc1(pilot, app)
        structured = dialog.query_one("#prune-structured", Checkbox)
        structured.focus()
        await pilot.press("space")
        assert structured.value is True
        await pilot.press("space")
        assert structured.value is False
        await pilot.press("enter")  # the button says "Apply (enter)"
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await settled(pilot)
        session = main(pilot).workspace.session
        assert session is not None and session.log[-1].summary.startswith("prune 30%")


@asynctest
async def test_prune_dialog_reports_invalid_input_and_cancels(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        dialog = await prune_dialog_on_fc1(pilot, app)
        dialog.query_one("#prune-value", Input).value = "150%"
        await pilot.pause()
        assert dialog.op is None
        assert "[0, 1]" in shown_text(dialog.query_one("#prune-error"))
        await pilot.press("enter")  # refused: the dialog stays
        assert app.screen is dialog
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        session = main(pilot).workspace.session
        assert session is not None and not session.log


@asynctest
async def test_zero_of_a_module_asks_first(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await navigate(pilot, "model.blocks.2")
        await pilot.press("z")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        question = app.screen
        assert isinstance(question, ChoiceScreen) and "tensors in 'model.blocks.2'" in question.body
        await pilot.press("n")
        await settled(pilot)
        session = main(pilot).workspace.session
        assert session is not None and not session.log
        await pilot.press("z", "y")
        await settled(pilot)
        assert len(session.log) == 1
        assert session.is_edited("model.blocks.2.mlp.fc2.weight")
        assert session.is_edited("model.blocks.2.ln1.weight")
        assert not session.is_edited("model.blocks.1.ln1.weight")


@asynctest
async def test_zero_question_states_what_will_be_done(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await navigate(pilot, "model")
        await pilot.press("z")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        question = app.screen
        assert isinstance(question, ChoiceScreen)
        body = " ".join(question.body.split())
        # The same numbers the edit log reports once it is applied (buffers are left alone).
        assert "72 tensors (+1 tied) in 'model' to zero: 205,888 elements become zero" in body
        assert "4 left alone" in body and "model.causal_mask: it is a buffer" in body
        await pilot.press("y")
        await settled(pilot)
        session = main(pilot).workspace.session
        assert session is not None
        assert session.log[-1].summary.startswith("zero model: 72 tensors (+1 tied), 205,888")


def notification_texts(app: ParamtuiApp) -> str:
    return "\n".join(n.message for n in app._notifications)


@asynctest
async def test_refused_edit_keys_say_why(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await navigate(pilot, FC1)
        await pilot.press("P")
        await settled(pilot)
        assert "no <name>_orig + <name>_mask pair" in notification_texts(app)
        await navigate(pilot, "model.stem.norm.running_mean")
        await pilot.press("f")
        await pilot.pause()
        assert "Freeze does not apply to 'model.stem.norm.running_mean'" in notification_texts(app)
        assert "parameters only" in notification_texts(app)
        await pilot.press("F")
        await pilot.pause()
        assert "Unfreeze does not apply" in notification_texts(app)
        session = main(pilot).workspace.session
        assert session is not None and not session.log


@asynctest
async def test_keys_are_dimmed_where_they_do_not_apply(train_pth: Path) -> None:
    app = ParamtuiApp(open_checkpoint(train_pth))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        screen = main(pilot)
        assert screen.check_action("undo", ()) is None  # nothing to undo yet
        assert screen.check_action("redo", ()) is None
        await navigate(pilot, "model.bn.num_batches_tracked")
        assert screen.check_action("zero", ()) is None
        assert screen.check_action("prune", ()) is None
        await navigate(pilot, "model.layers.2.weight")
        assert screen.check_action("freeze", ()) is True
        assert screen.check_action("zero", ()) is True


@asynctest
async def test_edit_log_lists_applied_and_undone(demo: Path) -> None:
    app = ParamtuiApp(open_checkpoint(demo))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await navigate(pilot, FC1)
        await pilot.press("z")
        await settled(pilot)
        await pilot.press("f")
        await settled(pilot)
        await pilot.press("u")
        await settled(pilot)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, EditLogScreen))
        text = shown_text(app.screen.query_one("#log-body"))
        assert f"1. ✓ zero {FC1}" in text
        assert f"2. ↶ undone  freeze {FC1}" in text
        assert "1 applied, 1 undone" in text
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


@asynctest
async def test_make_prune_permanent_renames_in_the_tree(tmp_path: Path) -> None:
    from torch.nn.utils import prune

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Linear(4, 2))
    prune.l1_unstructured(net[0], "weight", amount=0.5)
    path = tmp_path / "pruned.pth"
    torch.save(net.state_dict(), path)
    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        tree = await ready(pilot)
        screen = main(pilot)
        await navigate(pilot, "0")
        assert screen.check_action("make_permanent", ()) is True
        await navigate(pilot, "1")
        assert screen.check_action("make_permanent", ()) is None  # P says why if pressed
        tree.reveal("0")
        await pilot.pause()
        await pilot.press("P")
        await settled(pilot)
        await wait_for(pilot, lambda: tree.reveal("0.weight"))
        assert not tree.reveal("0.weight_orig")
        assert "●" in label(tree, "0.weight")
        await navigate(pilot, "0.weight")
        stats = await stats_of(pilot, "0.weight")
        assert stats.zeros == 12  # half of the 4×6 weights, as torch's mask says
        assert "created by an edit" in detail_text(app)


# -- the pure parts: form parsing, scopes, marks, texts ----------------------------------------


def test_prune_form_parses_fractions_and_refuses_nonsense(tmp_path: Path) -> None:
    from paramtui.core.tree import build_tree
    from paramtui.edits.ops import EditRefused
    from paramtui.tui.views.prune_form import (
        FormError,
        PruneForm,
        build_op,
        parse_amount,
        scope_choices,
    )

    assert parse_amount("30%") == pytest.approx(0.3) and parse_amount(" 0.25 ") == 0.25
    with pytest.raises(FormError):
        parse_amount("thirty")
    from safetensors.torch import save_file

    save_file({"a.w": torch.ones(2, 2), "a.b": torch.ones(2)}, tmp_path / "s.safetensors")
    index = open_checkpoint(tmp_path / "s.safetensors")
    root = build_tree(index.tensors.values())
    tensor_node, module_node = root.find("a.w"), root.find("a")
    assert tensor_node is not None and module_node is not None
    keys = [(c.key, c.target, c.scope) for c in scope_choices(tensor_node)]
    assert keys == [("tensor", "a.w", "tensor"), ("each", "a", "tensor"), ("global", "a", "global")]
    assert [c.key for c in scope_choices(module_node)] == ["each", "global"]
    each, glob = scope_choices(module_node)
    op = build_op(PruneForm("threshold", "1e-3", glob))
    assert (op.target, op.threshold, op.scope) == ("a", 1e-3, "global")
    op = build_op(PruneForm("amount", "50%", each, structured=True, dim="1", norm="2"))
    assert (op.amount, op.structured_dim, op.norm) == (0.5, 1, 2.0)
    with pytest.raises(EditRefused):  # structured pruning has no global form
        build_op(PruneForm("amount", "50%", glob, structured=True))
    with pytest.raises(FormError):
        build_op(PruneForm("amount", "50%", each, structured=True, dim="rows"))


def test_marks_fill_slots_for_tensors_and_modules() -> None:
    from paramtui.tui.views.edit_marks import EDITED, FROZEN, TRAINABLE, EditMarks

    marks = EditMarks.build(3, ["a.b.w"], {"a.b.w": False, "c.w": True}, dirty=True)
    assert marks.tensor_slots("a.b.w") == (
        (EDITED, "module-tree--edited"),
        (FROZEN, "module-tree--frozen"),
    )
    assert marks.tensor_slots("c.w")[1] == (TRAINABLE, "module-tree--trainable")
    assert marks.module_slots("a")[0] is not None and marks.module_slots("c")[0] is None
    assert marks.module_slots("")[1] == (FROZEN, "module-tree--frozen")  # frozen wins
    assert marks.count_under("a") == (1, 1, 0) and marks.count_under("ab") == (0, 0, 0)
    assert EditMarks().tensor_slots("a.b.w") == (None, None) and not EditMarks().any
