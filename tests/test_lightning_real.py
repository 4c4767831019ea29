"""A checkpoint written by a real PyTorch Lightning Trainer (a few CPU steps, one frozen layer,
Adam in two param groups), opened as a user would open their own."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

import paramtui
from paramtui.analysis.optimizer.map import map_optimizer, optimizer_summary
from paramtui.analysis.scan.run import scan
from paramtui.core import training

lightning = pytest.importorskip("lightning")


class TinyModule(lightning.LightningModule):
    def __init__(self, hidden: int = 12) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.stem = nn.Linear(6, hidden)
        self.head = nn.Linear(hidden, 3)
        self.stem.requires_grad_(False)  # transfer learning: the stem stays frozen

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.cross_entropy(self.head(torch.relu(self.stem(x))), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(
            [
                {"params": [self.head.weight], "lr": 1e-2},
                {"params": [self.head.bias], "lr": 1e-3, "weight_decay": 0.1},
            ]
        )


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(32, 6), torch.randint(0, 3, (32,)))
    trainer = lightning.Trainer(
        max_steps=4, accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=tmp_path_factory.mktemp("runs"),
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no validation loop", "few workers"
        trainer.fit(TinyModule(), torch.utils.data.DataLoader(data, batch_size=8))
    path = tmp_path_factory.mktemp("ckpt") / "last.ckpt"
    trainer.save_checkpoint(path)
    return path


def test_each_part_is_a_root(checkpoint: Path) -> None:
    index = paramtui.open_checkpoint(checkpoint)
    roots = {name.split(".")[0] for name in index.tensors} | set(index.metadata)
    assert {"state_dict", "optimizer_states"} <= roots
    layout = training.describe_layout(index)
    assert layout is not None and layout.kind == "lightning" and layout.model == "state_dict"
    assert {"loops", "hyper_parameters"} <= set(layout.other)
    assert index.tensor("state_dict.head.weight").shape == (3, 12)


def test_adam_state_is_mapped_to_names_and_the_frozen_stem_is_seen(checkpoint: Path) -> None:
    index = paramtui.open_checkpoint(checkpoint)
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped, omap and omap.ambiguous
    head = omap.param("state_dict.head.weight")
    bias = omap.param("state_dict.head.bias")
    assert head is not None and head.hyper["lr"] == pytest.approx(1e-2)
    assert bias is not None and bias.hyper["weight_decay"] == pytest.approx(0.1)
    stem = omap.param("state_dict.stem.weight")  # frozen, so not in the optimizer
    assert stem is not None and stem.key is None and stem.flags == ("not in any param group",)
    summary = optimizer_summary(index, "state_dict.head.weight")
    assert summary is not None and summary.step == 4.0
    flagged = [f.names for f in scan(index).findings if f.kind == "not_in_optimizer"]
    assert flagged and "state_dict.stem.weight" in flagged[0]
