"""Train the demo model for a few dozen steps on a synthetic language and save a checkpoint.

Imports torch at module level: load this module lazily (paramtui.demo does)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from paramtui.demo.model import DemoConfig, DemoModel

SEED = 1234
SEQ_LEN = 16
FANOUT = 4  # the best possible loss is ln(4) = 1.386
BATCH = 32
STEPS_PER_EPOCH = 20
EPOCHS = 3
LR = 3e-3
WEIGHT_DECAY = 0.01
FROZEN = "blocks.0"  # a "pretrained" block kept frozen: not in the optimizer


def successor_table(gen: torch.Generator, vocab: int) -> torch.Tensor:
    """The synthetic language: each token may be followed by one of FANOUT tokens."""
    return torch.randint(0, vocab, (vocab, FANOUT), generator=gen)


def language_batch(gen: torch.Generator, table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """BATCH random walks through `table`: inputs and next-token targets."""
    tokens = [torch.randint(0, table.shape[0], (BATCH,), generator=gen)]
    for _ in range(SEQ_LEN):
        choice = torch.randint(0, FANOUT, (BATCH,), generator=gen)
        tokens.append(table[tokens[-1], choice])
    seq = torch.stack(tokens, dim=1)
    return seq[:, :-1], seq[:, 1:]


def make_optimizer(model: DemoModel) -> torch.optim.Adam:
    """Adam over the trainable parameters, matrices with weight decay, the rest without."""
    decay: list[tuple[str, torch.nn.Parameter]] = []
    no_decay: list[tuple[str, torch.nn.Parameter]] = []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 and "emb" not in name else no_decay).append((name, param))
    groups = [
        {"params": decay, "weight_decay": WEIGHT_DECAY},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.Adam(groups, lr=LR)


def train(progress: Callable[[str], None]) -> dict[str, Any]:
    """The whole training run, deterministic given SEED; returns the checkpoint dict."""
    torch.manual_seed(SEED)
    cfg = DemoConfig()
    model = DemoModel(cfg)
    model.get_submodule(FROZEN).requires_grad_(False)
    optimizer = make_optimizer(model)
    gen = torch.Generator().manual_seed(SEED)
    table = successor_table(gen, cfg.vocab_size)
    losses: list[float] = []
    model.train()
    for epoch in range(EPOCHS):
        for _ in range(STEPS_PER_EPOCH):
            inputs, targets = language_batch(gen, table)
            loss = F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            losses.append(round(loss.item(), 6))
        progress(f"epoch {epoch + 1}/{EPOCHS}: loss {losses[-1]:.3f}")
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": EPOCHS,
        "step": EPOCHS * STEPS_PER_EPOCH,
        "hparams": _hparams(cfg),
        "loss_history": losses,
    }


def _hparams(cfg: DemoConfig) -> dict[str, Any]:
    return {
        **cfg.to_dict(),
        "lr": LR,
        "weight_decay": WEIGHT_DECAY,
        "batch_size": BATCH,
        "seed": SEED,
        "task": f"random walks, {FANOUT} successors per token",
        "frozen": FROZEN,
    }


def build(path: str, progress: Callable[[str], None]) -> None:
    """Train with one thread (bit-identical results on any machine) and save atomically."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        checkpoint = train(progress)
    finally:
        torch.set_num_threads(threads)
    save_atomic(checkpoint, path)


def save_atomic(obj: object, path: str) -> None:
    """torch.save into a temp file beside `path`, fsync, then os.replace."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".demo-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
