"""A real Hugging Face Trainer checkpoint, written at test time on CPU: its optimizer.pt holds a
weight-decay and a no-decay group (biases and LayerNorms apart) without parameter names. Put
next to the model's weights it must map to names by state shapes alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from optimizer_helpers import save
from paramtui.analysis.optimizer.map import map_optimizer

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")


class RandomTokens(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    def __init__(self, vocab: int, length: int) -> None:
        self.ids = torch.randint(0, vocab, (8, length), generator=torch.Generator().manual_seed(3))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def _tiny_model(kind: str) -> Any:
    torch.manual_seed(0)
    if kind == "gpt2":
        config = transformers.GPT2Config(
            vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=2
        )
        return transformers.GPT2LMHeadModel(config)
    config = transformers.BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=48, max_position_embeddings=16)  # fmt: skip
    return transformers.BertForMaskedLM(config)


def _trainer_checkpoint(tmp_path: Path, kind: str) -> tuple[Any, Path]:
    model = _tiny_model(kind)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "run"), max_steps=2, per_device_train_batch_size=4,
        save_strategy="steps", save_steps=2, weight_decay=0.01, learning_rate=1e-3,
        report_to=[], use_cpu=True, logging_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    trainer = transformers.Trainer(model=model, args=args, train_dataset=RandomTokens(64, 12))
    trainer.train()
    return trainer, tmp_path / "run" / "checkpoint-2"


@pytest.mark.parametrize("kind", ["gpt2", "bert"])
def test_trainer_optimizer_maps_onto_the_model_in_its_order(tmp_path: Path, kind: str) -> None:
    trainer, folder = _trainer_checkpoint(tmp_path, kind)
    optimizer = torch.load(folder / "optimizer.pt", weights_only=True)
    assert [g["weight_decay"] for g in optimizer["param_groups"]] == [0.01, 0.0]
    assert "param_names" not in optimizer["param_groups"][0]  # nothing names the state
    model = trainer.model.state_dict()  # the model's own order (a custom training loop's layout)
    index = save(tmp_path, {"model": model, "optimizer": optimizer})
    omap = map_optimizer(index)
    assert omap is not None and omap.mapped and omap.method == "order", omap and omap.ambiguous
    name_of = {id(p): n for n, p in trainer.model.named_parameters()}
    expected = [name_of[id(p)] for g in trainer.optimizer.param_groups for p in g["params"]]
    assert [p.name for p in omap.params if p.key is not None] == expected
    assert any("interleave" in note for note in omap.notes)
    for entry in omap.params:
        if entry.key is not None:
            moment = index.tensor(entry.state["exp_avg"])
            assert moment.shape == index.tensor(f"model.{entry.name}").shape
    decay = {p.name: p.hyper["weight_decay"] for p in omap.params if p.name is not None}
    assert all(w == (0.0 if n.endswith("bias") or "LayerNorm" in n or ".ln_" in n else 0.01)
               for n, w in decay.items())  # fmt: skip


def test_trainer_folder_weights_are_sorted_by_name_so_the_order_is_refused(
    tmp_path: Path,
) -> None:
    """model.safetensors keeps its tensors sorted by name, not in the model's order: without
    parameter names the optimizer cannot be placed, and paramtui says so rather than guess."""
    from safetensors.torch import load_file

    _, folder = _trainer_checkpoint(tmp_path, "gpt2")
    optimizer = torch.load(folder / "optimizer.pt", weights_only=True)
    weights = load_file(folder / "model.safetensors")
    assert list(weights) == sorted(weights)
    omap = map_optimizer(save(tmp_path, {"model": weights, "optimizer": optimizer}))
    assert omap is not None and not omap.mapped and "does not fit" in (omap.ambiguous or "")
