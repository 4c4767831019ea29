"""Statistics of tensors stored in pieces: block-quantized GGUF tensors (dequantized in bounded
chunks) and sharded DCP tensors (read chunk by chunk in place), against float64 numpy references
on the dequantized / whole tensor."""

from __future__ import annotations

import math
import os
import pickle
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.distributed.checkpoint as dcp
from sources_helpers import (
    CUTS,
    Tiles,
    oracle,
    save_dcp,
    write_gguf,
    write_sharded,
    write_undecodable_gguf,
)
from test_stats import check_against_reference

import paramtui
from paramtui.analysis.stats import cache
from paramtui.analysis.stats.compute import StatsCancelled, compute_stats
from paramtui.core import pieces
from paramtui.core.errors import UnusableInput
from paramtui.core.formats import dcp as dcp_format
from paramtui.core.formats import dcp_load
from paramtui.core.model import DataLocation, TensorInfo


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARAMTUI_CACHE", str(tmp_path / "cache"))
    cache.forget_all()


# ---------------------------------------------------------------- GGUF files


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    write_gguf(tmp_path / "m.gguf")
    return tmp_path / "m.gguf"


@pytest.mark.parametrize(
    "name",
    ["blk.0.q8.weight", "blk.0.q4.weight", "blk.0.q4k.weight", "blk.0.q6k.weight", "wide.weight"],
)
def test_gguf_stats_match_the_dequantized_tensor(gguf_file: Path, name: str) -> None:
    info = paramtui.open_checkpoint(gguf_file).tensor(name)
    stats = compute_stats(info)
    want = oracle(gguf_file, name)
    assert stats.dtype == info.dtype and stats.count == info.numel == want.numel()
    check_against_reference(stats, want, 1e-5)
    kind = info.dtype.removeprefix("gguf:")
    assert any(f"dequantized from GGUF {kind}" in note for note in stats.notes), stats.notes


def test_gguf_nan_blocks_are_counted_and_left_out(gguf_file: Path) -> None:
    info = paramtui.open_checkpoint(gguf_file).tensor("blk.0.nan.weight")
    stats = compute_stats(info)
    want = oracle(gguf_file, "blk.0.nan.weight")
    assert stats.nan == 32 == int(torch.isnan(want).sum())
    check_against_reference(stats, want, 1e-5)


def test_gguf_stats_are_cached_and_can_be_cancelled(gguf_file: Path) -> None:
    old = gguf_file.stat().st_mtime - 60  # a file changed a moment ago is not cached
    os.utime(gguf_file, (old, old))
    info = paramtui.open_checkpoint(gguf_file).tensor("wide.weight")
    with pytest.raises(StatsCancelled):
        compute_stats(info, should_cancel=lambda: True)
    seen: list[float] = []
    first = compute_stats(info, progress=seen.append)
    assert seen[-1] == 1.0 and first.mean is not None
    assert compute_stats(info) is first  # remembered: the same object back


def test_gguf_type_the_package_cannot_dequantize(tmp_path: Path) -> None:
    write_undecodable_gguf(tmp_path / "k.gguf")
    info = paramtui.open_checkpoint(tmp_path / "k.gguf").tensor("w")
    stats = compute_stats(info)
    assert stats.mean is None and stats.count == 512
    assert "cannot dequantize Q8_K" in stats.notes[0] and "pip install -U gguf" in stats.notes[0]
    with pytest.raises(pieces.Unreadable, match="cannot dequantize Q8_K"):
        pieces.region_reader(info)


def test_gguf_truncated_blocks_raise_a_clear_error(gguf_file: Path) -> None:
    info = paramtui.open_checkpoint(gguf_file).tensor("blk.0.q8.weight")
    size = gguf_file.stat().st_size
    beyond = replace(info, location=DataLocation(str(gguf_file), size - 100, info.nbytes))
    with pytest.raises(UnusableInput, match="truncated"):
        compute_stats(beyond)
    with pytest.raises(UnusableInput, match="truncated"):
        pieces.region_reader(beyond)


# ---------------------------------------------------------------- sharded DCP folders


@pytest.fixture(params=[True, False], ids=["one-file", "file-per-chunk"])
def sharded(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, dict]:
    folder = tmp_path / ("ckpt-one" if request.param else "ckpt-many")
    return folder, write_sharded(folder, one_file=request.param)


@pytest.fixture
def no_whole_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if anything assembles a whole tensor with torch's DCP reader."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a whole tensor was loaded")

    monkeypatch.setattr(dcp_load, "load_tensors", refuse)


@pytest.mark.usefixtures("no_whole_loads")
def test_dcp_sharded_stats_match_the_whole_tensor(sharded) -> None:
    folder, state = sharded
    index = paramtui.open_checkpoint(folder)
    for name, want in state.items():
        info = index.tensor(name)
        assert info.layout == "dcp-sharded", name
        stats = compute_stats(info)
        assert stats.dtype == info.dtype, name
        rtol = 1e-5 if want.dtype == torch.float32 else 1e-9
        check_against_reference(stats, want, rtol)
        count = len(dcp_format.saved_chunks(info).parts)
        assert count == math.prod(len(cuts) for cuts in CUTS[name]), name
        assert f"read from its {count} saved chunks" in " ".join(stats.notes), name
    assert compute_stats(index.tensor("grid")).nan == 1
    one_file = folder.name.endswith("one")
    assert len(index.files) == (1 if one_file else 21)  # 3 + 9 + 2 + 4 + 3 chunks


def test_dcp_sharded_stats_after_a_rename(sharded) -> None:
    folder, state = sharded
    info = paramtui.open_checkpoint(folder).tensor("rows")
    renamed = replace(info, name="model.rows")  # what stripping a wrapper prefix does
    stats = compute_stats(renamed)
    assert stats.name == "model.rows"
    check_against_reference(stats, state["rows"], 1e-5)


def test_dcp_chunks_that_do_not_cover_the_tensor_are_explained(tmp_path: Path) -> None:
    full = torch.arange(12.0).reshape(4, 3)
    folder = save_dcp({"w": Tiles(full, [[0, 2], [0]])}, tmp_path / "c")
    meta = dcp.FileSystemReader(str(folder)).read_metadata()  # our own file: safe to unpickle
    meta.state_dict_metadata["w"].chunks.pop()
    (folder / ".metadata").write_bytes(pickle.dumps(meta))
    info = paramtui.open_checkpoint(folder).tensor("w")
    stats = compute_stats(info)
    assert stats.mean is None
    assert "saved chunks hold 6 values, not the 12" in stats.notes[0]
    with pytest.raises(pieces.Unreadable, match="hold 6 values"):
        pieces.region_reader(info)


def test_a_tensor_without_its_folder_is_explained() -> None:
    info = TensorInfo("w", (2, 2), "float32", None, (2, 1), 0, "dcp:w", None, layout="dcp-sharded")
    with pytest.raises(UnusableInput, match="does not name the DCP folder"):
        compute_stats(info)


def test_scan_checks_sharded_and_quantized_tensors(sharded, gguf_file: Path) -> None:
    from paramtui.analysis.scan.run import scan

    folder, _ = sharded
    found = scan(paramtui.open_checkpoint(folder))
    assert not [n for n in found.notes if "could not be checked" in n]
    nan = [f for f in found.findings if f.kind == "nan"]
    assert [f.names for f in nan] == [("grid",)]
    found = scan(paramtui.open_checkpoint(gguf_file))
    assert not [n for n in found.notes if "could not be checked" in n]
    assert [f.names for f in found.findings if f.kind == "nan"] == [("blk.0.nan.weight",)]


def test_module_sizes_count_the_quantized_bytes(gguf_file: Path) -> None:
    from paramtui.core.tree import build_tree

    index = paramtui.open_checkpoint(gguf_file)
    q4 = index.tensor("blk.0.q4.weight")
    assert q4.nbytes == q4.numel // 32 * 18  # Q4_0: 18 bytes per block of 32 values
    root = build_tree(index)
    assert root.nbytes == sum(info.nbytes for info in index)
