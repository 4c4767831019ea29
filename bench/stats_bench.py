"""Statistics throughput against a plain `torch.sum` over the same mmap'd tensor.

`stats_rows()` returns markdown table rows (header first) for bench/run.py; running this file
prints them. Inputs are generated once into bench/data/ (git-ignored). Each dtype is measured in
a fresh subprocess (so its peak RSS is its own), with the page cache warm: the baselines and
compute_stats (cache off, pages released as it goes, as a scan does) alternate, and their medians
are compared, so machine noise hits all of them.

float8 has no torch.sum; its baseline is torch.sum over the same bytes viewed as float32 (the
same memory traffic), the fastest way torch has to read them.

Each dtype is measured twice: with the compiled kernels (stats.native; when a C compiler is
present) and with torch alone (PARAMTUI_NATIVE=0, what a machine without a compiler gets).
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).parent / "data"
FILE = DATA / "stats-512m.safetensors"
ELEMENTS = 128 << 20  # 512 MiB of float32, 256 MiB of bfloat16, 128 MiB of float8
REPEATS = 7
CASES = [("fp32", "float32"), ("bf16", "bfloat16"), ("fp8", "float8_e4m3fn")]
ENGINES = {"compiled kernels": "", "torch only": "0"}  # -> PARAMTUI_NATIVE
MIB = 1 << 20


def stats_file() -> Path:
    """The benchmark checkpoint: the same N(0, 0.02) values (1 in 10^6 zeroed) in each dtype."""
    if FILE.exists():
        return FILE
    import torch
    from safetensors.torch import save_file

    DATA.mkdir(parents=True, exist_ok=True)
    x = torch.randn(ELEMENTS, generator=torch.Generator().manual_seed(0)).mul_(0.02)
    x[::1_000_003] = 0
    tensors = {"fp32": x, "bf16": x.bfloat16(), "fp8": x.to(torch.float8_e4m3fn)}
    temp = FILE.with_suffix(".tmp")
    save_file(tensors, temp)
    os.replace(temp, FILE)
    return FILE


def warm(path: Path) -> None:
    """Read the file once so it sits in the page cache (without mapping it here)."""
    with open(path, "rb") as f:
        while f.read(64 * MIB):
            pass


def stats_rows() -> list[str]:
    path = stats_file()
    warm(path)
    rows = [
        "| dtype | engine | elements | size | `torch.sum`, pages mapped "
        "| `torch.sum`, fresh mapping | `compute_stats` (cache off) | ratio to mapped "
        "| ratio to fresh | peak RSS growth |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (name, label), engine in itertools.product(CASES, ENGINES):
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(path), name],
            capture_output=True, text=True, check=True,
            env={**os.environ, "PARAMTUI_NATIVE": ENGINES[engine]},
        )  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        size = r["bytes"] / MIB
        if r["engine"] != engine:
            engine = f"{engine}: {r['status']}"
        rows.append(
            f"| {label} | {engine} | {r['elements']:,} | {size:.0f} MiB | {_rate(r, 'mapped_s')} "
            f"| {_rate(r, 'fresh_s')} | {_rate(r, 'stats_s')} "
            f"| {r['mapped_s'] / r['stats_s']:.0%} | {r['fresh_s'] / r['stats_s']:.0%} "
            f"| {r['rss_growth'] / MIB:.0f} MiB |"
        )
        print(rows[-1], file=sys.stderr)
    return rows


def _rate(r: dict[str, float], key: str) -> str:
    return f"{r[key] * 1e3:.1f} ms ({r['bytes'] / r[key] / (1 << 30):.1f} GiB/s)"


def measure(path: str, name: str) -> dict[str, float]:
    """In a fresh process: peak RSS growth of one compute_stats, then alternating timings.
    "Fresh mapping": the tensor's pages were just dropped (as compute_stats leaves them), so
    the sum maps them in again from the page cache; "pages mapped": a second sum right after."""
    import torch

    import paramtui
    from paramtui.analysis.stats import native
    from paramtui.analysis.stats.compute import compute_stats
    from paramtui.core import access

    info = paramtui.open_checkpoint(path).tensor(name)
    before = _rss()
    compute_stats(info, cache=False)
    growth = _peak() - before
    tensor = access.open_tensor(info)
    if tensor.dtype.itemsize == 1 and tensor.dtype.is_floating_point:
        tensor = tensor.view(torch.float32)  # float8: no torch.sum; the same bytes
    times: dict[str, list[float]] = {"fresh_s": [], "mapped_s": [], "stats_s": []}
    for _ in range(REPEATS):
        access.release_pages(info)
        times["fresh_s"].append(_timed(tensor.sum))
        times["mapped_s"].append(_timed(tensor.sum))
        access.release_pages(info)
        times["stats_s"].append(_timed(lambda: compute_stats(info, cache=False)))
    medians = {key: statistics.median(values) for key, values in times.items()}
    engine = "compiled kernels" if native.kernels() else "torch only"
    return {
        "elements": info.numel, "bytes": info.nbytes, "rss_growth": growth, "engine": engine,
        "status": native.status, **medians,
    }  # fmt: skip


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
    else:
        print("\n".join(stats_rows()))
