"""The statistics pass that runs on a live tensor's own device (a GPU). No GPU here: the same
path is driven on the CPU (large serial chunks, torch alone, scratch made on the chunk's device)
and must agree with the float64 references; bench/gpu_check.py runs it on a real device."""

from __future__ import annotations

import pytest
import torch
from test_stats import check_against_reference

from paramtui.analysis.stats import chunked, native
from paramtui.analysis.stats.compute import tensor_stats


@pytest.fixture
def as_if_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every live tensor takes the device pass, in chunks of 1000, without compiled kernels
    (they read host memory only); returns the sizes of the chunks the device pass saw (and -n
    for each host chunk of n elements)."""
    seen: list[int] = []
    chunks = chunked.access.iter_tensor_chunks

    def device_chunks(tensor: torch.Tensor, size: int, on_device: bool = False):  # type: ignore[no-untyped-def]
        for chunk in chunks(tensor, size, on_device):
            seen.append(chunk.numel() if on_device else -chunk.numel())
            yield chunk

    monkeypatch.setattr(chunked, "counted_on_device", lambda tensor: True)
    monkeypatch.setattr(chunked, "DEVICE_CHUNK", 1000)
    monkeypatch.setattr(chunked.access, "iter_tensor_chunks", device_chunks)
    monkeypatch.setattr(native, "_loaded", [None])
    return seen


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float8_e4m3fn, torch.int8]
)
def test_device_pass_matches_the_references(as_if_on_a_gpu: list[int], dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4500, generator=g) * 3
    x[::7] = 0.0
    if dtype.is_floating_point:
        x[11], x[12] = float("nan"), float("inf")
    t = x.to(dtype) if dtype.is_floating_point else x.clamp(-100, 100).to(dtype)
    found = tensor_stats("x", t.reshape(45, 100))
    check_against_reference(found, t, rtol=1e-6)
    assert as_if_on_a_gpu == [1000, 1000, 1000, 1000, 500]


def test_device_pass_with_a_second_histogram_pass(as_if_on_a_gpu: list[int]) -> None:
    x = 1000 + torch.randn(3000, generator=torch.Generator().manual_seed(6)) * 0.01
    found = tensor_stats("x", x)  # far from zero: the top-16-bit buckets are too coarse
    check_against_reference(found, x, rtol=1e-6)
    device = [n for n in as_if_on_a_gpu if n > 0]
    host = [-n for n in as_if_on_a_gpu if n < 0]
    assert device == [1000, 1000, 1000] and sum(host) == 3000  # the finer pass: host chunks


def test_cpu_and_complex_tensors_stay_on_the_host_path() -> None:
    assert not chunked.counted_on_device(torch.ones(3))
    assert not chunked.counted_on_device(torch.ones(3, device="meta"))
