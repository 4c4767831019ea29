"""Saving edits of torch.distributed.checkpoint (DCP) folders: to one .pth / .safetensors, to a
new DCP folder, and any checkpoint to DCP. torch's own dcp.load / torch.load are the oracles."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
import torch.distributed.checkpoint as dcp
from safetensors.torch import load_file
from textual.widgets import Checkbox
from torch.distributed.checkpoint.metadata import (
    ChunkStorageMetadata,
    MetadataIndex,
    TensorProperties,
)
from torch.distributed.checkpoint.planner import TensorWriteData, WriteItem, WriteItemType

import paramtui
from checkpoints import training_checkpoint
from paramtui.core.errors import SaveRefused
from paramtui.edits.ops import Freeze, Prune, Zero
from paramtui.edits.session import EditSession
from paramtui.io import dcp_source
from paramtui.io.save import default_save_path, save
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.screens.save_as import SaveAsScreen
from tui_helpers import SIZE, wait_for


class Rows(torch.Tensor):
    """A tensor DCP saves as row blocks, as it saves a row-sharded DTensor."""

    @staticmethod
    def __new__(cls, t: torch.Tensor, parts: int):  # type: ignore[no-untyped-def]
        obj = torch.Tensor._make_subclass(cls, t)
        step = -(-t.shape[0] // parts)
        obj.full, obj.blocks = t, [(i, min(step, len(t) - i)) for i in range(0, len(t), step)]
        return obj

    def __create_write_items__(self, fqn, obj):  # type: ignore[no-untyped-def]
        t, zeros = self.full, [0] * (self.full.dim() - 1)
        return [
            WriteItem(
                index=MetadataIndex(fqn, (start, *zeros)),
                type=WriteItemType.SHARD,
                tensor_data=TensorWriteData(
                    chunk=ChunkStorageMetadata(
                        offsets=torch.Size([start, *zeros]), sizes=torch.Size([n, *t.shape[1:]])
                    ),
                    properties=TensorProperties.create_from_tensor(t),
                    size=t.size(),
                ),
            )
            for start, n in self.blocks
        ]

    def __get_tensor_shard__(self, index):  # type: ignore[no-untyped-def]
        start = index.offset[0]
        return self.full[start : start + dict(self.blocks)[start]]


def dcp_save(state: dict, folder: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "assuming a single process"
        dcp.save(state, checkpoint_id=folder, no_dist=True)
    return folder


def dcp_load(template: dict, folder: Path | str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dcp.load(template, checkpoint_id=folder, no_dist=True)
    return template


def source_state() -> dict:
    """What a training loop passes to dcp.save: nested model and optimizer, plain values."""
    torch.manual_seed(0)
    return {
        "model": {
            "embed.weight": torch.randn(9, 4),
            "fc.weight": torch.randn(3, 4),
            "fc.bias": torch.randn(3),
            "half": torch.randn(2, 5).to(torch.bfloat16),
        },
        "epoch": 7,
        "run": {"name": "tiny", "sizes": [1, 2]},
    }


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    return dcp_save(source_state(), tmp_path / "ckpt")


@pytest.fixture
def sharded(tmp_path: Path) -> Path:
    state = source_state()
    state["model"]["embed.weight"] = Rows(state["model"]["embed.weight"], 3)
    state["model"]["fc.weight"] = Rows(state["model"]["fc.weight"], 2)
    return dcp_save(state, tmp_path / "sharded")


def template() -> dict:
    want = source_state()
    model = {k: torch.zeros_like(v) for k, v in want["model"].items()}
    return {"model": model, "epoch": None, "run": {"name": None, "sizes": None}}


def edited(folder: Path) -> EditSession:
    session = EditSession(paramtui.open_checkpoint(folder))
    session.apply(Zero("model.fc.bias"))
    session.apply(Freeze("model.half"))
    return session


def leftovers(folder: Path) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(".")]


# ------------------------------------------------------------- DCP -> one file


@pytest.mark.parametrize("kind", ["plain", "sharded"])
def test_dcp_to_pth_rebuilds_the_nested_state_with_edits(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    folder = request.getfixturevalue(kind)
    report = save(edited(folder), str(tmp_path / "out.pth"))
    assert (report.format, report.method, report.verified) == ("torch", "torch.save", True)
    got = torch.load(tmp_path / "out.pth", weights_only=True)
    want = source_state()
    assert list(got) == ["model", "epoch", "run"] and got["epoch"] == 7
    assert got["run"] == {"name": "tiny", "sizes": [1, 2]}
    for name, value in want["model"].items():
        expected = torch.zeros(3) if name == "fc.bias" else value
        assert torch.equal(got["model"][name], expected), name
    reopened = paramtui.open_checkpoint(tmp_path / "out.pth")
    assert reopened.tensor("model.half").requires_grad is False
    assert leftovers(tmp_path) == []  # no temp file, no scratch folder


def test_sharded_dcp_to_safetensors_assembles_every_tensor(sharded: Path, tmp_path: Path) -> None:
    session = EditSession(paramtui.open_checkpoint(sharded))
    assert session.info("model.embed.weight").layout == "dcp-sharded"
    with pytest.raises(SaveRefused, match="non-tensor entries"):
        save(session, str(tmp_path / "w.safetensors"))
    save(session, str(tmp_path / "w.safetensors"), tensors_only=True)
    got = load_file(tmp_path / "w.safetensors")
    for name, value in source_state()["model"].items():
        assert torch.equal(got[f"model.{name}"], value), name
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("dest", ["out.pth", "out.safetensors", "out-dcp"])
def test_edits_of_sharded_tensors_are_saved(sharded: Path, tmp_path: Path, dest: str) -> None:
    session = EditSession(paramtui.open_checkpoint(sharded))
    session.apply(Zero("model.fc.weight"))
    session.apply(Prune("model.embed.weight", threshold=0.5))
    pruned = session.tensor("model.embed.weight")
    want = source_state()["model"]
    kept = want["embed.weight"].abs() >= 0.5
    assert torch.equal(pruned, torch.where(kept, want["embed.weight"], 0.0))
    out = tmp_path / dest
    if dest.endswith(".safetensors"):
        save(session, str(out), tensors_only=True)
        got = {k.removeprefix("model."): v for k, v in load_file(out).items()}
    elif dest.endswith(".pth"):
        save(session, str(out))
        got = torch.load(out, weights_only=True)["model"]
    else:
        save(session, str(out), format="dcp")
        got = dcp_load(template(), out)["model"]
    assert torch.equal(got["fc.weight"], torch.zeros(3, 4))
    assert torch.equal(got["embed.weight"], pruned)
    for name in ("fc.bias", "half"):  # untouched
        assert torch.equal(got[name].view(torch.uint8), want[name].view(torch.uint8)), name


def test_default_save_path_of_a_dcp_folder_keeps_its_entries(plain: Path) -> None:
    assert default_save_path(str(plain)) == f"{plain}.edited.pth"


def test_an_entry_that_needs_code_is_refused_for_pth_but_copied_to_dcp(tmp_path: Path) -> None:
    state = source_state()
    state["args"] = argparse.Namespace(lr=0.1)  # weights_only cannot rebuild it
    folder = dcp_save(state, tmp_path / "ns")
    session = EditSession(paramtui.open_checkpoint(folder))
    with pytest.raises(SaveRefused, match=r"'args'.*running code.*--format dcp"):
        save(session, str(tmp_path / "out.pth"))
    assert not (tmp_path / "out.pth").exists() and leftovers(tmp_path) == []
    save(session, str(tmp_path / "copy"), format="dcp")
    before, after = dcp_source.payloads(str(folder)), dcp_source.payloads(str(tmp_path / "copy"))
    assert after["args"].read() == before["args"].read()


# ------------------------------------------------------------- to a DCP folder


@pytest.mark.parametrize("kind", ["plain", "sharded"])
def test_dcp_to_new_dcp_folder_loads_with_dcp_load(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    folder = request.getfixturevalue(kind)
    out = tmp_path / "out"
    report = save(edited(folder), str(out), format="dcp")
    assert (report.format, report.verified, report.checks) == ("dcp", True, 4)
    assert report.bytes_written == sum(f.stat().st_size for f in out.iterdir())
    got = dcp_load(template(), out)
    assert got["epoch"] == 7 and got["run"] == {"name": "tiny", "sizes": [1, 2]}
    for name, value in source_state()["model"].items():
        expected = torch.zeros(3) if name == "fc.bias" else value
        assert torch.equal(got["model"][name], expected), name
    reopened = paramtui.open_checkpoint(out)
    assert all(info.layout == "strided" for info in reopened)  # one process: whole tensors
    assert dcp_source.read_intents(str(out)) == {"model.half": False}
    assert reopened.tensor("model.half").requires_grad is False  # shown when opened again
    src, dst = dcp_source.payloads(str(folder)), dcp_source.payloads(str(out))
    assert {k: p.read() for k, p in src.items()} == {k: p.read() for k, p in dst.items()}
    assert leftovers(tmp_path) == [] and sorted(os.listdir(folder)) == [
        ".metadata",
        "__0_0.distcp",
    ]


def test_training_pth_to_dcp_keeps_model_optimizer_and_values(tmp_path: Path) -> None:
    source = tmp_path / "train.pth"
    torch.save(training_checkpoint(), source)
    session = EditSession(paramtui.open_checkpoint(source))
    session.apply(Zero("model.layers.3.weight"))
    report = save(session, str(tmp_path / "train_dcp"), format="dcp")
    assert any("shared storage" in note for note in report.notes)  # the tied embedding
    want = training_checkpoint()
    reopened = paramtui.open_checkpoint(tmp_path / "train_dcp")
    assert set(reopened.tensors) == set(session.names())
    model = {k: torch.empty_like(v) for k, v in want["model"].items()}
    values = {"epoch": None, "hparams": {"lr": None, "name": None}}
    got = dcp_load({"model": model, **values}, tmp_path / "train_dcp")
    assert got["epoch"] == 3 and got["hparams"] == {"lr": 1e-3, "name": "tiny"}
    assert torch.count_nonzero(got["model"]["layers.3.weight"]) == 0
    assert torch.equal(got["model"]["layers.4.bias"], want["model"]["layers.4.bias"])


def test_safetensors_to_dcp(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    tensors = {"a.weight": torch.randn(4, 3), "a.bias": torch.arange(3.0)}
    save_file(tensors, tmp_path / "w.safetensors")
    save(
        EditSession(paramtui.open_checkpoint(tmp_path / "w.safetensors")),
        str(tmp_path / "d"),
        format="dcp",
    )
    got = dcp_load({k: torch.empty_like(v) for k, v in tensors.items()}, tmp_path / "d")
    assert all(torch.equal(got[k], v) for k, v in tensors.items())


# ------------------------------------------------------------- atomic, refusals


def test_existing_dcp_folder_needs_overwrite_and_is_replaced_whole(
    plain: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    save(EditSession(paramtui.open_checkpoint(plain)), str(out), format="dcp")
    (out / "stale.txt").write_text("from an older save")
    with pytest.raises(SaveRefused, match="already holds a DCP checkpoint"):
        save(edited(plain), str(out), format="dcp")
    save(edited(plain), str(out), format="dcp", overwrite=True)
    assert not (out / "stale.txt").exists()
    assert torch.count_nonzero(dcp_load(template(), out)["model"]["fc.bias"]) == 0
    assert leftovers(tmp_path) == []


def test_a_folder_that_is_not_a_dcp_checkpoint_is_never_replaced(
    plain: Path, tmp_path: Path
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(SaveRefused, match="no DCP checkpoint"):
        save(edited(plain), str(tmp_path / "mine"), format="dcp", overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    save(edited(plain), str(tmp_path / "empty"), format="dcp")  # an empty folder is fine
    assert (tmp_path / "empty" / ".metadata").exists()


def test_a_folder_holding_the_source_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    torch.save({"w": torch.ones(2)}, tmp_path / "dir" / "w.pth")
    session = EditSession(paramtui.open_checkpoint(tmp_path / "dir" / "w.pth"))
    with pytest.raises(SaveRefused, match="holds the checkpoint being saved"):
        save(session, str(tmp_path / "dir"), format="dcp", overwrite=True)
    assert (tmp_path / "dir" / "w.pth").exists()


def test_saving_over_the_source_folder_with_overwrite(plain: Path) -> None:
    report = save(edited(plain), str(plain), format="dcp", overwrite=True)
    assert report.replaced_source and "reopen" in report.notes[-1]
    assert torch.count_nonzero(dcp_load(template(), plain)["model"]["fc.bias"]) == 0
    assert leftovers(plain.parent) == []


def test_a_failed_verification_leaves_the_destination_alone(
    plain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    save(EditSession(paramtui.open_checkpoint(plain)), str(out), format="dcp")
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    monkeypatch.setattr("paramtui.io.verify.verify", lambda *a, **k: (4, ["model.fc.bias differs"]))
    with pytest.raises(SaveRefused, match="did not verify.*fc.bias differs"):
        save(edited(plain), str(out), format="dcp", overwrite=True)
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before
    assert leftovers(tmp_path) == []


def test_unknown_format_and_folder_destination_name_dcp(plain: Path, tmp_path: Path) -> None:
    session = EditSession(paramtui.open_checkpoint(plain))
    with pytest.raises(SaveRefused, match="'dcp'"):
        save(session, str(tmp_path / "x.pth"), format="zip")
    kept = save(session, str(tmp_path / "x"))  # no extension: the source's format, not DCP
    assert kept.format == "torch" and not (tmp_path / "x").is_dir()
    with pytest.raises(SaveRefused, match="is a file"):
        (tmp_path / "f").write_text("")
        save(session, str(tmp_path / "f"), format="dcp")


# ------------------------------------------------------------- command line


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "paramtui", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def test_cli_edit_and_convert_to_and_from_dcp(sharded: Path, tmp_path: Path) -> None:
    proc = run("edit", sharded, tmp_path / "e", "--format", "dcp", "--zero", "model.fc.bias")
    assert proc.returncode == 0, proc.stderr
    assert "dcp, torch.distributed.checkpoint.save" in proc.stdout and "verified" in proc.stdout
    assert torch.count_nonzero(dcp_load(template(), tmp_path / "e")["model"]["fc.bias"]) == 0
    proc = run("convert", tmp_path / "e", tmp_path / "e.pth")
    assert proc.returncode == 0, proc.stderr
    got = torch.load(tmp_path / "e.pth", weights_only=True)
    assert torch.equal(got["model"]["embed.weight"], source_state()["model"]["embed.weight"])
    proc = run("convert", tmp_path / "e.pth", tmp_path / "e", "--format", "dcp")
    assert proc.returncode == 2 and "already holds a DCP checkpoint" in proc.stderr
    proc = run(
        "convert", tmp_path / "e.pth", tmp_path / "e2", "--format", "dcp", "--shard-size", "1KB"
    )
    assert proc.returncode == 2 and "--shard-size does not apply to --format dcp" in proc.stderr
    assert "--format dcp" in run("edit", "--help").stdout
    assert "dcp.load" in run("convert", "--help").stdout
    proc = run("convert", sharded, f"{tmp_path / 'bins'}/", "--format", "bin", "--tensors-only")
    assert proc.returncode == 0, proc.stderr  # sharded tensors assembled into .bin shards
    shard = torch.load(tmp_path / "bins" / "pytorch_model-00001-of-00001.bin", weights_only=True)
    assert torch.equal(shard["model.embed.weight"], source_state()["model"]["embed.weight"])


def test_tui_save_as_writes_a_dcp_folder(sharded: Path) -> None:
    async def drive() -> str:
        app = ParamtuiApp(paramtui.open_checkpoint(sharded))
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.screen.query("#tree"))
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, SaveAsScreen))
            dialog = app.screen
            assert isinstance(dialog, SaveAsScreen)
            assert dialog.destination().endswith(".edited.pth")
            dialog.query_one("#save-dcp", Checkbox).value = True
            await pilot.pause()
            assert dialog.destination() == f"{sharded}.edited"  # a folder name now
            await pilot.press("enter")
            await wait_for(pilot, lambda: dialog.report is not None, timeout=60)
            assert dialog.report is not None and dialog.report.format == "dcp"
            return dialog.destination()

    out = asyncio.run(drive())
    got = dcp_load(template(), out)
    for name, value in source_state()["model"].items():
        assert torch.equal(got["model"][name], value), name
