"""A live nn.Module as an index (core.live), edited in place (edits.live), saved as a
state_dict (io.save_live) and browsed in the TUI (paramtui.browse's app)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import paramtui
from paramtui.analysis.stats.compute import tensor_stats
from paramtui.core import access
from paramtui.core.errors import SaveRefused
from paramtui.core.live import FORMAT, index_from_module
from paramtui.core.model import BUFFER, GRADIENT, OPTIMIZER_STATE, PARAMETER
from paramtui.edits.ops import EditRefused, Freeze, MakePrunePermanent, Prune, Zero
from paramtui.edits.session import EditSession
from paramtui.io.save import save
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.confirm import ChoiceScreen
from paramtui.tui.screens.save_as import SaveAsScreen
from tui_edit_helpers import main, ready, settled, stats_of
from tui_helpers import SIZE, asynctest, navigate, wait_for


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc1 = nn.Linear(6, 8)
        self.norm = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.norm(self.fc1(x))))


def trained(frozen_head_bias: bool = True) -> tuple[Net, torch.optim.Optimizer]:
    """One Adam step; head.bias frozen (no grad, no optimizer state)."""
    model = Net()
    if frozen_head_bias:
        model.head.bias.requires_grad_(False)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    model(torch.randn(5, 6)).pow(2).sum().backward()
    opt.step()
    return model, opt


def test_index_lists_params_buffers_grads_and_optimizer_state() -> None:
    model, opt = trained()
    index = index_from_module(model, opt)
    assert index.format == FORMAT
    w = index.tensor("fc1.weight")
    assert (w.role, w.role_recorded, w.requires_grad, w.has_grad) == (PARAMETER, True, True, True)
    assert w.device == "cpu" and w.shape == (8, 6) and w.location is None
    bias = index.tensor("head.bias")
    assert (bias.requires_grad, bias.has_grad) == (False, False)
    assert index.tensor("norm.running_mean").role == BUFFER
    assert index.tensor("grads.fc1.weight").role == GRADIENT
    assert "grads.head.bias" not in index.tensors
    state = index.tensor("optimizer.state.fc1.weight.exp_avg")
    assert state.role == OPTIMIZER_STATE
    assert "optimizer.state.head.bias.exp_avg" not in index.tensors
    assert index.metadata["optimizer.param_groups.0.lr"].preview == "0.01"
    assert index.param_groups[0].params == ("fc1.weight", "fc1.bias", "norm.weight",
                                            "norm.bias", "head.weight")  # fmt: skip


def test_live_tensors_are_views_of_the_model_memory() -> None:
    model, opt = trained()
    index = index_from_module(model, opt)
    assert access.unviewable_reason(index.tensor("fc1.weight")) is None
    view = access.open_tensor(index.tensor("fc1.weight"))
    assert view.data_ptr() == model.fc1.weight.data_ptr() and not view.requires_grad
    grad = access.open_tensor(index.tensor("grads.fc1.weight"))
    assert torch.equal(grad, model.fc1.weight.grad)
    exp_avg = access.open_tensor(index.tensor("optimizer.state.fc1.weight.exp_avg"))
    assert torch.equal(exp_avg, opt.state[model.fc1.weight]["exp_avg"])
    chunks = list(access.iter_chunks(index.tensor("fc1.weight"), 10))
    assert torch.equal(torch.cat(chunks), model.fc1.weight.detach().reshape(-1))


def test_stats_of_a_live_gradient_equal_torch() -> None:
    model, _ = trained()
    index = index_from_module(model)
    grad = model.fc1.weight.grad.double()
    stats = tensor_stats("grads.fc1.weight", access.open_tensor(index.tensor("grads.fc1.weight")))
    assert stats.mean == pytest.approx(grad.mean().item(), rel=1e-6)
    assert stats.l2 == pytest.approx(grad.norm().item(), rel=1e-6)
    assert stats.max == pytest.approx(grad.max().item())


def test_session_edits_the_live_model_and_undo_restores_it() -> None:
    model, _ = trained(frozen_head_bias=False)
    before = model.fc1.weight.detach().clone()
    session = EditSession(index_from_module(model))
    session.apply(Zero("fc1.weight"))
    assert torch.count_nonzero(model.fc1.weight) == 0
    session.apply(Freeze("head"))
    assert not model.head.weight.requires_grad and not model.head.bias.requires_grad
    session.apply(Prune("fc1.bias", amount=0.5))
    assert int((model.fc1.bias == 0).sum()) == 4
    session.undo()
    session.undo()
    assert model.head.weight.requires_grad and torch.count_nonzero(model.fc1.bias) == 8
    session.undo()
    assert torch.equal(model.fc1.weight, before)
    session.redo()
    assert torch.count_nonzero(model.fc1.weight) == 0
    with pytest.raises(EditRefused, match="live nn.Module"):
        session.apply(MakePrunePermanent("fc1.weight"))


def test_save_writes_a_state_dict_that_loads_strictly(tmp_path: Path) -> None:
    model, _ = trained(frozen_head_bias=False)
    session = EditSession(index_from_module(model))
    session.apply(Zero("fc1.weight"))
    session.apply(Freeze("head.weight"))
    report = save(session, str(tmp_path / "live.pth"))
    assert report.verified and report.checks == len(model.state_dict())
    fresh = Net()
    fresh.load_state_dict(torch.load(report.path, weights_only=True), strict=True)
    assert torch.count_nonzero(fresh.fc1.weight) == 0
    assert torch.equal(fresh.head.weight, model.head.weight)
    reopened = paramtui.open_checkpoint(report.path)
    assert reopened.tensor("head.weight").requires_grad is False
    with pytest.raises(SaveRefused, match="pth"):
        save(session, str(tmp_path / "live.safetensors"))


@asynctest
async def test_browse_freeze_zero_undo_and_save(tmp_path: Path) -> None:
    model, opt = trained(frozen_head_bias=False)
    before = model.fc1.weight.detach().clone()
    app = ParamtuiApp(index_from_module(model, opt))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert FORMAT in str(app.sub_title)
        await navigate(pilot, "fc1.weight")
        shown = await stats_of(pilot, "fc1.weight")  # computed on the live tensor
        assert shown.mean == pytest.approx(before.double().mean().item(), rel=1e-6)
        await pilot.press("z")
        await settled(pilot)
        assert torch.count_nonzero(model.fc1.weight) == 0
        await pilot.press("u")
        await settled(pilot)
        assert torch.equal(model.fc1.weight, before)
        await pilot.press("r")
        await settled(pilot)
        await navigate(pilot, "head")
        await pilot.press("f")
        await settled(pilot)
        assert model.head.weight.requires_grad is False and not model.head.bias.requires_grad
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveAsScreen))
        dialog = app.screen
        assert isinstance(dialog, SaveAsScreen)
        dest = str(tmp_path / "browsed.pth")
        dialog.destination = lambda: dest  # type: ignore[method-assign]
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog.report is not None, timeout=30)
        assert dialog.report is not None and dialog.report.verified
        assert not main(pilot).workspace.dirty
    fresh = Net()
    fresh.load_state_dict(torch.load(dest, weights_only=True), strict=True)
    assert torch.count_nonzero(fresh.fc1.weight) == 0


def test_browse_is_exported_lazily() -> None:
    from paramtui.tui.live import browse

    assert paramtui.browse is browse
    assert paramtui.index_from_module is index_from_module


@asynctest
async def test_quitting_a_live_browse_can_undo_everything() -> None:
    model, opt = trained(frozen_head_bias=False)
    before = model.fc1.weight.detach().clone()
    app = ParamtuiApp(index_from_module(model, opt))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await navigate(pilot, "fc1.weight")
        await pilot.press("z")
        await settled(pilot)
        assert torch.count_nonzero(model.fc1.weight) == 0
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("r")
        await wait_for(pilot, lambda: not app.is_running, timeout=10)
    assert torch.equal(model.fc1.weight, before)
