"""`make bench`: timings as ratios against baselines measured in the same run.

Writes BENCHMARKS.md. The machines are shared and noisy: each figure is the median of a few runs,
and the ratios (not the absolute times) are what to compare between runs."""

from __future__ import annotations

import json
import os
import platform
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import data  # noqa: E402
from scan_bench import scan_rows  # noqa: E402
from stats_bench import stats_rows  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5


def median_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse_safetensors_headers(paths: list[Path]) -> None:
    for path in paths:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            json.loads(f.read(length))


def safetensors_files(path: Path) -> list[Path]:
    if path.is_dir():
        index = json.loads((path / "model.safetensors.index.json").read_text())
        return [path / shard for shard in dict.fromkeys(index["weight_map"].values())]
    return [path]


def header_baseline(path: Path) -> Callable[[], object]:
    if path.suffix == ".pth":
        import pickletools
        import zipfile

        def parse_pickle() -> None:  # the pickle's opcodes alone: no objects built
            with zipfile.ZipFile(path) as zf:
                name = next(n for n in zf.namelist() if n.endswith("data.pkl"))
                for _ in pickletools.genops(zf.read(name)):
                    pass

        return parse_pickle
    files = safetensors_files(path)
    return lambda: parse_safetensors_headers(files)


def index_and_tree(path: Path) -> None:
    import paramtui
    from paramtui.core.tree import build_tree

    index = paramtui.open_checkpoint(path)
    build_tree(index.tensors.values()).children  # noqa: B018 - the first level, as the TUI shows


def tui_marks(arg: str) -> dict[str, float]:
    runs = []
    for _ in range(3):
        env = dict(os.environ, PARAMTUI_T0=repr(time.time()))
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "tui_timing.py"), arg],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def open_benchmarks() -> list[str]:
    cases = [
        ("sharded safetensors folder, 2 GiB, 4 shards", data.sharded_safetensors_folder()),
        (".pth (torch zip), 2 GiB", data.big_pth()),
        ("safetensors header, 50,000 tensors", data.many_tensor_header()),
    ]
    bare = tui_marks("--baseline")["first_screen"]
    rows = [
        f"Bare Textual app (one Static), first screen: **{bare * 1000:.0f} ms** (baseline)",
        "",
        "| checkpoint | tensors | parse headers alone | index + tree (in-process) | ratio "
        "| TUI first screen | TUI tree shown | first screen / bare app |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    import paramtui

    for label, path in cases:
        count = len(paramtui.open_checkpoint(path))
        base = median_time(header_baseline(path))
        ours = median_time(lambda p=path: index_and_tree(p))
        marks = tui_marks(str(path))
        rows.append(
            f"| {label} | {count:,} | {base * 1000:.1f} ms | {ours * 1000:.1f} ms "
            f"| {ours / base:.1f}× | {marks['first_screen'] * 1000:.0f} ms "
            f"| {marks['tree'] * 1000:.0f} ms | {marks['first_screen'] / bare:.2f}× |"
        )
        print(rows[-1], file=sys.stderr)
    return rows


def run_json(*args: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def save_benchmarks() -> list[str]:
    script = str(ROOT / "bench" / "save_timing.py")
    rows = [
        "| checkpoint | output | method | time | peak RSS | RSS floor (imports + index) "
        "| `cp` + fsync time | `cp` peak RSS | time / cp |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    src = data.big_pth()
    floor = run_json(script, "floor", str(src))
    for dest in (data.DATA / "out.pth", data.DATA / "out.safetensors"):
        runs = [run_json(script, "save", str(src), str(dest)) for _ in range(3)]
        cps = [run_json(script, "cp", str(src), str(data.DATA / "copy.pth")) for _ in range(3)]
        ours = statistics.median(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]
        cp = statistics.median(float(r["seconds"]) for r in cps)  # type: ignore[arg-type]
        peak = max(float(r["peak_mib"]) for r in runs)  # type: ignore[arg-type]
        cp_peak = max(float(r["peak_mib"]) for r in cps)  # type: ignore[arg-type]
        rows.append(
            f"| .pth, 2 GiB, 1 tensor zeroed | {dest.suffix} | {runs[0]['method']} "
            f"| {ours:.2f} s | {peak:.0f} MiB | {float(floor['peak_mib']):.0f} MiB "  # type: ignore[arg-type]
            f"| {cp:.2f} s | {cp_peak:.0f} MiB | {ours / cp:.2f}× |"
        )
        print(rows[-1], file=sys.stderr)
        dest.unlink(missing_ok=True)
    (data.DATA / "copy.pth").unlink(missing_ok=True)
    return rows


def main() -> int:
    print("building benchmark inputs in bench/data (cached) ...", file=sys.stderr)
    sections = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py). Machine: "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}. "
        "Shared, noisy machines: compare ratios, not absolute times. Medians of "
        f"{REPEATS} in-process runs and 3 TUI process starts.",
        "",
        "## Opening a checkpoint",
        "",
        "TUI times are from process start (interpreter start-up included) to the first painted "
        "screen and to the painted first level of the module tree, headless, 120×40. torch is not "
        "imported by then (it is imported in a worker after the first paint).",
        "",
        *open_benchmarks(),
        "",
        "## Statistics",
        "",
        "Full statistics (mean, std, min, max, mean |x|, L2, zeros, NaN/Inf counts, exact "
        "64-bin histogram, quantiles) of one tensor, cache off, against `torch.sum` over the "
        "same memory-mapped bytes in the same run (warm page cache).",
        "",
        *stats_rows(),
        "",
        "## Scanning a checkpoint larger than the memory allowed",
        "",
        "`paramtui scan` over a generated 16 GiB safetensors file (sparse: reads as zeros, but "
        "every page passes through the page cache). Peak RSS of the scan process against a "
        "process that only imports torch and paramtui and opens the index.",
        "",
        *scan_rows(),
        "",
        "## Saving an edited checkpoint",
        "",
        "One 8 MiB tensor zeroed in a 2 GiB .pth, saved (atomic temp file + fsync + rename) and "
        "verified (the output reopened and every tensor compared with the source, bit for bit). "
        "Peak RSS is the whole process's, including imports; the floor is the same process "
        "without the save. Medians of 3 runs, warm page cache.",
        "",
        *save_benchmarks(),
        "",
    ]
    text = "\n".join(sections)
    (ROOT / "BENCHMARKS.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
