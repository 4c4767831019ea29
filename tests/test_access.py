"""Lazy tensor access (paramtui.core.access) against torch.load / safetensors as oracles."""

from __future__ import annotations

import math
import os
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

import paramtui
from paramtui.core import access
from paramtui.core.errors import UnusableInput
from paramtui.core.model import TensorInfo

FLOAT8 = [
    torch.float8_e4m3fn,
    torch.float8_e4m3fnuz,
    torch.float8_e5m2,
    torch.float8_e5m2fnuz,
    torch.float8_e8m0fnu,
]


def bits(t: torch.Tensor) -> bytes:
    """The tensor's elements in logical order as raw bytes: equality is bit-for-bit."""
    flat = t.detach().reshape(-1).contiguous()
    return flat.view(torch.uint8).numpy().tobytes()


def assert_same(got: torch.Tensor, want: torch.Tensor) -> None:
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    assert bits(got) == bits(want)


def every_dtype(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(5, 7, generator=g) * 3
    out = {str(d).removeprefix("torch."): base.to(d) for d in (torch.float64, torch.float32)}
    out |= {"float16": base.half(), "bfloat16": base.bfloat16(), "complex64": base.to(torch.cfloat)}
    for d in FLOAT8:
        out[str(d).removeprefix("torch.")] = base.abs().to(d)
    ints = torch.randint(-100, 100, (5, 7), generator=g)
    for d in (torch.int64, torch.int32, torch.int16, torch.int8):
        out[str(d).removeprefix("torch.")] = ints.to(d)
    for d in (torch.uint8, torch.uint16, torch.uint32, torch.uint64):
        out[str(d).removeprefix("torch.")] = ints.abs().to(d)
    out["bool"] = ints > 0
    out["scalar"] = torch.tensor(2.5)
    out["empty"] = torch.empty(0, 3)
    return out


def open_all(path: Path) -> dict[str, torch.Tensor]:
    index = paramtui.open_checkpoint(path)
    return {info.name: access.open_tensor(info) for info in index}


def test_safetensors_every_dtype_bit_for_bit(tmp_path: Path) -> None:
    tensors = {k: v for k, v in every_dtype().items() if "fnuz" not in k and "e8m0" not in k}
    path = tmp_path / "all.safetensors"
    save_file(tensors, path)
    opened = open_all(path)
    assert set(opened) == set(tensors)
    for name, tensor in tensors.items():
        assert_same(opened[name], tensor)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_torch_save_views_ties_and_dtypes(tmp_path: Path, legacy: bool) -> None:
    g = torch.Generator().manual_seed(1)
    big = torch.randn(6, 8, generator=g)
    state = {
        "big": big,
        "transposed": big.t(),
        "slice": big[1:4, 2:7],
        "tied": big,
        "permuted": torch.randn(3, 4, 5, generator=g).permute(2, 0, 1),
        "bf16_t": torch.randn(4, 6, generator=g).bfloat16().t(),
        "fp8": torch.randn(9, generator=g).to(torch.float8_e4m3fn),
        "bool": torch.rand(7, generator=g) > 0.5,
        "complex64": torch.randn(3, 2, dtype=torch.complex64, generator=g),
        "scalar": torch.tensor(-1.25),
        "empty": torch.empty(0, 2),
    }
    if legacy:  # torch cannot read float8 back from legacy files
        del state["fp8"]
    path = tmp_path / "views.pt"
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    want = torch.load(path, weights_only=True)
    index = paramtui.open_checkpoint(path)
    for name, tensor in want.items():
        got = access.open_tensor(index.tensor(name))
        assert_same(got, tensor)
        assert got.stride() == tensor.stride(), name
        assert got.data_ptr() % got.element_size() == 0, name  # unaligned bytes are copied
    assert index.tensor("tied").storage_id == index.tensor("transposed").storage_id


@pytest.mark.parametrize("chunk", [1, 3, 7, 40, 1 << 20])
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_iter_chunks_cover_logical_order(tmp_path: Path, chunk: int, legacy: bool) -> None:
    g = torch.Generator().manual_seed(2)
    base = torch.randn(4, 5, 6, generator=g)
    state = {
        "contiguous": base,
        "transposed": base.transpose(0, 2),
        "slice": base[1:3, ::2, 1:],
        "half_t": base.half()[0].t(),
        "scalar": torch.tensor(7.0),
    }
    path = tmp_path / "c.pt"
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    index = paramtui.open_checkpoint(path)
    for name, tensor in state.items():
        chunks = list(access.iter_chunks(index.tensor(name), chunk))
        assert all(c.dim() == 1 and c.is_contiguous() and c.numel() <= chunk for c in chunks)
        assert sum(c.numel() for c in chunks) == tensor.numel()
        assert_same(torch.cat(chunks), tensor.reshape(-1))


def test_contiguous_chunks_are_zero_copy_views(tmp_path: Path) -> None:
    path = tmp_path / "z.safetensors"
    save_file({"w": torch.arange(100, dtype=torch.float32)}, path)
    info = paramtui.open_checkpoint(path).tensor("w")
    whole = access.open_tensor(info)
    chunks = list(access.iter_chunks(info, 30))
    assert [c.numel() for c in chunks] == [30, 30, 30, 10]
    assert chunks[1].data_ptr() == whole.data_ptr() + 30 * 4


def test_iter_tensor_chunks_on_live_views() -> None:
    base = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    for view in (base, base.permute(3, 1, 0, 2), base[:, 1:, ::2], base.expand(2, 2, 3, 4, 5)[1]):
        for chunk in (1, 4, 13, 1000):
            chunks = list(access.iter_tensor_chunks(view, chunk))
            assert all(c.numel() <= chunk for c in chunks)
            assert torch.equal(torch.cat(chunks), view.reshape(-1))


def test_coalesce_and_extent() -> None:
    assert access.coalesce((2, 3, 4), (12, 4, 1)) == ((24,), (1,))
    assert access.coalesce((4, 1, 3), (1, 99, 4)) == ((4, 3), (1, 4))
    assert access.coalesce((), ()) == ((), ())
    assert access.extent((3, 4), (1, 3)) == 12
    assert access.extent((2, 2), (10, 1)) == 12


def test_truncated_file_raises_unusable_input(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    save_file({"first": torch.ones(1000), "second": torch.ones(1000)}, path)
    index = paramtui.open_checkpoint(path)
    assert access.open_tensor(index.tensor("second")).sum() == 1000  # mapped before truncation
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 100)
    assert access.open_tensor(index.tensor("first")).sum() == 1000
    with pytest.raises(UnusableInput, match="truncated"):
        access.open_tensor(index.tensor("second"))
    with pytest.raises(UnusableInput, match="truncated"):
        list(access.iter_chunks(index.tensor("second")))


def test_unreadable_infos_raise_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "q.safetensors"
    save_file({"a": torch.ones(8, dtype=torch.uint8)}, path)
    info = paramtui.open_checkpoint(path).tensor("a")
    cases = {
        "not say where": replace(info, location=None),
        "quantized": replace(info, dtype="qint8"),
        "sparse": replace(info, layout="sparse"),
        "unknown": replace(info, dtype="float4_e2m1"),
    }
    for message, bad in cases.items():
        assert access.unviewable_reason(bad) is not None
        with pytest.raises(UnusableInput, match=message):
            access.open_tensor(bad)
    too_long = replace(info, shape=(16,))
    with pytest.raises(UnusableInput, match="holds only 8 bytes"):
        access.open_tensor(too_long)


def test_big_endian_machines_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "e.safetensors"
    save_file({"a": torch.ones(2)}, path)
    info = paramtui.open_checkpoint(path).tensor("a")
    monkeypatch.setattr(sys, "byteorder", "big")
    with pytest.raises(UnusableInput, match="little-endian"):
        access.open_tensor(info)


def test_replaced_file_is_remapped(tmp_path: Path) -> None:
    path = tmp_path / "r.safetensors"
    save_file({"a": torch.zeros(4)}, path)
    first = access.open_tensor(paramtui.open_checkpoint(path).tensor("a"))
    tmp = tmp_path / "r.tmp"
    save_file({"a": torch.full((4,), 3.0)}, tmp)
    os.replace(tmp, path)
    second = access.open_tensor(paramtui.open_checkpoint(path).tensor("a"))
    assert first.tolist() == [0.0] * 4  # the old mapping stays valid
    assert second.tolist() == [3.0] * 4


def test_file_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_file({"a": torch.zeros(1024)}, path)
    before = path.read_bytes()
    tensor = access.open_tensor(paramtui.open_checkpoint(path).tensor("a"))
    tensor.add_(1)  # private copy-on-write pages: the file is untouched
    access.forget(str(path))
    assert path.read_bytes() == before


def test_threads_share_one_mapping(tmp_path: Path) -> None:
    path = tmp_path / "th.safetensors"
    save_file({f"t{i}": torch.full((256,), float(i)) for i in range(16)}, path)
    index = paramtui.open_checkpoint(path)
    access.forget()
    sums: dict[str, float] = {}

    def work(info: TensorInfo) -> None:
        sums[info.name] = float(access.open_tensor(info).sum())

    threads = [threading.Thread(target=work, args=(info,)) for info in index]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sums == {f"t{i}": 256.0 * i for i in range(16)}
    assert len([p for p in access._maps if p == str(path)]) == 1


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc (Linux)")
def test_release_pages_returns_rss(tmp_path: Path) -> None:
    path = tmp_path / "big.safetensors"
    save_file({"a": torch.ones(16 << 20, dtype=torch.float32)}, path)  # 64 MiB
    info = paramtui.open_checkpoint(path).tensor("a")
    tensor = access.open_tensor(info)
    assert float(tensor.sum()) == 16 << 20
    touched = _rss_bytes()
    access.release_pages(info)
    assert touched - _rss_bytes() > 48 << 20
    assert float(tensor.sum()) == 16 << 20  # pages come back from the file


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=0, max_size=4),
    data=st.data(),
    chunk=st.integers(1, 50),
)
def test_chunks_of_any_permuted_slice(shape: list[int], data: st.DataObject, chunk: int) -> None:
    base = torch.arange(max(1, math.prod(shape)), dtype=torch.float32).reshape(shape)
    view = base.permute(tuple(data.draw(st.permutations(range(len(shape))))))
    if view.dim():
        view = view[:: data.draw(st.integers(1, 2))]
    chunks = list(access.iter_tensor_chunks(view, chunk))
    assert all(c.numel() <= chunk for c in chunks)
    got = torch.cat(chunks) if chunks else torch.empty(0)
    assert torch.equal(got, view.reshape(-1))
