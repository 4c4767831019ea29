"""The compiled counting kernels: same counts as torch, and a quiet fallback when they cannot be
built or loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from paramtui.analysis.stats import native
from paramtui.analysis.stats.compute import tensor_stats

needs_kernels = pytest.mark.skipif(
    native.kernels() is None, reason=f"compiled kernels: {native.status}"
)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A native module that has not decided yet, with an empty cache folder."""
    monkeypatch.setattr(native, "_loaded", [])
    monkeypatch.setenv("PARAMTUI_CACHE", str(tmp_path))
    return tmp_path / "native"


def f32_chunk(x: torch.Tensor) -> tuple[np.ndarray, list[float]]:
    table, out = np.zeros(1 << 16, dtype=np.int64), np.zeros(6)
    native.kernels().f32_chunk(x.data_ptr(), x.numel(), table.ctypes.data, out.ctypes.data)
    return table, out.tolist()


@needs_kernels
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 15, 17, 1000, 4099])
def test_float32_chunk_matches_torch(n: int) -> None:
    x = torch.randn(n, generator=torch.Generator().manual_seed(n)) * 1e3
    x[::5] = 0.0
    x[1::7] = -0.0
    x[2::11] = 1e-42  # subnormal
    table, (total, squares, magnitude, lo, hi, zeros) = f32_chunk(x)
    keys = (x.view(torch.int32) >> 16) + (1 << 15)
    assert table.tolist() == torch.bincount(keys, minlength=1 << 16).tolist()
    wide = x.double()
    assert total == pytest.approx(float(wide.sum()), rel=1e-12, abs=1e-9)
    assert squares == pytest.approx(float((wide * wide).sum()), rel=1e-12)
    assert magnitude == pytest.approx(float(wide.abs().sum()), rel=1e-12)
    assert zeros == int((x == 0).sum())
    if n:
        assert (lo, hi) == (float(x.min()), float(x.max()))


@needs_kernels
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("n", [0, 1, 31, 33, 1001])
def test_pattern_table_matches_bincount(dtype: torch.dtype, n: int) -> None:
    x = (torch.randn(n, generator=torch.Generator().manual_seed(1)) * 3).to(dtype)
    table = np.zeros(1 << 16, dtype=np.int64)
    native.kernels().u16_table(x.data_ptr(), n, table.ctypes.data)
    native.kernels().u16_table(x.data_ptr(), n, table.ctypes.data)  # adds to what is there
    keys = x.view(torch.uint16).to(torch.int32)
    assert table.tolist() == (2 * torch.bincount(keys, minlength=1 << 16)).tolist()


@needs_kernels
@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 1001])
def test_byte_table_matches_bincount(n: int) -> None:
    x = torch.randint(0, 256, (n,), dtype=torch.uint8, generator=torch.Generator().manual_seed(n))
    x[: n // 2] = 7  # long runs of one byte
    table = np.ones(256, dtype=np.int64)
    native.kernels().u8_table(x.data_ptr(), n, table.ctypes.data)  # adds to what is there
    assert table.tolist() == (1 + torch.bincount(x, minlength=256)).tolist()


def test_without_a_compiler_torch_gives_the_same_statistics(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = torch.randn(3000, generator=torch.Generator().manual_seed(2))
    x[7] = float("nan")
    monkeypatch.setenv("CC", "/bin/false")
    assert native.kernels() is None
    assert "compiling kernels.c failed" in native.status
    slow = tensor_stats("x", x)
    monkeypatch.setenv("CC", "no-such-compiler-here")
    monkeypatch.setattr(native, "_loaded", [])
    assert native.kernels() is None and "no C compiler" in native.status
    if os.environ.get("CC_FOR_TEST", "cc") and native.SOURCE.exists():
        monkeypatch.delenv("CC")
        monkeypatch.setattr(native, "_loaded", [])
        if native.kernels() is not None:
            fast = tensor_stats("x", x)
            assert (fast.nan, fast.zeros, fast.min, fast.max) == (1, slow.zeros, slow.min, slow.max)
            assert fast.histogram_counts == slow.histogram_counts
            assert fast.mean == pytest.approx(slow.mean, rel=1e-6)
            assert fast.std == pytest.approx(slow.std, rel=1e-6)


def test_environment_turns_the_kernels_off(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARAMTUI_NATIVE", "0")
    assert native.kernels() is None
    assert native.status.startswith("off (PARAMTUI_NATIVE=0)")
    assert not fresh.exists()  # nothing was compiled


def load_in_new_process(cache: Path) -> str:
    """native.status after loading in a fresh interpreter (this one keeps what it dlopen()ed)."""
    code = "from paramtui.analysis.stats import native; native.kernels(); print(native.status)"
    env = {**os.environ, "PARAMTUI_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@needs_kernels
def test_a_damaged_library_in_the_cache_is_rebuilt(fresh: Path) -> None:
    assert load_in_new_process(fresh.parent).startswith("on (")
    (built,) = fresh.glob("kernels-*.so")
    built.write_bytes(b"not a shared library")
    assert load_in_new_process(fresh.parent) == f"on ({built})"
    assert built.read_bytes()[:4] == b"\x7fELF"


@needs_kernels
def test_a_library_others_can_write_is_replaced_before_loading(fresh: Path) -> None:
    assert load_in_new_process(fresh.parent).startswith("on (")
    (built,) = fresh.glob("kernels-*.so")
    built.write_bytes(b"planted")
    built.chmod(0o666)
    assert load_in_new_process(fresh.parent) == f"on ({built})"
    assert built.read_bytes()[:4] == b"\x7fELF" and not built.stat().st_mode & 0o022
