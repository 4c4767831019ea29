"""paramtui.snapshot: a few real training steps of the demo model, written with gradients,
trainability, roles and optimizer state by name; read back by plain torch and by paramtui."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import paramtui
from paramtui.analysis.optimizer.map import (
    FROZEN_WITH_STATE,
    NO_STATE,
    NOT_IN_OPTIMIZER,
    map_optimizer,
    optimizer_summary,
)
from paramtui.core import access, training
from paramtui.core.errors import SaveRefused
from paramtui.demo import demo_model
from paramtui.demo.build import FROZEN, language_batch, make_optimizer, successor_table
from paramtui.io.snapshot import snapshot

STEPS = 3


def trained_demo() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """The demo's own recipe (frozen block 0, Adam in two groups), a few steps, grads kept."""
    torch.manual_seed(0)
    model = demo_model()
    model.get_submodule(FROZEN).requires_grad_(False)
    optimizer = make_optimizer(model)
    gen = torch.Generator().manual_seed(0)
    table = successor_table(gen, model.cfg.vocab_size)
    for _ in range(STEPS):
        inputs, targets = language_batch(gen, table)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten()).backward()
        optimizer.step()
    return model, optimizer


@pytest.fixture(scope="module")
def demo_snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Path]:
    model, optimizer = trained_demo()
    path = tmp_path_factory.mktemp("snap") / "snapshot.pth"
    assert snapshot(model, path, optimizer) == str(path)
    return model, optimizer, path


def test_plain_torch_load_weights_only_reads_it(demo_snapshot: Any) -> None:
    model, optimizer, path = demo_snapshot
    data = torch.load(path, weights_only=True)
    assert data["paramtui_snapshot"] == 1
    assert data["state_dict"].keys() == model.state_dict().keys()
    fresh = demo_model()
    fresh.load_state_dict(data["state_dict"])  # strict: the state_dict is complete
    name = "blocks.1.mlp.fc1.weight"
    assert torch.equal(data["grads"][name], model.get_parameter(name).grad)
    assert data["requires_grad"]["blocks.0.ln1.weight"] is False
    assert data["roles"]["stem.norm.running_mean"] == "buffer"
    assert data["devices"]["tok_emb.weight"] == "cpu"
    state = data["optimizer"]["state"][name]
    assert torch.equal(state["exp_avg"], optimizer.state[model.get_parameter(name)]["exp_avg"])
    assert data["optimizer"]["param_groups"][0]["params"][0] == "stem.conv.weight"


def test_index_records_roles_trainability_and_gradients(demo_snapshot: Any) -> None:
    model, _, path = demo_snapshot
    index = paramtui.open_checkpoint(path)
    assert training.is_snapshot(index)
    assert any("paramtui snapshot" in note for note in index.notes)
    trained = index.tensor("state_dict.blocks.1.attn.q_proj.weight")
    assert trained.role == "parameter" and trained.role_recorded
    assert trained.requires_grad is True and trained.has_grad is True
    frozen = index.tensor("state_dict.blocks.0.attn.q_proj.weight")
    assert frozen.requires_grad is False and frozen.has_grad is False
    mask = index.tensor("state_dict.causal_mask")
    assert mask.role == "buffer" and mask.role_recorded and mask.has_grad is None
    assert index.tensor("state_dict.stem.norm.running_var").role == "buffer"
    grad = index.tensor("grads.blocks.1.attn.q_proj.weight")
    assert grad.role == "gradient" and grad.role_recorded and grad.shape == trained.shape
    live = model.get_parameter("blocks.1.attn.q_proj.weight").grad
    assert torch.equal(access.open_tensor(grad), live)
    assert "grads.blocks.0.attn.q_proj.weight" not in index.tensors
    assert (
        index.tensor("grads.lm_head.weight").storage_id
        == index.tensor("grads.tok_emb.weight").storage_id
    )  # the tied weight's one gradient, stored once


def test_optimizer_state_is_shown_by_parameter_name(demo_snapshot: Any) -> None:
    model, optimizer, path = demo_snapshot
    index = paramtui.open_checkpoint(path)
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped and omap.method == "state names"
    blocks0 = [n for n, _ in model.named_parameters() if n.startswith("blocks.0.")]
    assert list(omap.not_in_optimizer) == [f"state_dict.{n}" for n in blocks0]
    entry = omap.param("state_dict.blocks.2.mlp.fc2.weight")
    assert entry is not None and entry.group == 0 and entry.hyper["weight_decay"] == 0.01
    assert entry.state["exp_avg"] == "optimizer.state.blocks.2.mlp.fc2.weight.exp_avg"
    tied = omap.param("state_dict.lm_head.weight")
    assert tied is not None and tied.name == "tok_emb.weight" and tied.group == 1
    summary = optimizer_summary(index, "state_dict.blocks.2.mlp.fc2.weight")
    assert summary is not None and summary.kind == "adam" and summary.step == STEPS
    live = optimizer.state[model.get_parameter("blocks.2.mlp.fc2.weight")]
    assert summary.norms["exp_avg_sq"] == pytest.approx(float(live["exp_avg_sq"].norm()), rel=1e-6)
    assert summary.step_size is not None and summary.step_size.max is not None
    assert 0 < summary.step_size.max < 0.003 * 10  # Adam's steps are of the order of lr
    frozen = omap.param("state_dict.blocks.0.mlp.fc1.weight")
    assert frozen is not None and frozen.flags == (NOT_IN_OPTIMIZER,)


def test_frozen_with_state_and_trainable_without_state_are_flagged(tmp_path: Path) -> None:
    model, optimizer = trained_demo()
    model.get_parameter("blocks.3.mlp.fc1.weight").requires_grad_(False)  # after it had state
    fresh = torch.nn.Parameter(torch.zeros(64))
    model.ln_f.register_parameter("shift", fresh)  # trainable, in the optimizer, never stepped
    optimizer.add_param_group({"params": [("ln_f.shift", fresh)], "lr": 0.5})
    index = paramtui.open_checkpoint(snapshot(model, tmp_path / "s.pth", optimizer))
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped
    frozen = omap.param("state_dict.blocks.3.mlp.fc1.weight")
    assert frozen is not None and frozen.flags == (FROZEN_WITH_STATE,)
    shift = omap.param("state_dict.ln_f.shift")
    assert shift is not None and shift.flags == (NO_STATE,) and shift.group == 2
    assert shift.hyper["lr"] == 0.5
    assert index.tensor("state_dict.ln_f.shift").has_grad is False


def test_snapshot_without_optimizer_and_overwrite_rules(tmp_path: Path) -> None:
    model, _ = trained_demo()
    path = tmp_path / "s.pth"
    snapshot(model, path)
    index = paramtui.open_checkpoint(path)
    assert map_optimizer(index) is None
    assert index.tensor("state_dict.ln_f.weight").has_grad is True
    before = path.read_bytes()
    with pytest.raises(SaveRefused):
        snapshot(model, path)
    assert path.read_bytes() == before
    model.zero_grad(set_to_none=True)
    snapshot(model, path, overwrite=True)
    index = paramtui.open_checkpoint(path)
    assert index.tensor("state_dict.ln_f.weight").has_grad is False
    assert not [n for n in index.tensors if n.startswith("grads.")]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_are_saved_where_they_live(tmp_path: Path) -> None:
    model, optimizer = trained_demo()
    model.cuda()
    optimizer = make_optimizer(model)
    inputs = torch.randint(0, 64, (4, 16), device="cuda")
    model(inputs).square().mean().backward()
    optimizer.step()
    index = paramtui.open_checkpoint(snapshot(model, tmp_path / "gpu.pth", optimizer))
    assert index.tensor("state_dict.ln_f.weight").device == "cuda:0"
    assert index.tensor("grads.ln_f.weight").device == "cuda:0"
    assert index.tensor("optimizer.state.ln_f.weight.exp_avg").device == "cuda:0"
    data = torch.load(tmp_path / "gpu.pth", weights_only=True, map_location="cpu")
    assert torch.equal(data["grads"]["ln_f.weight"], model.ln_f.weight.grad.cpu())


def test_recorded_gradients_cannot_be_edited(tmp_path: Path) -> None:
    from paramtui.edits import EditRefused, EditSession, Zero

    model = torch.nn.Linear(3, 2)
    model(torch.ones(1, 3)).sum().backward()
    path = tmp_path / "snap.pt"
    paramtui.snapshot(model, path)
    session = EditSession(paramtui.open_checkpoint(path))
    grad_name = next(n for n in session.names() if n.startswith("grads."))
    with pytest.raises(EditRefused, match="gradient"):
        session.apply(Zero(grad_name))
