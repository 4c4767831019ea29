"""The index of every supported format, checked against torch.load / safetensors as oracles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.utils.serialization
from safetensors.torch import save_file

import paramtui
from checkpoints import (
    load_oracle,
    read_location,
    saved_as_device,
    storage_bytes,
    tiny_net,
    training_checkpoint,
    write_full_model_pickle,
    write_hf_sharded,
)
from paramtui.core.errors import UnusableInput


def assert_matches_oracle(path: Path) -> None:
    index = paramtui.open_checkpoint(path)
    oracle = load_oracle(path)
    assert list(index.tensors) == list(oracle)
    for name, tensor in oracle.items():
        info = index.tensor(name)
        assert info.shape == tuple(tensor.shape), name
        assert info.dtype == str(tensor.dtype).removeprefix("torch."), name
        assert info.stride == tensor.stride(), name
        assert info.storage_offset == tensor.storage_offset(), name
        loc = info.location
        assert loc is not None
        assert read_location(loc.path, loc.offset, loc.nbytes) == storage_bytes(tensor), name


def test_state_dict_zip(tmp_path: Path) -> None:
    path = tmp_path / "sd.pth"
    torch.save(tiny_net().state_dict(), path)
    assert_matches_oracle(path)
    index = paramtui.open_checkpoint(path)
    assert index.format == "torch zip"
    assert index.tensor("layers.3.weight").device == "cpu"
    assert index.shared_with("head.weight") == ["embed.weight"]
    assert index.tensor("bn.running_mean").role == "buffer"
    assert index.tensor("layers.3.bias").role == "parameter"
    assert not index.tensor("layers.3.bias").role_recorded


def test_nested_training_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "train.ckpt"
    torch.save(training_checkpoint(), path)
    assert_matches_oracle(path)
    index = paramtui.open_checkpoint(path)
    assert "optimizer.state.0.exp_avg" in index.tensors
    assert index.tensor("optimizer.state.0.exp_avg").role == "optimizer state"
    assert index.metadata["epoch"].preview == "3"
    assert index.metadata["hparams.name"].preview == "'tiny'"
    assert index.metadata["optimizer.param_groups.0.lr"].preview == "0.001"


@pytest.mark.parametrize(
    "dtype",
    [
        torch.bfloat16,
        torch.float16,
        torch.float8_e4m3fn,
        torch.float8_e5m2,
        torch.uint16,
        torch.int8,
        torch.bool,
        torch.complex64,
        torch.float64,
    ],
)
def test_every_dtype_and_views(tmp_path: Path, dtype: torch.dtype) -> None:
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6).to(dtype)
    path = tmp_path / "d.pt"
    torch.save({"base": base, "t": base.t(), "slice": base[1:3, 2:], "scalar": base[0, 0]}, path)
    assert_matches_oracle(path)
    index = paramtui.open_checkpoint(path)
    assert list(index.storage_groups().values()) == [["base", "t", "slice", "scalar"]]
    assert not index.tensor("t").is_contiguous


def test_legacy_file(tmp_path: Path) -> None:
    path = tmp_path / "legacy.pt"
    state = tiny_net().state_dict()
    state["t"] = state["layers.1.weight"].t()
    torch.save(state, path, _use_new_zipfile_serialization=False)
    assert_matches_oracle(path)
    assert paramtui.open_checkpoint(path).format == "torch legacy"


def test_cuda_tagged_storages_open_on_cpu(tmp_path: Path) -> None:
    path = tmp_path / "gpu.pt"
    with saved_as_device("cuda:1"):
        torch.save(training_checkpoint(), path)
    index = paramtui.open_checkpoint(path)
    assert {t.device for t in index} == {"cuda:1"}
    assert_matches_oracle(path)


def test_crc32_disabled(tmp_path: Path) -> None:
    path = tmp_path / "nocrc.pt"
    torch.utils.serialization.config.save.compute_crc32 = False
    try:
        torch.save({"w": torch.randn(5, 5)}, path)
    finally:
        torch.utils.serialization.config.save.compute_crc32 = True
    assert_matches_oracle(path)


def test_full_model_pickle_without_running_code(tmp_path: Path) -> None:
    path = write_full_model_pickle(tmp_path)
    with pytest.raises(Exception):  # noqa: B017 - weights_only refuses it; that is the point
        torch.load(path, weights_only=True)
    index = paramtui.open_checkpoint(path)
    assert set(index.tensors) == {
        "body.0.weight",
        "body.0.bias",
        "body.2.weight",
        "body.2.bias",
        "scale",
    }
    weight = index.tensor("body.0.weight")
    assert weight.role == "parameter" and weight.role_recorded
    assert weight.requires_grad is False
    assert index.tensor("body.2.weight").requires_grad is True
    assert index.tensor("scale").role == "buffer"
    assert any("ptui_secret_model.Secret" in n for n in index.notes)
    assert "ptui_secret_model" not in sys.modules


def test_hostile_pickle_is_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (subprocess.call, (["touch", str(marker)],))

    path = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "payload": Evil()}, path)
    index = paramtui.open_checkpoint(path)
    assert not marker.exists()
    assert "w" in index.tensors
    assert "payload" in index.metadata


def test_safetensors_with_metadata(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    tensors = {"a.weight": torch.randn(3, 4), "b": torch.zeros(2, dtype=torch.float8_e4m3fn)}
    save_file(tensors, path, metadata={"format": "pt", "note": "x"})
    index = paramtui.open_checkpoint(path)
    assert index.file_metadata == {"format": "pt", "note": "x"}
    assert index.tensor("b").dtype == "float8_e4m3fn"
    assert index.tensor("a.weight").device is None
    loc = index.tensor("a.weight").location
    assert loc is not None
    assert read_location(loc.path, loc.offset, loc.nbytes) == storage_bytes(tensors["a.weight"])


@pytest.mark.parametrize("kind", ["safetensors", "bin"])
def test_hf_sharded_folder(tmp_path: Path, kind: str) -> None:
    state = {k: v for k, v in tiny_net().state_dict().items() if k != "head.weight"}
    folder = write_hf_sharded(tmp_path / "hf", state, kind)
    index = paramtui.open_checkpoint(folder)
    assert set(index.tensors) == set(state)
    assert "2 shards" in index.format
    assert index.file_metadata["config.model_type"] == '"tiny"'
    for name, tensor in state.items():
        loc = index.tensor(name).location
        assert loc is not None
        assert read_location(loc.path, loc.offset, loc.nbytes) == storage_bytes(tensor), name


def test_hf_index_is_honoured_not_globbed(tmp_path: Path) -> None:
    state = {"a": torch.ones(2), "b": torch.zeros(3)}
    folder = write_hf_sharded(tmp_path / "hf", state, "safetensors")
    save_file({"stray": torch.ones(1)}, folder / "model-00009-of-00009.safetensors")
    assert set(paramtui.open_checkpoint(folder).tensors) == {"a", "b"}
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(UnusableInput, match="not a file"):
        paramtui.open_checkpoint(folder)


def test_hf_single_file_folder(tmp_path: Path) -> None:
    folder = tmp_path / "hf1"
    folder.mkdir()
    save_file({"x.weight": torch.ones(2, 2)}, folder / "model.safetensors")
    index = paramtui.open_checkpoint(folder)
    assert list(index.tensors) == ["x.weight"]
    assert index.format == "hugging face folder (safetensors)"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"hello world, not a checkpoint", "not a checkpoint"),
        (b"PK\x03\x04garbage", "damaged"),
        (b"\x80\x02K\x05.", "not a PyTorch checkpoint"),
    ],
)
def test_garbage_gets_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(UnusableInput, match=message):
        paramtui.open_checkpoint(path)


def test_truncated_files(tmp_path: Path) -> None:
    for name, save in [
        ("t.pt", lambda p: torch.save({"w": torch.randn(100, 100)}, p)),
        (
            "t_legacy.pt",
            lambda p: torch.save(
                {"w": torch.randn(100, 100)}, p, _use_new_zipfile_serialization=False
            ),
        ),
        ("t.safetensors", lambda p: save_file({"w": torch.randn(100, 100)}, p)),
    ]:
        path = tmp_path / name
        save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(UnusableInput):
            paramtui.open_checkpoint(path)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(UnusableInput, match="does not exist"):
        paramtui.open_checkpoint(tmp_path / "nope.pt")


def test_import_and_safetensors_index_do_not_import_heavy_modules(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_file({"a": torch.ones(2)}, path)
    zpath = tmp_path / "m.pt"
    torch.save({"a": torch.ones(2)}, zpath)
    code = (
        "import sys, paramtui\n"
        f"paramtui.open_checkpoint({str(path)!r})\n"
        f"paramtui.open_checkpoint({str(zpath)!r})\n"
        "heavy = [m for m in ('torch', 'textual', 'rich', 'numpy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_safetensors_header_length_starting_with_0x80(tmp_path: Path) -> None:
    """A header of 128 bytes makes the file start with 0x80, like a pickle."""
    for pad in range(200):
        path = tmp_path / "h.safetensors"
        save_file({"x": torch.ones(1), "y" * pad: torch.ones(1)}, path)
        if path.read_bytes()[:1] == b"\x80":
            break
    else:
        pytest.skip("no padding gave a 0x80 first byte")
    assert paramtui.open_checkpoint(path).format == "safetensors"


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fnuz, torch.float8_e5m2fnuz])
def test_safetensors_fnuz_dtypes(tmp_path: Path, dtype: torch.dtype) -> None:
    path = tmp_path / "f.safetensors"
    save_file({"x": torch.zeros(3, dtype=dtype)}, path)
    assert paramtui.open_checkpoint(path).tensor("x").dtype == str(dtype).removeprefix("torch.")


def test_safetensors_empty_tensor_shares_nothing(tmp_path: Path) -> None:
    """An empty tensor and the next one start at the same offset; they are not tied."""
    path = tmp_path / "e.safetensors"
    save_file({"a": torch.zeros(0), "b": torch.ones(3)}, path)
    index = paramtui.open_checkpoint(path)
    assert index.shared_with("a") == [] and index.shared_with("b") == []


def test_pickle_asking_for_a_huge_allocation_is_inert(tmp_path: Path) -> None:
    """bytearray(10**13) would need 10 TB; the restricted unpickler never calls it."""
    import pickle
    import zipfile

    class Bomb:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (bytearray, (10**13,))

    path = tmp_path / "bomb.pt"
    torch.save({"w": torch.ones(2)}, path)
    with zipfile.ZipFile(path) as zf:
        records = {n: zf.read(n) for n in zf.namelist()}
    prefix = next(n for n in records if n.endswith("data.pkl"))
    records[prefix] = pickle.dumps({"payload": Bomb()}, protocol=4)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in records.items():
            zf.writestr(name, data)
    index = paramtui.open_checkpoint(path)
    assert "payload" in index.metadata


def test_opening_leaves_the_cycle_collector_as_it_was(tmp_path: Path) -> None:
    import gc

    path = tmp_path / "t.safetensors"
    save_file({"w": torch.ones(2)}, path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")
    assert gc.isenabled()
    paramtui.open_checkpoint(path)
    with pytest.raises(UnusableInput):
        paramtui.open_checkpoint(bad)
    assert gc.isenabled()
    gc.disable()
    try:
        paramtui.open_checkpoint(path)
        assert not gc.isenabled()
    finally:
        gc.enable()
