"""The statistics cache: hits, invalidation, damaged entries, the off switch, eviction."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import paramtui
from paramtui.analysis.stats import cache, chunked
from paramtui.analysis.stats.compute import compute_stats, tensor_stats
from paramtui.core.model import TensorInfo


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("PARAMTUI_CACHE", str(folder))
    monkeypatch.delenv("PARAMTUI_NO_CACHE", raising=False)
    monkeypatch.setattr(cache, "DISK_MIN_ELEMENTS", 0)
    cache.forget_all()
    return folder


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts computations (a cache hit makes none)."""
    counted: list[int] = []
    real = chunked.run_chunks

    def counting(*args: object, **kwargs: object) -> object:
        counted.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(chunked, "run_chunks", counting)
    return counted


def settled(path: Path, seconds_ago: float = 10.0) -> None:
    """Give the file an mtime in the past: files changed a moment ago are never cached."""
    then = time.time() - seconds_ago
    os.utime(path, (then, then))


def checkpoint(tmp_path: Path, value: float = 1.0, name: str = "c.safetensors") -> TensorInfo:
    path = tmp_path / name
    save_file({"w": torch.randn(4000) + value}, path)
    settled(path)
    return paramtui.open_checkpoint(path).tensor("w")


def test_second_call_is_a_hit_from_memory_then_from_disk(tmp_path: Path, runs: list[int]) -> None:
    info = checkpoint(tmp_path)
    first = compute_stats(info)
    assert compute_stats(info) == first and len(runs) == 1
    cache.forget_all()
    seen: list[float] = []
    assert compute_stats(info, progress=seen.append) == first  # read back from disk, exactly
    assert len(runs) == 1 and seen == [1.0]
    assert compute_stats(info, bins=10) != first and len(runs) == 2  # bins are part of the key
    assert compute_stats(info, cache=False) == first and len(runs) == 3


def test_changed_file_is_recomputed(tmp_path: Path, runs: list[int]) -> None:
    info = checkpoint(tmp_path, 1.0)
    first = compute_stats(info)
    again = checkpoint(tmp_path, 5.0)  # same name, size and layout; new content and mtime
    second = compute_stats(again)
    assert len(runs) == 2 and second.mean != first.mean
    assert second.mean == pytest.approx(5.0, abs=0.1)


def test_file_changed_a_moment_ago_is_not_cached(tmp_path: Path, runs: list[int]) -> None:
    info = checkpoint(tmp_path)
    settled(Path(info.location.path), seconds_ago=0.0)  # type: ignore[union-attr]
    compute_stats(info)
    compute_stats(info)
    assert len(runs) == 2 and not list((tmp_path / "cache").glob("*.json"))


def test_damaged_entries_are_ignored_and_removed(tmp_path: Path, runs: list[int]) -> None:
    info = checkpoint(tmp_path)
    first = compute_stats(info)
    [entry] = (tmp_path / "cache").glob("*.json")
    for damage in (b"{not json", b'{"format": "x"}', json.dumps({"format": cache.FORMAT}).encode()):
        entry.write_bytes(damage)
        cache.forget_all()
        assert compute_stats(info) == first  # recomputed, and written again
        assert json.loads(entry.read_text())["format"] == cache.FORMAT
    assert len(runs) == 4
    wrong_key = json.loads(entry.read_text())
    wrong_key["key"] = wrong_key["key"].replace('"w"', '"other"')
    entry.write_text(json.dumps(wrong_key))
    cache.forget_all()
    assert compute_stats(info) == first and len(runs) == 5


def test_environment_turns_the_disk_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runs: list[int]
) -> None:
    monkeypatch.setenv("PARAMTUI_NO_CACHE", "1")
    info = checkpoint(tmp_path)
    compute_stats(info)
    cache.forget_all()
    compute_stats(info)
    assert len(runs) == 2 and not (tmp_path / "cache").exists()


def test_default_folder_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARAMTUI_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.directory() == tmp_path / "xdg" / "paramtui" / "stats"


def test_small_tensors_stay_in_memory_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "DISK_MIN_ELEMENTS", 1 << 20)
    compute_stats(checkpoint(tmp_path))
    assert not (tmp_path / "cache").exists()


def test_eviction_removes_least_recently_used(tmp_path: Path) -> None:
    folder = tmp_path / "entries"
    folder.mkdir()
    for i in range(10):
        path = folder / f"{i}.json"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1000 + i, 1000 + i))
    cache.evict(folder, 5000)
    left = sorted(int(p.stem) for p in folder.glob("*.json"))
    assert left == [7, 8, 9]  # down to 3/4 of the limit, oldest first


def test_memory_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MEMORY_ENTRIES", 3)
    for i in range(5):
        cache.remember(str(i), i)
    assert cache.recall("0") is None and cache.recall("4") == 4


def test_live_tensors_are_never_cached(tmp_path: Path, runs: list[int]) -> None:
    t = torch.randn(100)
    tensor_stats("t", t)
    t.add_(1)
    assert tensor_stats("t", t).mean == pytest.approx(float(t.double().mean()))
    assert len(runs) == 2 and not (tmp_path / "cache").exists()
