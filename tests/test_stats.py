"""The statistics engine against float64 numpy references, on every dtype and hostile data."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import paramtui
from paramtui.analysis.stats import cache, chunked, native
from paramtui.analysis.stats.compute import StatsCancelled, TensorStats, compute_stats, tensor_stats
from paramtui.analysis.stats.quantiles import PERCENTILES
from paramtui.core import access

FLOATS = [torch.float64, torch.float32, torch.float16, torch.bfloat16]
FLOAT8 = [
    torch.float8_e4m3fn,
    torch.float8_e4m3fnuz,
    torch.float8_e5m2,
    torch.float8_e5m2fnuz,
    torch.float8_e8m0fnu,
]
INTS = [torch.int64, torch.int32, torch.int16, torch.int8]
UINTS = [torch.uint64, torch.uint32, torch.uint16, torch.uint8]


@pytest.fixture(autouse=True, params=["kernels", "torch"])
def private_cache(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test runs with the compiled kernels (where a C compiler exists) and with torch
    alone, with its own disk cache and an empty memory cache."""
    if request.param == "kernels" and native.kernels() is None:
        pytest.skip(f"compiled kernels: {native.status}")
    if request.param == "torch":
        monkeypatch.setattr(native, "_loaded", [None])
    monkeypatch.setenv("PARAMTUI_CACHE", str(tmp_path / "cache"))
    cache.forget_all()


def name_of(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def reference_values(t: torch.Tensor) -> np.ndarray:
    """The tensor's values as float64 numpy (|z| for complex); ints stay exact as Python ints."""
    t = t.detach().reshape(-1)
    if t.is_complex():
        return t.to(torch.complex128).abs().numpy()
    if t.dtype in (torch.uint64, torch.int64):
        return np.array([int(v) for v in t.view(torch.int64).tolist()], dtype=object)
    return t.to(torch.float64).numpy()


def check_against_reference(stats: TensorStats, t: torch.Tensor, rtol: float) -> None:
    values = reference_values(t)
    if t.dtype == torch.uint64:
        values = np.array([v % (1 << 64) for v in values], dtype=object)
    if values.dtype == object:  # exact integers
        assert stats.min == min(values) and stats.max == max(values)
        values = values.astype(np.float64)
    as_float = values.astype(np.float64)
    assert stats.count == as_float.size
    assert stats.nan == int(np.isnan(as_float).sum())
    assert stats.posinf == int((as_float == np.inf).sum())
    assert stats.neginf == int((as_float == -np.inf).sum())
    assert stats.zeros == int((as_float == 0).sum())
    finite = as_float[np.isfinite(as_float)]
    assert stats.finite_count == finite.size
    if finite.size == 0:
        assert stats.mean is None and stats.histogram_counts == () and stats.quantiles is None
        return
    assert stats.min == finite.min() and stats.max == finite.max()
    check_moments(stats, finite, rtol, bool_=t.dtype == torch.bool)
    check_histogram(stats, finite)
    check_quantiles(stats, finite, exact=t.dtype.itemsize <= 2 and not t.is_complex())


def check_quantiles(stats: TensorStats, finite: np.ndarray, exact: bool) -> None:
    """numpy's "inverted_cdf" quantiles: equal for 8/16-bit dtypes, else within the bound."""
    assert stats.quantiles is not None and stats.quantile_error is not None
    assert list(stats.quantiles) == list(PERCENTILES)
    for p, got in stats.quantiles.items():
        want = float(np.quantile(finite, p / 100, method="inverted_cdf"))
        if exact:
            assert got == want, p
        else:
            assert abs(got - want) <= stats.quantile_error, (p, got, want)
    if exact:
        assert stats.quantile_error == 0.0


def check_moments(stats: TensorStats, finite: np.ndarray, rtol: float, bool_: bool) -> None:
    """mean, mean |x|, std, L2 against numpy, both in units that keep float64 from overflowing."""
    reach = float(np.abs(finite).max())
    unit = 2.0 ** -(math.frexp(reach)[1] - 400) if reach > 2.0**500 else 1.0
    f = finite * unit
    assert stats.mean is not None and stats.abs_mean is not None
    assert stats.mean * unit == pytest.approx(f.mean(), rel=rtol, abs=rtol * reach * unit)
    assert stats.abs_mean * unit == pytest.approx(np.abs(f).mean(), rel=rtol)
    if bool_:
        return
    assert stats.std is not None and stats.l2 is not None
    assert stats.std * unit == pytest.approx(f.std(), rel=rtol, abs=rtol * reach * unit * 1e-3)
    with np.errstate(over="ignore"):
        want_l2 = np.sqrt((f * f).sum()) / unit
    assert (
        stats.l2 == pytest.approx(want_l2, rel=rtol)
        if math.isfinite(want_l2)
        else math.isinf(stats.l2)
    )


def check_histogram(stats: TensorStats, finite: np.ndarray) -> None:
    edges = np.array(stats.histogram_edges)
    assert len(edges) == len(stats.histogram_counts) + 1
    assert np.all(np.diff(edges) > 0)
    low, high = finite.min(), finite.max()
    assert edges[0] <= low and edges[-1] >= high
    if high > low:  # bins of whole grid cells reach less than 0.4% of the range beyond
        slack = (high / 2 - low / 2) * 0.008
        assert edges[0] - low / 2 >= low / 2 - slack and edges[-1] - high / 2 <= high / 2 + slack
    assert sum(stats.histogram_counts) == finite.size
    expected, _ = np.histogram(finite, bins=edges)
    assert list(stats.histogram_counts) == expected.tolist()  # exact for the reported edges


def from_file(tmp_path: Path, tensor: torch.Tensor, **kwargs: object) -> TensorStats:
    """compute_stats on the tensor written to a torch zip file (any dtype, any strides)."""
    path = tmp_path / "t.pt"
    torch.save({"t": tensor}, path)
    info = paramtui.open_checkpoint(path).tensor("t")
    return compute_stats(info, **kwargs)  # type: ignore[arg-type]


def random_data(dtype: torch.dtype, n: int = 5000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if dtype.is_floating_point:
        x = torch.randn(n, generator=g, dtype=torch.float64) * 3
        return (x.abs() if dtype == torch.float8_e8m0fnu else x).to(dtype)
    if dtype.is_complex:  # (complex32 has no randn)
        return torch.randn(n, generator=g, dtype=torch.complex128).to(dtype)
    if dtype == torch.bool:
        return torch.rand(n, generator=g) > 0.3
    info = torch.iinfo(dtype)
    low, high = max(info.min, -(2**62)), min(info.max, 2**62)
    return torch.randint(low, high, (n,), generator=g, dtype=torch.int64).to(dtype)


COMPLEX = [torch.complex32, torch.complex64, torch.complex128]
ALL = FLOATS + FLOAT8 + INTS + UINTS + COMPLEX + [torch.bool]


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")
@pytest.mark.parametrize("dtype", ALL, ids=name_of)
def test_random_data_matches_reference(tmp_path: Path, dtype: torch.dtype) -> None:
    t = random_data(dtype)
    stats = from_file(tmp_path, t)
    assert stats.dtype == name_of(dtype)
    rtol = 1e-5 if dtype in (torch.float32, torch.complex64) else 1e-9
    check_against_reference(stats, t, rtol)
    assert stats == tensor_stats("t", t)  # one engine for files and live tensors


def adversarial(dtype: torch.dtype) -> torch.Tensor:
    info = torch.finfo(dtype)
    values = [0.0, -0.0, 1.0, -2.5, info.tiny, -info.tiny, info.max, -info.max, info.max / 3]
    if dtype in (torch.float64, torch.float32, torch.float16):
        values += [info.tiny / 4, -info.tiny / 8]  # subnormals
    values += [math.nan, math.inf, -math.inf, math.nan]
    return torch.tensor(values * 7, dtype=torch.float64).to(dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=name_of)
def test_nan_inf_subnormals_and_extremes(tmp_path: Path, dtype: torch.dtype) -> None:
    t = adversarial(dtype)
    stats = from_file(tmp_path, t)
    check_against_reference(stats, t, 1e-6)
    assert stats.nan == 14 and stats.posinf == 7 and stats.neginf == 7
    assert any("NaN/Inf" in note for note in stats.notes)


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fn, torch.float8_e5m2], ids=name_of)
def test_float8_every_bit_pattern(tmp_path: Path, dtype: torch.dtype) -> None:
    t = torch.arange(256, dtype=torch.int32).to(torch.uint8).view(dtype).repeat(3)
    stats = from_file(tmp_path, t)
    check_against_reference(stats, t.to(torch.float64), 1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int16], ids=name_of)
def test_sixteen_bit_every_bit_pattern(tmp_path: Path, dtype: torch.dtype) -> None:
    t = torch.arange(1 << 16, dtype=torch.int32).to(torch.uint16).view(dtype)
    stats = from_file(tmp_path, t)
    check_against_reference(stats, t, 1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int32], ids=name_of)
def test_all_equal_and_negative_zero(tmp_path: Path, dtype: torch.dtype) -> None:
    stats = from_file(tmp_path, torch.full((300,), 7, dtype=dtype))
    assert (stats.mean, stats.std, stats.min, stats.max) == (7, 0, 7, 7)
    assert sum(stats.histogram_counts) == 300 and max(stats.histogram_counts) == 300
    if dtype.is_floating_point:
        stats = from_file(tmp_path, torch.tensor([-0.0, 0.0, -0.0], dtype=dtype))
        assert stats.zeros == 3 and stats.min == 0 and stats.max == 0


def test_empty_and_scalar(tmp_path: Path) -> None:
    empty = from_file(tmp_path, torch.empty(0, 4))
    assert empty.count == 0 and empty.mean is None and empty.histogram_edges == ()
    assert empty.zero_fraction == 0.0
    scalar = from_file(tmp_path, torch.tensor(-3.5))
    assert (scalar.count, scalar.mean, scalar.min, scalar.std) == (1, -3.5, -3.5, 0.0)
    all_nan = from_file(tmp_path, torch.full((5,), math.nan))
    assert all_nan.nan == 5 and all_nan.mean is None and "no finite values" in all_nan.notes


def test_non_contiguous_views(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(3)
    base = torch.randn(40, 30, generator=g)
    for view in (base.t(), base[5:20, ::3]):
        stats = from_file(tmp_path, view)
        check_against_reference(stats, view, 1e-6)


def test_bool_and_complex_notes(tmp_path: Path) -> None:
    flags = from_file(tmp_path, torch.tensor([True, False, True, True]))
    assert flags.mean == 0.75 and flags.std is None and flags.l2 is None
    assert any("fraction of True" in n for n in flags.notes)
    z = from_file(tmp_path, torch.tensor([3 + 4j, 0j], dtype=torch.complex64))
    assert (z.max, z.min, z.mean, z.zeros) == (5.0, 0.0, 2.5, 1)
    assert any("magnitude" in n for n in z.notes)


def test_uint64_and_int64_extremes_exact(tmp_path: Path) -> None:
    big = torch.tensor([0, 2**63 + 5, 2**64 - 1], dtype=torch.uint64)
    stats = from_file(tmp_path, big)
    assert (stats.min, stats.max) == (0, 2**64 - 1)
    ints = torch.tensor([-(2**63), 2**63 - 1, 2**53 + 1], dtype=torch.int64)
    stats = from_file(tmp_path, ints)
    assert (stats.min, stats.max) == (-(2**63), 2**63 - 1)
    assert sum(stats.histogram_counts) == 3


@pytest.mark.parametrize(
    "data",
    [
        torch.arange(20000, dtype=torch.float32),  # the range grows with every chunk
        -torch.arange(20000, dtype=torch.float32) * 1e-3,  # and downwards
        torch.cat([torch.zeros(5000), torch.randn(5000) * 1e-30, torch.randn(5000) * 1e30]),
        torch.logspace(-30, 30, 9000, dtype=torch.float32) * torch.tensor([1.0, -1.0]).repeat(4500),
        torch.cat([torch.full((4000,), 1.0), 1.0 + torch.randn(8000) * 1e-4]),  # flat, then not
        torch.cat([torch.randn(6000) * 1e5, torch.tensor([-1e-45, 1e-45, -0.0])]),  # subnormals
        1e20 + torch.arange(7000, dtype=torch.float64) * 1e5,  # huge against the range
    ],
    ids=["up", "down", "scales", "logspace", "flat-first", "subnormal", "offset"],
)
def test_chunk_merging_and_regridding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: torch.Tensor
) -> None:
    monkeypatch.setattr(chunked, "CHUNK", 1000)
    stats = from_file(tmp_path, data)
    check_against_reference(stats, data, 1e-5)


def test_histogram_beyond_two_to_the_24() -> None:
    n = (1 << 24) + 3  # float32 counters would stop at 2**24
    for dtype in (torch.float32, torch.bfloat16):
        t = torch.zeros(n, dtype=dtype)
        t[-1] = 1
        stats = tensor_stats("big", t)
        assert stats.histogram_counts[0] == n - 1 and stats.histogram_counts[-1] == 1
        assert stats.zeros == n - 1 and stats.mean == pytest.approx(1 / n)


def test_cancellation_and_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunked, "CHUNK", 100)
    path = tmp_path / "p.safetensors"
    save_file({"w": torch.randn(100_000)}, path)
    info = paramtui.open_checkpoint(path).tensor("w")
    seen: list[float] = []
    compute_stats(info, progress=seen.append)
    assert 10 <= len(seen) <= 51 and seen == sorted(seen) and seen[-1] == 1.0
    asked = [0]

    def cancel_on_third() -> bool:
        asked[0] += 1
        return asked[0] >= 3

    with pytest.raises(StatsCancelled):
        compute_stats(info, should_cancel=cancel_on_third, cache=False)
    assert asked[0] == 3


def test_release_is_called(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.safetensors"
    save_file({"w": torch.randn(1000)}, path)
    info = paramtui.open_checkpoint(path).tensor("w")
    released: list[str] = []
    monkeypatch.setattr(access, "release_pages", lambda i: released.append(i.name))
    compute_stats(info)
    compute_stats(info, release=False)
    assert released == ["w"]


def test_unreadable_tensors_get_a_note(tmp_path: Path) -> None:
    path = tmp_path / "u.safetensors"
    save_file({"w": torch.randn(10)}, path)
    info = paramtui.open_checkpoint(path).tensor("w")
    for bad, words in [
        (replace(info, dtype="quint4x2"), "quantized"),
        (replace(info, layout="sparse"), "sparse"),
        (replace(info, location=None), "in place"),
    ]:
        stats = compute_stats(bad)
        assert stats.mean is None and words in stats.notes[0]


def test_to_dict_is_json_safe() -> None:
    t = torch.tensor([1.7e308, -1.7e308, math.nan], dtype=torch.float64)
    out = tensor_stats("x", t).to_dict()
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text)["l2"] == "inf" and out["nan"] == 1 and out["finite_count"] == 2
    assert out["std"] == pytest.approx(1.7e308) and out["mean"] == 0.0
    assert out["histogram"]["counts"] == list(tensor_stats("x", t).histogram_counts)


def test_importing_the_engine_does_not_import_torch() -> None:
    code = "import sys, paramtui.analysis.stats.compute; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
