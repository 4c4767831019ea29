"""The embedded demo checkpoint: deterministic, really trained, tied, frozen part, indexable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import paramtui
from paramtui.analysis.summary import summarize
from paramtui.demo import build_demo, default_demo_path, demo_model


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(build_demo(str(tmp_path_factory.mktemp("demo") / "demo.pth"), progress=_quiet))


@pytest.fixture(scope="module")
def demo(demo_path: Path) -> dict[str, Any]:
    return torch.load(demo_path, weights_only=True)


def _quiet(message: str) -> None:
    del message


def test_two_builds_are_bit_identical(
    demo_path: Path, demo: dict[str, Any], tmp_path: Path
) -> None:
    again = torch.load(build_demo(str(tmp_path / "again.pth"), progress=_quiet), weights_only=True)
    first, second = _tensors(demo), _tensors(again)
    assert list(first) == list(second)
    for name, tensor in first.items():
        assert tensor.dtype == second[name].dtype, name
        assert torch.equal(_raw(tensor), _raw(second[name])), name
    assert demo["loss_history"] == again["loss_history"]
    assert demo["hparams"] == again["hparams"]


def _raw(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor's bytes, for bit-for-bit comparison (NaN == NaN, -0.0 != 0.0)."""
    return tensor.reshape(-1).view(torch.uint8)


def _tensors(obj: object, prefix: str = "") -> dict[str, torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    )
    out: dict[str, torch.Tensor] = {}
    for key, value in items:
        out.update(_tensors(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def test_it_is_a_training_checkpoint(demo: dict[str, Any]) -> None:
    assert set(demo) == {"model", "optimizer", "epoch", "step", "hparams", "loss_history"}
    assert demo["step"] == len(demo["loss_history"]) >= 30
    assert demo["epoch"] >= 1
    assert {"lr", "d_model", "n_layers", "n_heads", "vocab_size", "seed"} <= set(demo["hparams"])


def test_it_was_really_trained(demo: dict[str, Any]) -> None:
    losses = demo["loss_history"]
    assert losses[-1] < losses[0] - 1.0  # starts near ln(64) = 4.16 and clearly learns
    assert demo["model"]["stem.norm.num_batches_tracked"].item() == demo["step"]
    assert not torch.equal(demo["model"]["stem.norm.running_var"], torch.ones(64))


def test_output_layer_is_tied_to_the_embedding(demo: dict[str, Any]) -> None:
    emb, head = demo["model"]["tok_emb.weight"], demo["model"]["lm_head.weight"]
    assert emb.untyped_storage().data_ptr() == head.untyped_storage().data_ptr()


def test_loads_into_the_demo_model_strictly(demo: dict[str, Any]) -> None:
    model = demo_model()
    model.load_state_dict(demo["model"], strict=True)
    assert model.lm_head.weight is model.tok_emb.weight
    assert any(name.endswith("running_mean") for name, _ in model.named_buffers())
    with torch.no_grad():
        logits = model.eval()(torch.tensor([[1, 2, 3, 4]]))
    assert logits.shape == (1, 4, demo["hparams"]["vocab_size"])
    assert torch.isfinite(logits).all()


def test_frozen_block_is_not_in_the_optimizer(demo: dict[str, Any]) -> None:
    groups = demo["optimizer"]["param_groups"]
    optimized = [name for g in groups for name in g["param_names"]]
    frozen = demo["hparams"]["frozen"]
    params = dict(demo_model().named_parameters())  # tied lm_head.weight listed once
    assert not [n for n in optimized if n.startswith(frozen + ".")]
    assert sorted(optimized) == sorted(n for n in params if not n.startswith(frozen + "."))
    assert len(demo["optimizer"]["state"]) == len(optimized)


def test_frozen_block_kept_its_initial_weights(demo: dict[str, Any]) -> None:
    torch.manual_seed(demo["hparams"]["seed"])
    fresh = demo_model()  # same seed, same construction order as the build
    for name, value in fresh.state_dict().items():
        if name.startswith("blocks.0."):
            assert torch.equal(value, demo["model"][name]), name
    assert not torch.equal(
        fresh.blocks[1].attn.q_proj.weight, demo["model"]["blocks.1.attn.q_proj.weight"]
    )


def test_open_checkpoint_lists_model_optimizer_and_metadata(demo_path: Path) -> None:
    index = paramtui.open_checkpoint(demo_path)
    assert index.format == "torch zip"
    assert "model.blocks.3.attn.o_proj.weight" in index.tensors
    assert "optimizer.state.0.exp_avg_sq" in index.tensors
    assert index.tensor("model.stem.norm.running_mean").role == "buffer"
    assert index.tensor("optimizer.state.0.exp_avg").role == "optimizer state"
    assert index.shared_with("model.lm_head.weight") == ["model.tok_emb.weight"]
    assert {"epoch", "step", "hparams.lr", "hparams.frozen"} <= set(index.metadata)


def test_summary_counts_tied_parameters_once(demo_path: Path) -> None:
    summary = summarize(paramtui.open_checkpoint(demo_path))
    model = demo_model()
    assert summary.parameter_numel == sum(p.numel() for p in model.parameters())
    assert summary.shared_groups == 1
    assert [m.name for m in summary.modules] == ["model", "optimizer"]
    assert summary.storage_nbytes < summary.logical_nbytes  # the tied weight is stored once


def test_cached_build_is_reused(demo_path: Path) -> None:
    before = demo_path.stat().st_mtime_ns
    calls: list[str] = []
    assert build_demo(str(demo_path), progress=calls.append) == str(demo_path)
    assert calls == []
    assert demo_path.stat().st_mtime_ns == before
    assert [p.name for p in demo_path.parent.iterdir()] == [demo_path.name]  # no temp files


def test_default_path_honours_paramtui_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PARAMTUI_CACHE", str(tmp_path))
    assert default_demo_path() == str(tmp_path / "demo" / "demo-v1.pth")
    monkeypatch.delenv("PARAMTUI_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_demo_path() == str(tmp_path / "xdg" / "paramtui" / "demo" / "demo-v1.pth")


def test_importing_the_demo_module_does_not_import_torch() -> None:
    code = "import sys, paramtui.demo; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "False"
