"""DataParallel/DDP `module.` prefixes: detection, the --strip-prefix view of ls/summary, and
`paramtui convert --strip-prefix`, whose output loads into the bare model with strict=True."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

import paramtui
from paramtui.cli import main
from paramtui.core.errors import UnusableInput
from paramtui.core.prefix import common_wrapper_prefix, plan_strip, stripped_index


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.body = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.emb.weight


def bare() -> Tied:
    torch.manual_seed(0)
    return Tied()


def wrapped_state() -> dict[str, torch.Tensor]:
    return nn.DataParallel(bare()).state_dict()


def run(*args: Any) -> int:
    return main([str(a) for a in args])


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["module.a.weight", "module.b.bias"], "module."),
        (["_orig_mod.a.weight", "_orig_mod.b"], "_orig_mod."),
        (["model.module.a.weight", "model.module.b"], "model.module."),
        (["module._orig_mod.a", "module._orig_mod.b"], "module._orig_mod."),
        (["module.a", "b"], None),  # not every name
        (["model.a", "model.b"], None),  # a holder alone is not a wrapper
        (["module.weight"], "module."),
        (["module"], None),  # nothing would be left
        ([], None),
        (["modules.a", "modules.b"], None),
    ],
)
def test_common_wrapper_prefix(names: list[str], expected: str | None) -> None:
    assert common_wrapper_prefix(names) == expected


def test_stripped_dataparallel_state_dict_loads_into_the_bare_model(tmp_path: Path) -> None:
    torch.save(wrapped_state(), tmp_path / "dp.pth")
    assert run("convert", tmp_path / "dp.pth", tmp_path / "plain.pth", "--strip-prefix", "-q") == 0
    state = torch.load(tmp_path / "plain.pth", weights_only=True)
    model = Tied()
    model.load_state_dict(state, strict=True)
    assert torch.equal(model.body[0].weight, bare().body[0].weight)
    assert state["head.weight"].data_ptr() == state["emb.weight"].data_ptr()  # still tied
    assert state._metadata["body.1"]["version"] == 2  # BatchNorm's version survives
    index = paramtui.open_checkpoint(tmp_path / "plain.pth")
    assert index.shared_with("head.weight") == ["emb.weight"]


def test_training_checkpoint_keeps_everything_else(tmp_path: Path) -> None:
    model = nn.DataParallel(bare())
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.module.body(torch.randn(3, 4)).sum().backward()
    opt.step()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 7},
               tmp_path / "train.pth")  # fmt: skip
    assert run("convert", tmp_path / "train.pth", tmp_path / "out.pth", "--strip-prefix=module.",
               "-q") == 0  # fmt: skip
    before = torch.load(tmp_path / "train.pth", weights_only=True)
    after = torch.load(tmp_path / "out.pth", weights_only=True)
    Tied().load_state_dict(after["model"], strict=True)
    assert after["epoch"] == 7
    assert after["optimizer"]["param_groups"] == before["optimizer"]["param_groups"]
    for key, state in before["optimizer"]["state"].items():
        assert torch.equal(after["optimizer"]["state"][key]["momentum_buffer"],
                           state["momentum_buffer"])  # fmt: skip


def test_nested_model_dict_without_optimizer(tmp_path: Path) -> None:
    torch.save({"model": wrapped_state(), "epoch": 1}, tmp_path / "m.pth")
    plan = plan_strip(paramtui.open_checkpoint(tmp_path / "m.pth"))
    assert plan.prefixes == {"model": "module."}
    assert run("convert", tmp_path / "m.pth", tmp_path / "o.pth", "--strip-prefix", "-q") == 0
    Tied().load_state_dict(torch.load(tmp_path / "o.pth", weights_only=True)["model"])


def test_lightning_part_with_a_wrapped_model(tmp_path: Path) -> None:
    holder = nn.Module()
    holder.model = nn.DataParallel(bare())  # type: ignore[assignment]
    ckpt = {"state_dict": holder.state_dict(), "optimizer_states": [], "loops": {}}
    torch.save(ckpt, tmp_path / "last.ckpt")
    index = paramtui.open_checkpoint(tmp_path / "last.ckpt")
    plan = plan_strip(index)
    assert plan.prefixes == {"state_dict": "model.module."}
    assert "state_dict.body.0.weight" in stripped_index(index, plan).tensors
    assert run("convert", tmp_path / "last.ckpt", tmp_path / "o.ckpt", "--strip-prefix", "-q") == 0
    Tied().load_state_dict(torch.load(tmp_path / "o.ckpt", weights_only=True)["state_dict"])


def test_safetensors_output(tmp_path: Path) -> None:
    torch.save(wrapped_state(), tmp_path / "dp.pth")
    out = tmp_path / "plain.safetensors"
    assert run("convert", tmp_path / "dp.pth", out, "--strip-prefix", "--untie", "-q") == 0
    model = Tied()
    model.load_state_dict(load_file(out), strict=True)


def test_sharded_output(tmp_path: Path) -> None:
    torch.save(wrapped_state(), tmp_path / "dp.pth")
    folder = tmp_path / "shards"
    code = run("convert", tmp_path / "dp.pth", f"{folder}/", "--strip-prefix", "--untie", "-q")
    assert code == 0
    weight_map = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    assert set(weight_map) == set(Tied().state_dict())


def test_ls_and_summary_views(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.save(wrapped_state(), tmp_path / "dp.pth")
    assert run("ls", tmp_path / "dp.pth", "--json", "--strip-prefix") == 0
    captured = capsys.readouterr()
    names = [t["name"] for t in json.loads(captured.out)["tensors"]]
    assert names == list(Tied().state_dict())
    assert "stripped 'module.'" in captured.err
    assert run("summary", tmp_path / "dp.pth", "--json", "--strip-prefix", "module") == 0
    modules = [m["name"] for m in json.loads(capsys.readouterr().out)["modules"]]
    assert sorted(modules) == ["body", "emb", "head"]
    assert run("ls", tmp_path / "dp.pth") == 0
    assert "module.body.0.weight" in capsys.readouterr().out  # no option: names as saved


def test_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.save(bare().state_dict(), tmp_path / "plain.pth")
    assert run("ls", tmp_path / "plain.pth", "--strip-prefix") == 2
    assert "no wrapper prefix" in capsys.readouterr().err
    assert run("ls", tmp_path / "plain.pth", "--strip-prefix", "_orig_mod") == 2
    assert "starts with '_orig_mod.'" in capsys.readouterr().err
    clash = {"module.w": torch.ones(2), "w": torch.zeros(2)}
    torch.save(clash, tmp_path / "clash.pth")
    with pytest.raises(UnusableInput, match="two tensors"):
        plan_strip(paramtui.open_checkpoint(tmp_path / "clash.pth"), "module.")
    assert run("convert", tmp_path / "clash.pth", tmp_path / "c.pth", "--strip-prefix=module") == 2
    assert not (tmp_path / "c.pth").exists()


def test_a_source_that_needs_code_is_refused_for_pth(tmp_path: Path) -> None:
    ckpt = {"model": wrapped_state(), "args": argparse.Namespace(lr=0.1)}  # weights_only refuses
    torch.save(ckpt, tmp_path / "ns.pth")
    assert run("convert", tmp_path / "ns.pth", tmp_path / "o.pth", "--strip-prefix", "-q") == 2
    assert not (tmp_path / "o.pth").exists()
    out = tmp_path / "o.safetensors"  # tensors are copied as they are: no load needed
    args = ("--strip-prefix", "--untie", "--tensors-only", "-q")
    assert run("convert", tmp_path / "ns.pth", out, *args) == 0
    assert set(load_file(out)) == {f"model.{k}" for k in Tied().state_dict()}


def test_the_prefix_option_before_the_paths_gets_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.save(wrapped_state(), tmp_path / "dp.pth")
    assert run("convert", "--strip-prefix", tmp_path / "dp.pth", tmp_path / "o.pth") == 2
    assert "--strip-prefix=PREFIX" in capsys.readouterr().err


def test_snapshots_are_not_renamed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paramtui.snapshot(nn.DataParallel(bare()), tmp_path / "snap.pth")
    assert run("convert", tmp_path / "snap.pth", tmp_path / "o.pth", "--strip-prefix") == 2
    assert "snapshot" in capsys.readouterr().err
