"""Optimizer mapping in the layouts of other tools: PyTorch Lightning (one or two optimizers),
timm (EMA copy, args), torch.distributed.checkpoint (state keyed by name), a bare optimizer."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import paramtui
from optimizer_helpers import by_name, net, save, stem_names, train
from paramtui.analysis.optimizer.map import (
    NO_STATE,
    map_optimizer,
    map_optimizers,
    optimizer_summary,
)
from paramtui.core import training


def lightning_module(named: bool) -> tuple[nn.Module, torch.optim.Optimizer, Any]:
    """A LightningModule-like wrapper: its parameters are named model.<...>."""
    torch.manual_seed(0)
    wrapper = nn.Module()
    wrapper.model = net(freeze_stem=False)  # type: ignore[assignment]
    items = wrapper.named_parameters() if named else wrapper.parameters()
    opt = torch.optim.AdamW(list(items), lr=0.003)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10)
    train(wrapper.model, opt)  # type: ignore[arg-type]
    sched.step()
    return wrapper, opt, sched


@pytest.mark.parametrize("named", [True, False])
def test_lightning_checkpoint(tmp_path: Path, named: bool) -> None:
    wrapper, opt, sched = lightning_module(named)
    ckpt = {
        "epoch": 3,
        "global_step": 30,
        "pytorch-lightning_version": "2.4.0",
        "state_dict": wrapper.state_dict(),
        "optimizer_states": [opt.state_dict()],
        "lr_schedulers": [sched.state_dict()],
        "hyper_parameters": {"lr": 0.003, "hidden": 16},
        "callbacks": {
            "ModelCheckpoint{'monitor': 'val_loss'}": {"best_model_score": torch.tensor(0.25)}
        },
        "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"completed": 3}}}},
    }
    index = save(tmp_path, ckpt, "last.ckpt")
    layout = training.describe_layout(index)
    assert layout is not None and layout.kind == "lightning" and layout.model == "state_dict"
    assert layout.optimizers == ("optimizer_states.0",)
    assert {"lr_schedulers", "callbacks", "loops", "hyper_parameters"} <= set(layout.other)
    score = "callbacks.ModelCheckpoint{'monitor': 'val_loss'}.best_model_score"
    assert index.tensor(score).role == "other"
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped and omap.optimizer == "optimizer_states.0"
    assert omap.method == ("param_names" if named else "order")
    entry = omap.param("state_dict.model.body.3.weight")
    assert entry is not None and entry.name == "model.body.3.weight"
    assert entry.hyper["lr"] == pytest.approx(0.003) and entry.hyper["weight_decay"] == 0.01
    assert entry.step_tensor == f"optimizer_states.0.state.{entry.key}.step"
    summary = optimizer_summary(index, "state_dict.model.body.3.weight")
    assert summary is not None and summary.step == 3.0 and summary.step_size is not None


def test_two_lightning_optimizers_are_each_mapped(tmp_path: Path) -> None:
    model = net(freeze_stem=False)
    gen_opt = torch.optim.Adam(list(model.body.named_parameters(prefix="body")), lr=0.1)
    rest = [(n, p) for n, p in model.named_parameters() if not n.startswith("body.")]
    disc_opt = torch.optim.SGD(rest, lr=0.2, momentum=0.9)
    train(model, gen_opt)
    train(model, disc_opt)
    ckpt = {"state_dict": model.state_dict(), "optimizer_states": [gen_opt.state_dict(),
            disc_opt.state_dict()], "loops": {}}  # fmt: skip
    maps = map_optimizers(save(tmp_path, ckpt))
    assert [m.optimizer for m in maps] == ["optimizer_states.0", "optimizer_states.1"]
    assert all(m.mapped for m in maps) and maps[0].not_in_optimizer == ()
    assert by_name(maps[0])["body.0.weight"].state.keys() >= {"exp_avg", "exp_avg_sq"}
    assert "momentum_buffer" in by_name(maps[1])["head.weight"].state


def test_timm_checkpoint_with_ema_and_args(tmp_path: Path) -> None:
    model = net()
    opt = torch.optim.SGD(list(model.named_parameters()), lr=0.1, momentum=0.9)
    train(model, opt)
    ema = {k: v.clone() for k, v in model.state_dict().items()}
    args = argparse.Namespace(model="net", lr=0.1)
    ckpt = {"epoch": 9, "arch": "net", "state_dict": model.state_dict(), "optimizer":
            opt.state_dict(), "version": 2, "args": args, "state_dict_ema": ema}  # fmt: skip
    index = save(tmp_path, ckpt, "checkpoint-9.pth.tar")
    layout = training.describe_layout(index)
    assert layout is not None and layout.kind == "timm" and layout.ema == ("state_dict_ema",)
    assert index.tensor("state_dict_ema.head.weight").role == "parameter"
    assert index.tensor("state_dict_ema.body.1.running_mean").role == "buffer"
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped and omap.model == "state_dict"
    entries = by_name(omap)
    # frozen stem is in the optimizer (built from all named parameters) but never stepped
    assert entries["stem.weight"].key is not None and entries["stem.weight"].state == {}
    assert omap.not_in_optimizer == ()


@pytest.mark.parametrize("flatten", [False, True])
def test_dcp_name_keyed_optimizer_state(tmp_path: Path, flatten: bool) -> None:
    import warnings

    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    model = net()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    train(model, opt)
    options = StateDictOptions(flatten_optimizer_state_dict=flatten)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model_sd, optim_sd = get_state_dict(model, opt, options=options)
        dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=tmp_path / "dcp")
    omap = map_optimizer(paramtui.open_checkpoint(tmp_path / "dcp"))
    assert omap is not None and omap.mapped and omap.method == "state names"
    # flattened: groups per parameter name; nested: one `params` list, whose metadata preview
    # is clipped unless the reader records the full list
    assert omap.membership_known or not flatten
    assert list(omap.not_in_optimizer) == (stem_names() if omap.membership_known else [])
    entries = by_name(omap)
    assert entries["head.weight"].hyper["lr"] == 0.01
    assert entries["head.weight"].state["exp_avg"] == "optim.state.head.weight.exp_avg"
    assert entries["head.weight"].group == (None if flatten else 0)
    if omap.membership_known:
        assert entries["unused.weight"].flags == (NO_STATE,)


def test_parts_named_like_training_parts_stay_weights_in_a_plain_state_dict(
    tmp_path: Path,
) -> None:
    model = nn.Module()
    model.metrics = nn.Linear(2, 2)  # type: ignore[assignment]
    model.scheduler = nn.Linear(2, 2)  # type: ignore[assignment]
    index = save(tmp_path, model.state_dict())
    assert index.tensor("metrics.weight").role == "parameter"
    assert index.tensor("scheduler.bias").role == "parameter"
    assert training.describe_layout(index) is None and index.notes == []
