"""The zip writer produces checkpoints torch, zipfile and paramtui's reader all accept."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

import paramtui
from paramtui.core.formats.zipdir import read_records
from paramtui.io.zipwrite import ALIGNMENT, ZipWriter, copy_chunks


@pytest.mark.parametrize("force_zip64", [False, True])
def test_record_copy_round_trip(tmp_path: Path, force_zip64: bool) -> None:
    state = {"a": torch.randn(3, 4), "b": torch.arange(7), "c": torch.ones(2, dtype=torch.bfloat16)}
    state["t"] = state["a"].t()
    src, out = tmp_path / "src.pt", tmp_path / "out.pt"
    torch.save(state, src)
    with open(src, "rb") as f, open(out, "wb") as g:
        writer = ZipWriter(g, force_zip64=force_zip64)
        for record in read_records(str(src)):
            writer.write(record.name, copy_chunks(f, record.data_offset, record.size), record.size)
        writer.close()
    assert zipfile.ZipFile(out).testzip() is None  # every CRC is right
    for mmap in (False, True):
        loaded = torch.load(out, mmap=mmap, weights_only=True)
        assert all(torch.equal(loaded[k], v) for k, v in state.items())
        assert loaded["t"].untyped_storage().data_ptr() == loaded["a"].untyped_storage().data_ptr()
    index = paramtui.open_checkpoint(out)
    assert all(r.data_offset % ALIGNMENT == 0 for r in read_records(str(out)))
    assert index.shared_with("t") == ["a"]


def test_size_mismatch_is_refused(tmp_path: Path) -> None:
    with open(tmp_path / "x.zip", "wb") as f, pytest.raises(ValueError, match="expected 5"):
        ZipWriter(f).write("x", [b"abc"], 5)
