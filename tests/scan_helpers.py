"""Checkpoints for the health-scan tests: a seeded 12-layer model, healthy or with anomalies
planted in known places, and a training checkpoint whose optimizer state is damaged."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

LAYERS = 12
DIM = 32
VOCAB = 50

# (kind, tensor name) of every warning or error planted by `planted_state`
PLANTED = {
    ("nan", "layers.1.fc1.weight"),
    ("inf", "layers.2.fc2.weight"),
    ("all_zero", "layers.3.v_proj.weight"),
    ("constant", "layers.4.o_proj.weight"),
    ("exploding", "layers.5.q_proj.weight"),
    ("vanishing", "layers.6.q_proj.weight"),
    ("dead_rows", "layers.2.k_proj.weight"),
    ("dead_columns", "layers.8.fc2.weight"),
    ("duplicate", "layers.7.fc1.weight"),
    ("dtype_mix", "layers.3.k_proj.weight"),
}
DEAD_ROWS = [1, 4, 7]
DEAD_COLUMNS = [0, 9]


class Layer(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.o_proj = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 4 * d)
        self.fc2 = nn.Linear(4 * d, d)


class Net(nn.Module):
    """Embedding tied to the output layer, LAYERS transformer-like layers, a BatchNorm."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, DIM)
        self.layers = nn.ModuleList(Layer(DIM) for _ in range(LAYERS))
        self.bn = nn.BatchNorm1d(DIM)
        self.head = nn.Linear(DIM, VOCAB, bias=False)
        self.head.weight = self.embed.weight  # tied: one storage, not a duplicate


def healthy_net(seed: int = 0) -> Net:
    """Freshly initialised, then nudged as a short training run would (norm weights not 1)."""
    torch.manual_seed(seed)
    net = Net()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return net


def planted_state(seed: int = 0) -> dict[str, torch.Tensor]:
    net = healthy_net(seed)
    layer = net.layers
    with torch.no_grad():
        layer[1].fc1.weight[0, 0] = float("nan")
        layer[2].fc2.weight[3, 3] = float("inf")
        layer[3].v_proj.weight.zero_()
        layer[4].o_proj.weight.fill_(0.5)
        layer[5].q_proj.weight.mul_(1e3)
        layer[6].q_proj.weight.mul_(1e-9)
        layer[2].k_proj.weight[DEAD_ROWS] = 0
        layer[8].fc2.weight[:, DEAD_COLUMNS] = 0
        layer[7].fc1.weight.copy_(layer[0].fc1.weight)
    state = net.state_dict()
    state["layers.3.k_proj.weight"] = state["layers.3.k_proj.weight"].half()
    return state


def training_checkpoint(seed: int = 0, damaged: bool = True) -> dict[str, object]:
    """Model + Adam state after one step; damaged: NaN in one second moment, one huge first
    moment (not a weight: must not count as exploding), float16 moments elsewhere."""
    net = healthy_net(seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sum((p * p).sum() for p in net.parameters()).backward()  # every parameter gets state
    opt.step()
    state = opt.state_dict()
    if damaged:
        moments = state["state"]
        moments[5]["exp_avg_sq"][0] = float("nan")
        moments[6]["exp_avg"].mul_(1e6)
        moments[7]["exp_avg"] = moments[7]["exp_avg"].half()
    return {"model": net.state_dict(), "optimizer": state, "epoch": 1}


def save(obj: object, path: Path) -> Path:
    torch.save(obj, path)
    return path
