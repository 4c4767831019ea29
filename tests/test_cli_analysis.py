"""`paramtui scan` and `paramtui stats`: JSON schemas, --fail-on exit codes, stats fields.

The commands run in-process through paramtui.cli.main."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import paramtui.cli as cli
from paramtui.cli.base import LineProgress
from paramtui.demo import build_demo
from scan_helpers import healthy_net, planted_state, save

STATS_FIELDS = {
    "name", "dtype", "shape", "count", "mean", "std", "min", "max", "abs_mean", "l2",
    "zeros", "nan", "posinf", "neginf", "quantiles", "histogram", "notes", "null_reasons",
    "quantile_error", "zero_fraction", "finite_count",  # paramtui.stats/2: TensorStats.to_dict()
}  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli_analysis")
    small = folder / "small.safetensors"
    save_file(
        {
            "layers.0.weight": torch.full((4, 4), 2.0),
            "layers.1.weight": torch.arange(16, dtype=torch.float32).reshape(4, 4),
            "[bold]odd.weight": torch.zeros(3, 3),
            "mask": torch.tensor([True, False, True]),
        },
        small,
    )
    return {
        "planted": save(planted_state(), folder / "planted.pth"),
        "healthy": save(healthy_net().state_dict(), folder / "healthy.pth"),
        "demo": Path(build_demo(str(folder / "demo.pth"), progress=lambda _: None)),
        "small": small,
    }


def test_scan_json_schema_without_gate(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    code, out, _ = run(capsys, "scan", str(files["planted"]), "--json")
    assert code == 0  # findings alone do not fail without --fail-on
    doc = json.loads(out)
    assert doc["schema"] == "paramtui.scan/2"
    assert doc["gate"] == {"fail_on": [], "failed": False, "matching": 0}
    assert doc["healthy"] is False and doc["counts"]["error"] == 2
    kinds = {f["kind"] for f in doc["findings"]}
    assert {"nan", "inf", "exploding", "vanishing", "dead_rows", "duplicate", "dtype_mix"} <= kinds
    finding = doc["findings"][0]
    assert set(finding) == {"kind", "severity", "names", "message", "details"}
    trend = next(t for t in doc["trends"] if t["pattern"] == "layers.{N}.q_proj.weight")
    assert trend["indices"] == list(range(12))
    assert set(trend) >= {"norm", "std", "abs_max", "zero_fraction", "names"}
    assert doc["num_tensors"] == len(doc["tensors"])


@pytest.mark.parametrize(
    ("which", "fail_on", "code"),
    [
        ("planted", "nan", 3),
        ("planted", "exploding,dead_rows", 3),
        ("planted", "error", 3),
        ("planted", "any", 3),
        ("healthy", "any", 0),
        ("demo", "any", 0),  # its notes (zero biases of a frozen block) never fail
        ("demo", "all_zero,constant", 0),
    ],
)
def test_fail_on_exit_codes(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], which: str, fail_on: str, code: int
) -> None:
    got, out, err = run(capsys, "scan", str(files[which]), "--json", "--fail-on", fail_on)
    assert got == code, err
    doc = json.loads(out)
    assert doc["gate"]["failed"] is (code == 3)
    if code == 3:
        assert "match --fail-on" in err


def test_fail_on_rejects_unknown_kinds(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    code, _, err = run(capsys, "scan", str(files["healthy"]), "--fail-on", "nan,bogus")
    assert code == 2 and "bogus" in err


def test_scan_of_a_missing_file_is_unusable_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "scan", str(tmp_path / "nope.pth"))
    assert code == 2 and "nope.pth" in err


def test_scan_text_output(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, err = run(capsys, "scan", str(files["planted"]))
    assert code == 0 and err == ""  # no progress when stderr is not a terminal
    assert "Findings" in out and "layers.5.q_proj.weight" in out
    assert "layers.{N}.q_proj.weight" in out and "█" in out
    assert "problems found: 2 error(s)" in out
    _, healthy, _ = run(capsys, "scan", str(files["healthy"]))
    assert "healthy: 0 error(s), 0 warning(s)" in healthy


def test_scan_prints_names_literally(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    code, out, _ = run(capsys, "scan", str(files["small"]))
    assert code == 0
    assert "[bold]odd.weight" in out  # markup in a name is data, not style


def test_stats_json_fields(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, _ = run(capsys, "stats", str(files["small"]), "--json", "--bins", "8")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "paramtui.stats/2" and doc["bins"] == 8
    items = {item["name"]: item for item in doc["tensors"]}
    assert set(items) == {"layers.0.weight", "layers.1.weight", "[bold]odd.weight", "mask"}
    for item in items.values():
        assert set(item) == STATS_FIELDS
    const = items["layers.0.weight"]
    assert (const["mean"], const["std"], const["l2"], const["min"], const["max"]) == (
        2.0, 0.0, 8.0, 2.0, 2.0,
    )  # fmt: skip
    ramp = items["layers.1.weight"]
    assert len(ramp["histogram"]["counts"]) == 8 and len(ramp["histogram"]["edges"]) == 9
    assert sum(ramp["histogram"]["counts"]) == 16 and ramp["zeros"] == 1
    assert ramp["quantiles"] is None or set(ramp["quantiles"]) >= {"1", "50", "99"}
    mask = items["mask"]
    assert mask["std"] is None and "std" in mask["null_reasons"]
    assert "bool" in mask["null_reasons"]["std"]


def test_stats_selects_by_name_module_and_glob(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    path = str(files["planted"])
    code, out, _ = run(
        capsys, "stats", path, "layers.10.q_proj.weight", "layers.2.*.bias", "--json"
    )
    names = [item["name"] for item in json.loads(out)["tensors"]]
    assert code == 0 and names[0] == "layers.10.q_proj.weight"
    assert set(names[1:]) == {
        f"layers.2.{m}.bias" for m in ("q_proj", "k_proj", "v_proj", "o_proj", "norm", "fc1", "fc2")
    }
    code, out, _ = run(capsys, "stats", path, "layers.1", "--json")
    assert code == 0 and all(i["name"].startswith("layers.1.") for i in json.loads(out)["tensors"])
    code, _, err = run(capsys, "stats", path, "layers.99.weight")
    assert code == 2 and "layers.99.weight" in err


def test_stats_nan_counts_and_text(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    path = str(files["planted"])
    code, out, _ = run(capsys, "stats", path, "layers.1.fc1.weight", "--json")
    item = json.loads(out)["tensors"][0]
    assert code == 0 and item["nan"] == 1 and item["count"] == 4096
    code, out, _ = run(capsys, "stats", path, "layers.1.fc1.weight")
    assert code == 0 and "L2 norm" in out and "NaN, +Inf, -Inf  1, 0, 0" in out
    code, out, _ = run(capsys, "stats", path, "layers.2")
    assert code == 0 and "layers.2.k_proj.weight" in out and "zeros" in out


def test_stats_rejects_bad_bins(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, _, _ = run(capsys, "stats", str(files["small"]), "--bins", "0")
    assert code == 2


def test_scan_through_python_m_paramtui(files: dict[str, Path]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "paramtui", "scan", str(files["planted"]), "--json",
         "--fail-on", "nan"],
        capture_output=True, text=True, env={**os.environ}, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert json.loads(proc.stdout)["gate"]["failed"] is True


def test_line_progress_redraws_one_line_and_clears_it() -> None:
    stream = io.StringIO()
    progress = LineProgress(stream, "scanning")
    progress(0, 2048, "a.weight")
    progress(1024, 2048, "b\x1b[31m.weight")  # too soon after the last: skipped
    progress(2048, 2048, "c.weight")  # the end is always shown
    progress.clear()
    text = stream.getvalue()
    assert text.count("\r\x1b[K") == 3
    assert "scanning   0%" in text and "100%" in text and "c.weight" in text
    assert "\x1b[31m" not in text
    assert text.endswith("\r\x1b[K")


def test_no_progress_object_when_stderr_is_not_a_terminal() -> None:
    with LineProgress.for_stderr("scanning", quiet=False) as progress:
        assert progress is None  # pytest captures stderr: not a terminal
