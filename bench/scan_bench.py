"""Peak memory of `paramtui scan` over a checkpoint far larger than the memory it may use.

The file is a generated safetensors file whose data region is a sparse hole (it reads as zeros,
so every page still passes through the page cache and counts as RSS while mapped). The scan must
release pages as it goes: its peak RSS should stay near the floor of a process that only
imports paramtui and torch and opens the index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import data

GIB = 1 << 30
BUDGET_MIB = 1024  # the memory we allow ourselves for scanning


def big_sparse_checkpoint(total: int = 16 * GIB) -> Path:
    path = data.DATA / "sparse-16g.safetensors"
    if not path.exists():
        data.DATA.mkdir(parents=True, exist_ok=True)
        per = 256 << 20  # 256 MiB tensors of float32 and bf16, alternating
        tensors = []
        for i in range(total // per):
            code, itemsize = ("F32", 4) if i % 2 == 0 else ("BF16", 2)
            tensors.append((f"model.layers.{i}.mlp.weight", (per // itemsize // 4096, 4096), code))
        _write_mixed(path, tensors)
    return path


def _write_mixed(path: Path, tensors: list[tuple[str, tuple[int, int], str]]) -> None:
    import struct

    header: dict[str, object] = {}
    offset = 0
    for name, shape, code in tensors:
        size = shape[0] * shape[1] * (4 if code == "F32" else 2)
        header[name] = {
            "dtype": code,
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        f.truncate(8 + len(raw) + offset)


FLOOR = "import torch, paramtui; paramtui.open_checkpoint(__import__('sys').argv[1])"


def scan_rows() -> list[str]:
    path = big_sparse_checkpoint()
    size_gib = path.stat().st_size / GIB
    floor = _peak([sys.executable, "-c", FLOOR, str(path)])[0]
    start = time.perf_counter()
    peak, code = _peak([sys.executable, "-m", "paramtui", "scan", str(path), "--json"])
    seconds = time.perf_counter() - start
    verdict = "within" if peak - floor < BUDGET_MIB else "OVER"
    return [
        "| checkpoint | size | scan time | throughput | peak RSS | RSS floor (imports + index) "
        f"| growth | budget ({BUDGET_MIB} MiB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| generated safetensors, {len(_names(path))} tensors fp32/bf16 | {size_gib:.1f} GiB "
        f"| {seconds:.1f} s | {size_gib / seconds:.2f} GiB/s | {peak:.0f} MiB | {floor:.0f} MiB "
        f"| {peak - floor:.0f} MiB | {verdict} (exit {code}) |",
    ]


def _names(path: Path) -> list[str]:
    import paramtui

    return list(paramtui.open_checkpoint(path).tensors)


def _peak(cmd: list[str]) -> tuple[float, int]:
    """Peak RSS (MiB) of one child process, measured from a fresh wrapper process."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, code)\n"
    )
    env = dict(os.environ, PARAMTUI_NO_CACHE="1")  # measure the scan, not the stats cache
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True, env=env
    )
    peak, code = out.stdout.split()
    return float(peak), int(code)


if __name__ == "__main__":
    print("\n".join(scan_rows()))
