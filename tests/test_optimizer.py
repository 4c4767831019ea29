"""Optimizer state mapped to parameter names: Adam and SGD, several groups, frozen parameters,
with and without param_names; Adam's effective step size."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from optimizer_helpers import (
    adam_checkpoint,
    by_name,
    net,
    part,
    save,
    stem_names,
    train,
    trainable,
    two_groups,
)
from paramtui.analysis.optimizer.map import (
    NO_STATE,
    NOT_IN_OPTIMIZER,
    map_optimizer,
    map_optimizers,
    optimizer_summary,
)
from paramtui.core import access


def test_adam_param_names_map_every_index_to_its_parameter(tmp_path: Path) -> None:
    index = adam_checkpoint(tmp_path, two_groups(named=True))
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped and omap.method == "param_names"
    model = net()
    order = [n for n, p in model.named_parameters() if p.requires_grad and p.ndim >= 2]
    order += [n for n, p in model.named_parameters() if p.requires_grad and p.ndim < 2]
    in_groups = [p for p in omap.params if p.key is not None]
    assert [p.name for p in in_groups] == order
    assert [p.key for p in in_groups] == list(range(len(order)))
    for entry in in_groups:
        assert entry.tensor == f"model.{entry.name}"
        for leaf in ("exp_avg", "exp_avg_sq"):
            if leaf in entry.state:
                assert index.tensor(entry.state[leaf]).shape == index.tensor(entry.tensor).shape
    entries = by_name(omap)
    assert entries["body.0.weight"].group == 0 and entries["body.0.bias"].group == 1
    assert entries["body.0.weight"].hyper["weight_decay"] == 0.1
    assert entries["body.0.bias"].hyper["lr"] == 0.02
    assert entries["body.0.weight"].hyper["lr"] == 0.01
    assert entries["head.weight"].hyper["betas"] == (0.9, 0.999)


def test_frozen_and_unstepped_parameters_are_flagged(tmp_path: Path) -> None:
    omap = map_optimizer(adam_checkpoint(tmp_path, two_groups(named=True)))
    assert omap is not None
    assert list(omap.not_in_optimizer) == stem_names()
    entries = by_name(omap)
    assert (
        entries["stem.weight"].flags == (NOT_IN_OPTIMIZER,) and entries["stem.weight"].key is None
    )
    # `unused` is in a group but never had a gradient, so Adam made no state for it
    assert entries["unused.weight"].flags == (NO_STATE,) and entries["unused.weight"].state == {}
    assert entries["head.weight"].flags == ()
    assert omap.param("model.head.weight") is entries["head.weight"]
    assert omap.param(entries["head.weight"].state["exp_avg"]) is entries["head.weight"]


def test_without_param_names_frozen_parameters_are_placed_by_state_shapes(
    tmp_path: Path,
) -> None:
    omap = map_optimizer(adam_checkpoint(tmp_path, lambda m: trainable(m, named=False)))
    assert omap is not None and omap.mapped and omap.method == "order"
    want = [n for n, p in net().named_parameters() if p.requires_grad]
    assert [p.name for p in omap.params if p.key is not None] == want
    assert list(omap.not_in_optimizer) == stem_names()
    assert any("2 of the model's parameters are in no param group" in n for n in omap.notes)


def test_without_param_names_a_frozen_twin_makes_the_order_ambiguous(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8))
    model[0].requires_grad_(False)  # which of the two equal layers is in the optimizer?
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    omap = map_optimizer(
        save(tmp_path, {"model": model.state_dict(), "optimizer": opt.state_dict()})
    )
    assert omap is not None and not omap.mapped and omap.method == "none"
    assert omap.ambiguous is not None and "holds 2 parameters" in omap.ambiguous
    assert "fit more than one choice" in omap.ambiguous
    assert all(p.name is None and p.tensor is None for p in omap.params)
    assert len(omap.params) == 2 and omap.params[0].state  # state still listed by index


def test_without_param_names_all_parameters_in_model_order_map_by_order(tmp_path: Path) -> None:
    index = adam_checkpoint(tmp_path, lambda m: list(m.parameters()), freeze_stem=False)
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped and omap.method == "order"
    names = [n for n, _ in net(freeze_stem=False).named_parameters()]
    assert [p.name for p in omap.params] == names
    assert any("order" in note for note in omap.notes)
    assert omap.not_in_optimizer == ()


def test_interleaved_groups_with_stateless_parameters_stay_ambiguous(tmp_path: Path) -> None:
    index = adam_checkpoint(tmp_path, two_groups(named=False), freeze_stem=False)
    omap = map_optimizer(index)
    assert omap is not None and not omap.mapped
    assert omap.ambiguous is not None and "does not fit" in omap.ambiguous
    assert "optimizer.state.2.exp_avg" in omap.ambiguous
    # `unused` had no gradient, so no state tells which of its weight and bias is where
    assert "could be unused.weight or unused.bias" in omap.ambiguous


def test_a_float_buffer_that_looks_like_a_parameter_is_left_out_by_shapes(
    tmp_path: Path,
) -> None:
    model = net(freeze_stem=False, float_buffer=True)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    train(model, opt)
    index = save(tmp_path, {"state_dict": model.state_dict(), "optimizer": opt.state_dict()})
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped and omap.model == "state_dict"
    assert [p.name for p in omap.params if p.key is not None] == [
        n for n, _ in model.named_parameters()
    ]
    assert omap.not_in_optimizer == ("state_dict.scale",)


@pytest.mark.parametrize("named", [True, False])
def test_sgd_momentum_with_groups(tmp_path: Path, named: bool) -> None:
    model = net(freeze_stem=False)
    groups = [
        {"params": part(model, ("embed.", "stem."), named), "lr": 0.5},
        {"params": part(model, ("body.",), named), "momentum": 0.5},
        {"params": part(model, ("unused.", "head."), named)},
    ]
    opt = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    train(model, opt)
    index = save(tmp_path, {"model": model.state_dict(), "optimizer": opt.state_dict()})
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped
    assert omap.method == ("param_names" if named else "order")
    entries = by_name(omap)
    assert entries["embed.weight"].hyper["lr"] == 0.5
    assert entries["body.3.bias"].hyper["momentum"] == 0.5
    assert entries["head.bias"].hyper["momentum"] == 0.9 and entries["head.bias"].group == 2
    summary = optimizer_summary(index, "model.body.3.weight")
    assert summary is not None and summary.kind == "sgd" and summary.step_size is None
    buffer = opt.state[model.body[3].weight]["momentum_buffer"]
    assert summary.norms["momentum_buffer"] == pytest.approx(float(buffer.norm()), rel=1e-6)
    assert summary.lr == 0.1 and summary.hyper["momentum"] == 0.5


def test_adam_effective_step_size_equals_the_update_torch_made(tmp_path: Path) -> None:
    torch.manual_seed(3)
    layer = nn.Linear(40, 30)
    opt = torch.optim.Adam(layer.parameters(), lr=0.01, betas=(0.8, 0.95), eps=1e-6)
    for i in range(4):
        before = layer.weight.detach().clone()
        opt.zero_grad()
        layer(torch.randn(7, 40) * (i + 1)).pow(3).mean().backward()
        opt.step()
    update = (layer.weight.detach() - before).abs().double()
    index = save(tmp_path, {"model": layer.state_dict(), "optimizer": opt.state_dict()})
    summary = optimizer_summary(index, "model.weight")
    assert summary is not None and summary.kind == "adam" and summary.step == 4
    steps = summary.step_size
    assert steps is not None and steps.count == update.numel() and steps.nonfinite == 0
    assert steps.mean == pytest.approx(float(update.mean()), rel=1e-4)
    assert steps.max == pytest.approx(float(update.max()), rel=1e-4)
    assert steps.median == pytest.approx(float(update.median()), rel=0.03)
    assert steps.rms == pytest.approx(float(update.square().mean().sqrt()), rel=1e-4)
    state = opt.state[layer.weight]
    assert summary.norms["exp_avg"] == pytest.approx(float(state["exp_avg"].norm()), rel=1e-6)
    assert summary.norms["exp_avg_sq"] == pytest.approx(float(state["exp_avg_sq"].norm()), rel=1e-6)
    weight_rms = float(layer.weight.detach().square().mean().sqrt())
    assert summary.update_to_weight == pytest.approx(steps.rms / weight_rms, rel=1e-4)
    assert summary.to_dict()["step_size"]["max"] == steps.max


def test_step_size_is_computed_in_bounded_chunks(tmp_path: Path, monkeypatch: Any) -> None:
    from paramtui.analysis.optimizer import step

    monkeypatch.setattr(step, "CHUNK", 7)  # many uneven chunks, pieces re-paired
    seen: list[int] = []
    real = access.iter_chunks

    def spy(info: Any, chunk: int = access.DEFAULT_CHUNK) -> Iterable[torch.Tensor]:
        for piece in real(info, chunk):
            if chunk == 7:  # the step-size pass, not the norms
                seen.append(piece.numel())
            yield piece

    monkeypatch.setattr(access, "iter_chunks", spy)
    torch.manual_seed(4)
    layer = nn.Linear(9, 11)
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    layer(torch.randn(3, 9)).sum().backward()
    opt.step()
    m, v = opt.state[layer.weight]["exp_avg"], opt.state[layer.weight]["exp_avg_sq"]
    expected = 0.1 * (m.double().abs() / 0.1) / ((v.double() / 0.001).sqrt() + 1e-8)
    index = save(tmp_path, {"model": layer.state_dict(), "optimizer": opt.state_dict()})
    summary = optimizer_summary(index, "model.weight")
    assert summary is not None and summary.step_size is not None
    assert max(seen) <= 7 and sum(seen) >= 2 * 99
    assert summary.step_size.max == pytest.approx(float(expected.max()), rel=1e-9)
    assert summary.step_size.mean == pytest.approx(float(expected.mean()), rel=1e-9)


def test_bare_optimizer_state_dict_has_no_names_to_give(tmp_path: Path) -> None:
    model = net(freeze_stem=False)
    opt = torch.optim.Adam(model.parameters())
    train(model, opt)
    omap = map_optimizer(save(tmp_path, opt.state_dict()))
    assert omap is not None and omap.optimizer == "" and omap.model is None
    assert not omap.mapped and "no model weights" in (omap.ambiguous or "")


def test_no_optimizer_means_no_map(tmp_path: Path) -> None:
    index = save(tmp_path, {"model": net().state_dict(), "epoch": 1})
    assert map_optimizer(index) is None and map_optimizers(index) == []
    assert optimizer_summary(index, "model.head.weight") is None


def test_map_to_dict_is_json_safe(tmp_path: Path) -> None:
    import json

    omap = map_optimizer(adam_checkpoint(tmp_path, two_groups(named=True)))
    assert omap is not None
    data = json.loads(json.dumps(omap.to_dict()))
    assert data["method"] == "param_names" and data["groups"][0]["hyper"]["betas"] == [0.9, 0.999]
    assert data["not_in_optimizer"] == stem_names()


def test_embedding_finds_the_only_placement_or_none() -> None:
    from paramtui.analysis.optimizer.placement import embedding

    a, b, c = (2, 3), (4,), (5, 5)
    assert embedding([a, c], [a, b, c]) == [0, 2]
    assert embedding([b], [a, b, c]) == [1]
    assert embedding([a], [a, a]) is None  # two choices
    assert embedding([c, a], [a, b, c]) is None  # no choice keeps the order
    assert embedding([None, c], [a, b, c]) is None  # the unknown one could be a or b
    assert embedding([a, None, c], [a, b, c]) == [0, 1, 2]
    assert embedding([a, b, c, c], [a, b, c]) is None  # more wanted than there are
    assert embedding([], [a, b]) == []


def test_groups_out_of_model_order_with_a_frozen_twin_stay_ambiguous(tmp_path: Path) -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.b0 = nn.Parameter(torch.randn(5))
            self.w1 = nn.Parameter(torch.randn(7, 7))
            self.y = nn.Parameter(torch.randn(5), requires_grad=False)  # frozen, b0's shape

    model = Odd()
    opt = torch.optim.Adam([{"params": [model.w1]}, {"params": [model.b0], "lr": 0.1}])
    (model.w1.sum() + model.b0.sum()).backward()
    opt.step()
    state = {"model": model.state_dict(), "optimizer": opt.state_dict()}
    omap = map_optimizer(save(tmp_path, state))
    # [w1, b0] fits the model's order only as w1 -> w1, b0 -> y: b0 alone fits b0 or y
    assert omap is not None and not omap.mapped and omap.method == "none"
