"""Shared builders for the optimizer-mapping tests: a small model and its training."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

import paramtui
from paramtui.analysis.optimizer.map import OptimizerMap
from paramtui.core.model import CheckpointIndex

Groups = Callable[["Net"], list[dict[str, Any]]]


class Net(nn.Module):
    """Frozen stem (left out of the optimizer), BatchNorm buffers, an unused layer (no grads)."""

    def __init__(self, float_buffer: bool = False) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.stem = nn.Linear(8, 8)
        self.body = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8))
        self.unused = nn.Linear(8, 5)
        self.head = nn.Linear(8, 3)
        if float_buffer:
            self.register_buffer("scale", torch.ones(8))  # a buffer whose name looks learnable

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.body(self.stem(self.embed(x))))
        return out


def net(freeze_stem: bool = True, float_buffer: bool = False) -> Net:
    torch.manual_seed(0)
    model = Net(float_buffer)
    if freeze_stem:
        model.stem.requires_grad_(False)
    return model


def trainable(model: nn.Module, named: bool) -> list[Any]:
    return [(n, p) if named else p for n, p in model.named_parameters() if p.requires_grad]


def part(model: nn.Module, prefixes: tuple[str, ...], named: bool) -> list[Any]:
    return [(n, p) if named else p for n, p in model.named_parameters() if n.startswith(prefixes)]


def two_groups(named: bool) -> Groups:
    """Matrices with weight decay first, then the rest: not the model's order."""

    def build(model: Net) -> list[dict[str, Any]]:
        items = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        decay = [(n, p) if named else p for n, p in items if p.ndim >= 2]
        rest = [(n, p) if named else p for n, p in items if p.ndim < 2]
        return [{"params": decay, "weight_decay": 0.1}, {"params": rest, "lr": 0.02}]

    return build


def train(model: Net, optimizer: torch.optim.Optimizer, steps: int = 3) -> None:
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randint(0, 10, (6,), generator=gen)
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()


def save(tmp_path: Path, obj: dict[str, Any], name: str = "ckpt.pth") -> CheckpointIndex:
    path = tmp_path / name
    torch.save(obj, path)
    return paramtui.open_checkpoint(path)


def adam_checkpoint(tmp_path: Path, groups: Groups, freeze_stem: bool = True) -> CheckpointIndex:
    model = net(freeze_stem)
    opt = torch.optim.Adam(groups(model), lr=0.01)
    train(model, opt)
    return save(tmp_path, {"model": model.state_dict(), "optimizer": opt.state_dict()})


def by_name(omap: OptimizerMap) -> dict[str, Any]:
    return {p.name: p for p in omap.params if p.name is not None}


def stem_names() -> list[str]:
    return ["model.stem.weight", "model.stem.bias"]


def timm_weight_decay_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """The param groups timm's create_optimizer_v2 builds (timm.optim.param_groups_weight_decay;
    timm itself cannot be imported here: it needs torchvision, whose build does not load beside
    this torch): trainable biases and 1-D parameters without weight decay first, then the rest,
    each group in model order."""
    items = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = [p for n, p in items if p.ndim <= 1 or n.endswith(".bias")]
    decay = [p for n, p in items if not (p.ndim <= 1 or n.endswith(".bias"))]
    return [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": weight_decay},
    ]


class ConvNet(nn.Module):
    """A small timm-like classifier: conv stem, norms, a linear head; every parameter trains.
    The stem's widths are its own, so that frozen it can be told apart by shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU())
        self.blocks = nn.Sequential(nn.Conv2d(6, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.GELU())
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.blocks(self.stem(x)).mean(dim=(2, 3))
        out: torch.Tensor = self.head(self.norm(pooled))
        return out


def train_conv(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int = 2) -> None:
    gen = torch.Generator().manual_seed(2)
    for _ in range(steps):
        optimizer.zero_grad()
        model(torch.randn(2, 3, 8, 8, generator=gen)).square().mean().backward()
        optimizer.step()
