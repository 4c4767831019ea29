"""Optimizer state of the two most common builders, mapped without parameter names: timm's
weight-decay / no-decay groups and the Hugging Face Trainer's (real, written at test time),
whose groups interleave in the model's order; and the placements that stay ambiguous."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from optimizer_helpers import ConvNet, by_name, save, timm_weight_decay_groups, train_conv
from paramtui.analysis.optimizer.map import map_optimizer
from paramtui.analysis.optimizer.placement import place_groups


def _group_names(model: nn.Module, groups: list[dict[str, Any]]) -> list[list[str]]:
    name_of = {id(p): n for n, p in model.named_parameters()}
    return [[name_of[id(p)] for p in g["params"]] for g in groups]


@pytest.mark.parametrize("freeze_stem", [False, True])
def test_timm_weight_decay_groups_map_by_state_shapes(tmp_path: Path, freeze_stem: bool) -> None:
    torch.manual_seed(0)
    model = ConvNet()
    if freeze_stem:
        model.stem.requires_grad_(False)  # left out of both groups
    groups = timm_weight_decay_groups(model, weight_decay=0.05)
    opt = torch.optim.AdamW(groups, lr=1e-3)
    train_conv(model, opt)
    index = save(tmp_path, {"state_dict": model.state_dict(), "optimizer": opt.state_dict()})
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped and omap.method == "order", omap and omap.ambiguous
    expected = [n for names in _group_names(model, groups) for n in names]
    assert [p.name for p in omap.params if p.key is not None] == expected
    entries = by_name(omap)
    assert entries["head.bias"].hyper["weight_decay"] == 0.0
    assert entries["head.weight"].hyper["weight_decay"] == 0.05
    assert any("interleave" in note for note in omap.notes)
    stem = ["state_dict.stem.0.weight", "state_dict.stem.0.bias", "state_dict.stem.1.weight",
            "state_dict.stem.1.bias"]  # fmt: skip
    assert list(omap.not_in_optimizer) == (stem if freeze_stem else [])


def test_interleaved_groups_that_fit_two_ways_stay_ambiguous(tmp_path: Path) -> None:
    class Twins(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.u = nn.Parameter(torch.randn(4))
            self.w = nn.Parameter(torch.randn(3, 3))
            self.v = nn.Parameter(torch.randn(4))

    model = Twins()
    opt = torch.optim.Adam([{"params": [model.v]}, {"params": [model.u]}, {"params": [model.w]}])
    (model.u.sum() + model.v.sum() + model.w.sum()).backward()
    opt.step()
    omap = map_optimizer(
        save(tmp_path, {"model": model.state_dict(), "optimizer": opt.state_dict()})
    )
    # groups [v], [u], [w] are each in model order, but the two (4,) ones could swap
    assert omap is not None and not omap.mapped and omap.method == "none"
    assert omap.ambiguous is not None and "does not fit" in omap.ambiguous
    assert "more than one way to place the param groups" in omap.ambiguous
    assert "state key 0 could be u or v" in omap.ambiguous
    assert all(p.name is None for p in omap.params)


def test_place_groups_counts_interleavings() -> None:
    a, b, w = (4,), (5,), (3, 3)
    found = place_groups([[b, b], [w, a]], [w, b, a, b])
    assert found.ways == 1 and found.positions == [[1, 3], [0, 2]]
    two = place_groups([[a], [a]], [a, a])
    assert two.ways == 2 and two.other is not None and two.positions != two.other
    assert place_groups([[a], [w]], [w, a]).positions == [[1], [0]]
    assert place_groups([[a, a]], [a]).ways == 0
    assert place_groups([[None], [w]], [w, a, a]).ways == 2  # a stateless one: either (4,)
    frozen = place_groups([[b], [w]], [a, w, b])  # the (4,) one is in no group
    assert frozen.ways == 1 and frozen.positions == [[2], [1]]
