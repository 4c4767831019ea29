"""Golden tests: the CLI's `--help` texts and `--json` documents, recorded once and compared.

They pin behaviour across moves of the code: a change to any of these outputs must be a
decision, made by rerunning with PARAMTUI_UPDATE_GOLDEN=1 and reviewing the diff in
tests/golden/. Paths and timings are replaced by placeholders; floats compare within 1e-9
relative (the summation order of the statistics engine is fixed, so they are normally equal).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

import paramtui.cli as cli
from checkpoints import saved_as_device, training_checkpoint
from paramtui.demo import build_demo

GOLDEN = Path(__file__).parent / "golden"
UPDATE = bool(os.environ.get("PARAMTUI_UPDATE_GOLDEN"))
TIMINGS = {"elapsed_s", "seconds"}
COMMANDS = (
    "summary",
    "ls",
    "stats",
    "scan",
    "check-load",
    "demo",
    "edit",
    "convert",
    "config",
    "doctor",
    "completion",
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("golden")


@pytest.fixture(scope="module")
def demo(folder: Path) -> Path:
    return Path(build_demo(str(folder / "demo.pth"), progress=lambda _: None))


def exact(shape: tuple[int, ...], seed: int, scale: float = 1.0) -> torch.Tensor:
    """Scattered values from integer arithmetic and one correctly rounded cast: the same bits on
    every machine (random or trained values differ in their last bits between CPUs)."""
    n = math.prod(shape)
    k = (torch.arange(n, dtype=torch.int64) * 2654435761 + seed * 40503) % 65536
    return ((k.double() - 32768) * (scale / 32768)).float().reshape(shape)


def exact_training_checkpoint() -> dict[str, object]:
    """training_checkpoint()'s layout (tied head, frozen layer, BatchNorm buffers, Adam state
    for the trainable parameters) with every float value replaced by exact() values."""
    ckpt = training_checkpoint()
    tensors = [*ckpt["model"].values()]  # type: ignore[attr-defined]
    for state in ckpt["optimizer"]["state"].values():  # type: ignore[index]
        tensors += [t for key, t in state.items() if key != "step"]
    with torch.no_grad():
        for seed, tensor in enumerate(tensors):
            if tensor.is_floating_point():
                tensor.copy_(exact(tuple(tensor.shape), seed, 0.5).abs_().add_(0.01))
    return ckpt


@pytest.fixture(scope="module")
def small(folder: Path) -> dict[str, Path]:
    """A mixed-dtype safetensors file with metadata and a training .pth saved 'on cuda:0'."""
    tensors = {
        "layers.10.weight": exact((4, 4), 1).to(torch.bfloat16),
        "layers.2.weight": exact((8, 4), 2, 0.1),
        "layers.2.bias": torch.zeros(8),
        "layers.3.weight": torch.full((8, 8), 2.5),
        "layers.4.weight": exact((64, 32), 4, 3.0),
        "head.weight": exact((3, 8), 3).to(torch.float16),
        "steps": torch.arange(5),
    }
    st = folder / "small.safetensors"
    save_file(tensors, st, metadata={"format": "pt", "note": "golden"})
    pth = folder / "train.pth"
    with saved_as_device("cuda:0"):
        torch.save(exact_training_checkpoint(), pth)
    return {"st": st, "pth": pth}


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(args)
    return code, capsys.readouterr().out


def normalised(value: Any, places: dict[str, str], dropped: set[str] = set()) -> Any:  # noqa: B006
    if isinstance(value, dict):
        return {
            k: (0 if k in TIMINGS else normalised(v, places, dropped))
            for k, v in sorted(value.items())
            if k not in dropped
        }
    if isinstance(value, list):
        return [normalised(v, places, dropped) for v in value]
    if isinstance(value, str):
        for real, placeholder in places.items():
            value = value.replace(real, placeholder)
        return value
    return value


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return False
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def check_golden(name: str, actual: Any) -> None:
    path = GOLDEN / name
    if isinstance(actual, str):
        if UPDATE or not path.exists():
            _write(path, actual)
        assert path.read_text() == actual, f"{name} differs from tests/golden/{name}"
        return
    text = json.dumps(actual, indent=1, sort_keys=True) + "\n"
    if UPDATE or not path.exists():
        _write(path, text)
    expected = json.loads(path.read_text())
    assert same(expected, actual), f"{name} differs from tests/golden/{name}"


def _write(path: Path, text: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"golden file {path.name} is missing: record it with PARAMTUI_UPDATE_GOLDEN=1")
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("command", ("", *COMMANDS))
def test_help(command: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code, out = run_cli([command, "--help"] if command else ["--help"], capsys)
    assert code == 0
    check_golden(f"help-{command or 'paramtui'}.txt", out)


# The demo is trained, so its values differ in their last bits between CPUs: these cases
# show only what does not depend on them (names, shapes, counts, sizes, reports; previews of
# non-tensor values are left out). Statistics are pinned on the exact files below.
DEMO_CASES = {
    "summary": ["summary", "{demo}", "--json"],
    "summary-strip": ["summary", "{demo}", "--json", "--strip-prefix", "model."],
    "ls": ["ls", "{demo}", "--json"],
    "edit-dry-run": [
        "edit", "{demo}", "--freeze", "model.blocks.1", "--zero", "model.lm_head.weight",
        "--prune", "model.blocks.2.mlp", "--amount", "0.3", "--dry-run", "--json",
    ],
    "edit": [
        "edit", "{demo}", "{out}/edited.pth", "--zero", "model.blocks.0.attn",
        "--prune", "model.blocks.*.mlp.fc1.weight", "--amount", "0.5", "--json",
    ],
    "convert-safetensors": [
        "convert", "{demo}", "{out}/demo.safetensors", "--tensors-only", "--untie", "--json",
    ],
    "convert-sharded": [
        "convert", "{demo}", "{out}/hf/", "--tensors-only", "--untie", "--shard-size", "1MB",
        "--json",
    ],
    "convert-bin": ["convert", "{demo}", "{out}/bin/", "--format", "bin", "--json",
                    "--tensors-only", "--shard-size", "1MB"],
    "error": ["stats", "{demo}", "no.such.tensor", "--json"],
}  # fmt: skip

SMALL_CASES = {
    "summary": ["summary", "{st}", "--json"],
    "summary-train": ["summary", "{pth}", "--json"],
    "stats-module": ["stats", "{pth}", "model.layers.3", "optimizer", "--json", "-q", "--bins",
                     "8"],
    "ls": ["ls", "{pth}", "--json"],
    "stats": ["stats", "{st}", "--json", "-q"],
    "stats-train": ["stats", "{pth}", "--json", "-q", "--bins", "4"],
    "scan": ["scan", "{st}", "--json", "-q"],
    "scan-train": ["scan", "{pth}", "--json", "-q"],
    "edit-dry-run": ["edit", "{pth}", "--freeze", "model", "--zero", "model.layers.1", "--dry-run",
                     "--json"],
    "convert": ["convert", "{st}", "{out}/small.pth", "--json"],
}  # fmt: skip


def _expand(args: list[str], places: dict[str, str]) -> list[str]:
    return [re.sub(r"\{(\w+)\}", lambda m: places[m.group(1)], a) for a in args]


@pytest.mark.parametrize("case", sorted(DEMO_CASES))
def test_demo_json(case: str, demo: Path, tmp_path: Path, capsys: Any) -> None:
    places = {"demo": str(demo), "out": str(tmp_path)}
    code, out = run_cli(_expand(DEMO_CASES[case], places), capsys)
    doc = normalised(json.loads(out), {str(tmp_path): "<OUT>", str(demo): "<DEMO>"}, {"preview"})
    check_golden(f"demo-{case}.json", {"exit": code, "output": doc})


@pytest.mark.parametrize("case", sorted(SMALL_CASES))
def test_small_json(case: str, small: dict[str, Path], tmp_path: Path, capsys: Any) -> None:
    places = {"st": str(small["st"]), "pth": str(small["pth"]), "out": str(tmp_path)}
    code, out = run_cli(_expand(SMALL_CASES[case], places), capsys)
    folder = str(small["st"].parent)
    doc = normalised(json.loads(out), {str(tmp_path): "<OUT>", folder: "<IN>"})
    check_golden(f"small-{case}.json", {"exit": code, "output": doc})
