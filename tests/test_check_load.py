"""paramtui.check_load and `paramtui check-load`: would load_state_dict accept a checkpoint?
The demo model against the demo checkpoint and against damaged copies of it (a renamed key, an
extra key, a wrong shape, another dtype), wrapper prefixes, training layouts, tied weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_model
from torch import nn

import paramtui
from paramtui.analysis.check_load import LoadCheck, check_load
from paramtui.cli import main
from paramtui.cli.commands.check_load import EXIT_MISMATCH
from paramtui.core import access
from paramtui.core.errors import UnusableInput
from paramtui.demo import build_demo, demo_model

MODEL = "paramtui.demo:demo_model"


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_demo(str(tmp_path_factory.mktemp("demo") / "demo.pth"), progress=lambda _: None)


@pytest.fixture(autouse=True)
def no_tensor_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """check_load answers from the index: reading tensor bytes is a bug."""

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("check_load read tensor bytes")

    monkeypatch.setattr(access, "open_tensor", boom)


def demo_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return dict(demo_model().state_dict())


def saved(tmp_path: Path, state: dict[str, Any], name: str = "ckpt.pth") -> Path:
    torch.save(state, tmp_path / name)
    return tmp_path / name


def run(*args: Any) -> int:
    return main([str(a) for a in args])


def test_demo_checkpoint_loads_strict(demo_path: str) -> None:
    result = paramtui.check_load(demo_model(), demo_path)
    assert isinstance(result, LoadCheck)
    assert result.loads_strict and result.part == "model" and result.prefix == ""
    assert result.matched == result.num_model_keys == result.num_checkpoint_keys == 77
    model = demo_model()  # the oracle agrees
    model.load_state_dict(torch.load(demo_path, weights_only=True)["model"], strict=True)


def test_cli_exit_codes_and_json(demo_path: str, tmp_path: Path, capsys: Any) -> None:
    assert run("check-load", demo_path, "--model", MODEL) == 0
    assert "would succeed" in capsys.readouterr().out
    state = demo_state()
    state["blocks.9.extra"] = torch.zeros(2)
    assert run("check-load", saved(tmp_path, state), "--model", MODEL, "--json") == EXIT_MISMATCH
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "paramtui.check_load/1" and doc["model"] == MODEL
    assert doc["unexpected"] == ["blocks.9.extra"] and doc["loads_strict"] is False
    assert doc["loads_non_strict"] is True


def test_renamed_key(tmp_path: Path) -> None:
    state = demo_state()
    state["blocks.1.attn.query.weight"] = state.pop("blocks.1.attn.q_proj.weight")
    result = check_load(demo_model(), saved(tmp_path, state))
    assert result.missing == ("blocks.1.attn.q_proj.weight",)
    assert result.unexpected == ("blocks.1.attn.query.weight",)
    assert not result.loads_strict and result.loads_non_strict
    with pytest.raises(RuntimeError, match="Missing key"):  # the oracle
        demo_model().load_state_dict(state, strict=True)


def test_wrong_shape_and_dtype(tmp_path: Path, capsys: Any) -> None:
    state = demo_state()
    state["blocks.2.mlp.fc1.weight"] = torch.zeros(128, 64)
    state["ln_f.weight"] = state["ln_f.weight"].half()
    path = saved(tmp_path, state)
    result = check_load(demo_model(), path)
    [shape] = result.shape_mismatches
    assert shape.key == "blocks.2.mlp.fc1.weight"
    assert (shape.checkpoint_shape, shape.model_shape) == ((128, 64), (256, 64))
    [dtype] = result.dtype_differences
    assert (dtype.key, dtype.checkpoint_dtype, dtype.model_dtype) == (
        "ln_f.weight",
        "float16",
        "float32",
    )
    assert not result.loads_strict and not result.loads_non_strict
    assert run("check-load", path, "--model", MODEL) == EXIT_MISMATCH
    out = capsys.readouterr().out
    assert "blocks.2.mlp.fc1.weight: 128×64 -> 256×64" in out
    assert "ln_f.weight: float16 -> float32" in out
    with pytest.raises(RuntimeError, match="size mismatch"):
        demo_model().load_state_dict(state, strict=False)


def test_only_a_dtype_difference_still_loads(tmp_path: Path) -> None:
    state = {k: v.half() if v.is_floating_point() else v for k, v in demo_state().items()}
    result = check_load(demo_model(), saved(tmp_path, state))
    assert result.loads_strict and len(result.dtype_differences) > 50


def test_dataparallel_prefix_is_detected(tmp_path: Path, capsys: Any) -> None:
    torch.manual_seed(0)
    path = saved(tmp_path, nn.DataParallel(demo_model()).state_dict())
    result = check_load(demo_model(), path)
    assert result.prefix == "module." and result.prefix_detected
    assert result.matches_after_strip and not result.loads_strict
    assert any("consume_prefix_in_state_dict_if_present" in n for n in result.notes)
    assert run("check-load", path, "--model", MODEL) == EXIT_MISMATCH
    assert "once 'module.' is stripped" in capsys.readouterr().out
    assert run("check-load", path, "--model", MODEL, "--prefix", "module.") == 0
    plain = check_load(demo_model(), path, prefix="")
    assert plain.matched == 0 and len(plain.unexpected) == 77


def test_training_layouts(tmp_path: Path, demo_path: str) -> None:
    holder = nn.Module()
    holder.model = demo_model()  # type: ignore[assignment]
    lightning = {"state_dict": holder.state_dict(), "optimizer_states": [], "loops": {},
                 "pytorch-lightning_version": "2.4.0"}  # fmt: skip
    result = check_load(demo_model(), saved(tmp_path, lightning, "last.ckpt"))
    assert result.part == "state_dict" and result.prefix == "model."
    assert result.matches_after_strip
    assert check_load(demo_model(), tmp_path / "last.ckpt", prefix="model.").loads_strict
    alone = check_load(demo_model(), saved(tmp_path, {"model": demo_state(), "epoch": 3}))
    assert alone.loads_strict and alone.part == "model"


def test_snapshot(tmp_path: Path) -> None:
    model = demo_model()
    paramtui.snapshot(model, tmp_path / "snap.pth")
    result = check_load(demo_model(), tmp_path / "snap.pth")
    assert result.loads_strict and result.part == "state_dict"


def test_meta_model_and_a_state_dict_mapping(demo_path: str) -> None:
    with torch.device("meta"):
        model = demo_model()
    assert check_load(model, demo_path).loads_strict
    assert check_load(demo_state(), demo_path).loads_strict


def test_tied_weight_dropped_by_safetensors(tmp_path: Path) -> None:
    save_model(demo_model(), str(tmp_path / "model.safetensors"))
    result = check_load(demo_model(), tmp_path / "model.safetensors")
    assert len(result.missing) == 1 and not result.unexpected
    assert any("is tied to" in note for note in result.notes)


def test_optimizer_only_file_is_unusable(tmp_path: Path) -> None:
    params = [nn.Parameter(torch.ones(2))]
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    params[0].grad = torch.ones(2)
    opt.step()
    with pytest.raises(UnusableInput, match="without model weights"):
        check_load(demo_model(), saved(tmp_path, {"optimizer": opt.state_dict()}))


def test_user_module_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    (tmp_path / "my_models_ck.py").write_text(
        "from torch import nn\n"
        "def build():\n    return nn.Linear(3, 2)\n"
        "def broken():\n    raise ValueError('no such config')\n"
        "def not_a_model():\n    return 42\n"
    )
    torch.save(nn.Linear(3, 2).state_dict(), tmp_path / "lin.pth")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "my_models_ck", raising=False)
    assert run("check-load", "lin.pth", "--model", "my_models_ck:build") == 0
    assert run("check-load", "lin.pth", "--model", "my_models_ck:broken") == 2
    assert "raised ValueError: no such config" in capsys.readouterr().err
    assert run("check-load", "lin.pth", "--model", "my_models_ck:not_a_model") == 2
    assert run("check-load", "lin.pth", "--model", "my_models_ck") == 2
    assert run("check-load", "missing.pth", "--model", "my_models_ck:build") == 2
    sys.modules.pop("my_models_ck", None)


def test_help_says_it_runs_the_users_code(capsys: Any) -> None:
    assert run("check-load", "-h") == 0
    text = capsys.readouterr().out
    assert "runs your code" in text.replace("\n", " ") or "runs YOUR" in text
    assert "Nothing from the checkpoint is ever run" in text.replace("\n  ", " ")
