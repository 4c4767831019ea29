"""io.save: one front door for every writer, reading any core.state.CheckpointState."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import paramtui
from checkpoints import load_oracle, training_checkpoint
from paramtui.core.errors import SaveRefused
from paramtui.core.prefix import plan_strip
from paramtui.core.state import SourceState
from paramtui.edits import EditSession, Freeze, Zero
from paramtui.io.save import save


@pytest.fixture
def ddp_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    tensors = {
        "module.fc.weight": torch.randn(64, 32),
        "module.fc.bias": torch.randn(64),
        "module.out.weight": torch.randn(8, 64),
    }
    path = tmp_path / "ddp.safetensors"
    save_file(tensors, path)
    return path


def test_source_state_writes_the_file_as_it_is(tmp_path: Path) -> None:
    src = tmp_path / "train.pth"
    torch.save(training_checkpoint(), src)
    state = SourceState(paramtui.open_checkpoint(src))
    report = save(state, str(tmp_path / "copy.pth"))
    assert report.verified and report.edited == [] and report.method == "record rewrite"
    before, after = load_oracle(src), load_oracle(tmp_path / "copy.pth")
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    tied = state.info("model.head.weight").storage_id
    assert state.sharing(tied) == ["model.embed.weight", "model.head.weight"]


def test_a_folder_destination_gets_shards(ddp_file: Path, tmp_path: Path) -> None:
    session = EditSession(paramtui.open_checkpoint(ddp_file))
    session.apply(Zero("module.out.weight"))
    report = save(session, str(tmp_path / "hf") + "/", shard_size="10KB")
    assert report.index_file == "model.safetensors.index.json" and len(report.files) == 2
    weight_map = json.loads((tmp_path / "hf" / report.index_file).read_text())["weight_map"]
    shard = load_file(tmp_path / "hf" / weight_map["module.out.weight"])
    assert not shard["module.out.weight"].any()
    assert report.edited == ["module.out.weight"] and not session.dirty


def test_rename_strips_the_prefix_into_one_file_or_shards(ddp_file: Path, tmp_path: Path) -> None:
    index = paramtui.open_checkpoint(ddp_file)
    plan = plan_strip(index, None)
    one = save(SourceState(index), str(tmp_path / "plain.safetensors"), rename=plan)
    assert sorted(load_file(one.path)) == ["fc.bias", "fc.weight", "out.weight"]
    sharded = save(SourceState(index), str(tmp_path / "shards"), shard_size=10**6, rename=plan)
    names = json.loads((tmp_path / "shards" / sharded.index_file).read_text())["weight_map"]
    assert sorted(names) == ["fc.bias", "fc.weight", "out.weight"]


def test_rename_refuses_unsaved_edits(ddp_file: Path, tmp_path: Path) -> None:
    session = EditSession(paramtui.open_checkpoint(ddp_file))
    session.apply(Freeze("module.fc"))
    plan = plan_strip(session.index, None)
    with pytest.raises(SaveRefused, match="unsaved edits"):
        save(session, str(tmp_path / "plain.safetensors"), rename=plan)
    assert not (tmp_path / "plain.safetensors").exists()


def test_dcp_refuses_shards_and_renames(ddp_file: Path, tmp_path: Path) -> None:
    state = SourceState(paramtui.open_checkpoint(ddp_file))
    with pytest.raises(SaveRefused, match="shard size does not apply to a DCP folder"):
        save(state, str(tmp_path / "dcp"), format="dcp", shard_size="1GB")
    assert not (tmp_path / "dcp").exists()


def test_a_bad_shard_size_is_refused(ddp_file: Path, tmp_path: Path) -> None:
    state = SourceState(paramtui.open_checkpoint(ddp_file))
    for size in (0, "-3GB", "lots"):
        with pytest.raises(SaveRefused, match="shard size"):
            save(state, str(tmp_path / "hf"), shard_size=size)
