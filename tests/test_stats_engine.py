"""The chunk runner (threads, cancellation, progress, page release), histograms built from
bucket tables (snapped edges, the second pass) and quantile ranks."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import paramtui
from paramtui.analysis.stats import cache, chunked, engine, quantiles, snap
from paramtui.analysis.stats import compute as stats_module
from paramtui.analysis.stats.chunked import run_chunks
from paramtui.analysis.stats.compute import StatsCancelled, compute_stats, tensor_stats
from paramtui.core import access


@pytest.fixture(autouse=True)
def small_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARAMTUI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(chunked, "CHUNK", 1000)
    cache.forget_all()


def file_info(tmp_path: Path, tensor: torch.Tensor):  # type: ignore[no-untyped-def]
    path = tmp_path / "e.safetensors"
    save_file({"t": tensor}, path)
    return paramtui.open_checkpoint(path).tensor("t")


def mixed(dtype: torch.dtype, n: int = 30_000) -> torch.Tensor:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(n, generator=g, dtype=torch.float64) * 2
    x[::97] = 0
    if dtype.is_floating_point and dtype.itemsize > 1:
        x[12_345] = math.nan
        x[20_001] = -math.inf
    return x.to(dtype) if dtype.is_floating_point else (x * 30).to(dtype)


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.bfloat16, torch.float8_e4m3fn, torch.int8, torch.float64]
)
def test_any_number_of_threads_gives_the_same_result(
    monkeypatch: pytest.MonkeyPatch, dtype: torch.dtype
) -> None:
    t = mixed(dtype)
    results = []
    for workers in (2, 3, 5):
        monkeypatch.setattr(engine, "WORKERS", workers)
        results.append(tensor_stats("t", t))
    assert results[0] == results[1] == results[2]
    assert results[0].count == t.numel() and sum(results[0].histogram_counts) > 0


def test_threads_leave_torch_settings_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "WORKERS", 2)
    before = torch.get_num_threads()
    threads = threading.active_count()
    tensor_stats("t", torch.randn(20_000))
    assert torch.get_num_threads() == before and threading.active_count() == threads


@pytest.mark.parametrize(("workers", "cancel_at"), [(1, 3), (2, 2)])
def test_cancellation_between_chunks_on_threads(
    workers: int, cancel_at: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One thread asks before every chunk. With helpers, a stalled calling thread may find every
    chunk done after its first (helpers never ask): it still asks once more before merging, so
    a second answer of yes must cancel in any schedule, and no helper may outlive the call."""
    monkeypatch.setattr(engine, "WORKERS", workers)
    info = file_info(tmp_path, torch.randn(200_000))
    asked = [0]

    def ask() -> bool:
        asked[0] += 1
        if asked[0] == 1 and workers > 1:
            time.sleep(0.2)  # stall the calling thread: the helper may take every chunk
        return asked[0] >= cancel_at

    threads = threading.active_count()
    with pytest.raises(StatsCancelled):
        compute_stats(info, should_cancel=ask)
    assert asked[0] == cancel_at and threading.active_count() == threads


def test_errors_in_any_thread_reach_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "WORKERS", 3)

    def chunks():  # type: ignore[no-untyped-def]
        for i in range(50):
            if i == 30:
                raise ValueError("broken chunk")
            yield torch.ones(1000)

    with pytest.raises(ValueError, match="broken chunk"):
        run_chunks("t", "float32", 50_000, chunks, 64, None, None)


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_and_page_release_follow_the_slowest_thread(
    workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With helpers, how far the watermark gets between reports depends on the scheduler (a
    stalled calling thread may see every other chunk done at once), so only what holds for
    any schedule is checked there; one thread releases in regular steps."""
    monkeypatch.setattr(engine, "WORKERS", workers)
    monkeypatch.setattr(stats_module, "RELEASE_EVERY", 8000)
    info = file_info(tmp_path, torch.randn(100_000))
    released: list[int] = []
    monkeypatch.setattr(access, "release_bytes", lambda path, offset, n: released.append(n))
    seen: list[float] = []
    compute_stats(info, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 10
    assert released == sorted(released) and released[-1] == info.nbytes
    assert all(n % 4 == 0 for n in released)
    if workers == 1:
        assert len(released) >= info.nbytes // 8000 // 2


def test_nan_inf_zeros_and_tiny_values_in_float32_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "WORKERS", 2)
    x = torch.randn(10_000, dtype=torch.float32)
    x[100:200] = 0
    x[300] = -0.0
    x[400:410] = 1e-42  # below 2**-133: same table bucket as zero
    x[5000] = math.nan
    x[5001] = math.inf
    stats = tensor_stats("x", x)
    assert (stats.zeros, stats.nan, stats.posinf, stats.neginf) == (101, 1, 1, 0)
    finite = x[torch.isfinite(x)].double()
    assert stats.min == float(finite.min()) and stats.max == float(finite.max())
    assert stats.mean == pytest.approx(float(finite.mean()), rel=1e-6)


def test_values_far_from_zero_get_a_second_pass_with_equal_bins() -> None:
    x = 1.0 + torch.randn(20_000, generator=torch.Generator().manual_seed(1)) * 1e-3
    stats = tensor_stats("layer_norm.weight", x)
    edges = np.array(stats.histogram_edges)
    widths = np.diff(edges)
    assert np.all(widths == widths[0])  # whole cells of a power-of-two grid
    want, _ = np.histogram(x.double().numpy(), bins=edges)
    assert list(stats.histogram_counts) == want.tolist()
    assert stats.quantile_error is not None and stats.quantile_error < 1e-5


def test_edges_move_to_bucket_bounds_only_inside_full_buckets() -> None:
    lows = np.array([0.0, 1.0, 1.95, 3.0, 4.1, 5.0, 7.0])  # least value of each bucket
    counts = np.array([5, 0, 3, 4, 2, 0, 1])
    found = snap.snapped_histogram(lows, counts, 0.0, 8.0, 4)
    assert found == ([0.0, 1.95, 4.1, 6.0, 8.0], (5, 7, 2, 1))  # 6.0: its bucket is empty


def test_snapping_refuses_to_move_an_edge_far() -> None:
    lows = np.array([0.0, 1.0])
    counts = np.array([10, 10])
    assert snap.snapped_histogram(lows, counts, 0.0, 1.9, 4) is None


def test_ranks_match_numpy_for_every_size() -> None:
    for n in range(1, 300):
        values = np.arange(n)
        want = [np.quantile(values, p / 100, method="inverted_cdf") for p in quantiles.PERCENTILES]
        assert (quantiles.ranks(n) - 1).tolist() == want


def test_bounded_quantiles_hold_their_intervals() -> None:
    lows = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    found = quantiles.clipped(lows, lows + np.array([0, 0.5, 1, 2, 4, 8, 16]), (0.0, 12.0))
    assert found.values[1.0] == 0.0 and found.values[5.0] == 1.25
    assert found.values[99.0] == 9.0 and found.error >= 3.0  # [6, 12] after clipping
    for p, value in found.values.items():
        i = quantiles.PERCENTILES.index(p)
        assert found.lows[i] <= value <= found.highs[i]
        assert value - found.lows[i] <= found.error and found.highs[i] - value <= found.error
    exact = quantiles.exact(np.array([-1.0, 2.0, 7.0]), np.array([1, 98, 1]))
    assert exact is not None and exact.error == 0.0
    assert list(exact.values.values()) == [-1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_growth(work: Callable[[], object]) -> int:
    """The most RSS grew above its starting value while `work` ran (sampled every ms)."""
    start, peak, done = _rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return max(peak[0], _rss()) - start


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc (Linux)")
def test_rss_stays_flat_while_pages_are_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunked, "CHUNK", 1 << 18)
    # One thread: with helpers, a stalled calling thread lets them read ahead of the release
    # watermark by as much as the scheduler allows (the test above checks the watermark).
    monkeypatch.setattr(engine, "WORKERS", 1)
    info = file_info(tmp_path, torch.randn(24 << 20))  # 96 MiB
    access.release_pages(info)
    kept = _peak_rss_growth(lambda: compute_stats(info, cache=False, release=False))
    access.release_pages(info)
    released = _peak_rss_growth(lambda: compute_stats(info, cache=False))
    assert kept > 64 << 20  # the test can tell: without release the pages stay
    assert released < 32 << 20
