"""The health scan: planted anomalies are found with the right kind and name, healthy models
(a seeded one and the really trained demo) get no warning, tied weights are not duplicates."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from paramtui import open_checkpoint
from paramtui.analysis.scan import dead_channels
from paramtui.analysis.scan.findings import ERROR, INFO, WARNING, Finding, Thresholds
from paramtui.analysis.scan.layers import layer_trends, peer_pattern, trend_key
from paramtui.analysis.scan.run import ScanReport, scan
from paramtui.analysis.stats.compute import StatsCancelled, compute_stats
from paramtui.core.errors import UnusableInput
from paramtui.core.model import TensorInfo
from paramtui.demo import build_demo
from paramtui.render.scan import scan_json
from paramtui.render.sparkline import sparkline
from scan_helpers import (
    DEAD_COLUMNS,
    DEAD_ROWS,
    LAYERS,
    PLANTED,
    healthy_net,
    planted_state,
    save,
    training_checkpoint,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scan")


@pytest.fixture(scope="module")
def planted(folder: Path) -> ScanReport:
    return scan(open_checkpoint(str(save(planted_state(), folder / "planted.pth"))))


@pytest.fixture(scope="module")
def demo(folder: Path) -> ScanReport:
    path = build_demo(str(folder / "demo.pth"), progress=lambda _: None)
    return scan(open_checkpoint(path))


def problems(report: ScanReport) -> set[tuple[str, str]]:
    """(kind, name) of every warning and error, one pair per name."""
    return {(f.kind, n) for f in report.findings if f.severity != INFO for n in f.names}


def test_every_planted_anomaly_is_found_and_nothing_else(planted: ScanReport) -> None:
    found = problems(planted)
    assert found >= PLANTED
    # the duplicate names both copies; nothing else is flagged
    assert found - PLANTED == {("duplicate", "layers.0.fc1.weight")}
    assert not planted.healthy


def test_severities_and_details(planted: ScanReport) -> None:
    by_kind = {f.kind: f for f in planted.findings}
    assert by_kind["nan"].severity == ERROR and by_kind["nan"].details["nan"] == 1
    assert by_kind["inf"].details == {"posinf": 1, "neginf": 0, "count": 128 * 32}
    assert by_kind["dead_rows"].details["first_indices"] == DEAD_ROWS
    assert by_kind["dead_columns"].details["first_indices"] == DEAD_COLUMNS
    assert by_kind["exploding"].severity == WARNING
    peers = by_kind["exploding"].details["peers"]
    assert peers[0]["peer_count"] == LAYERS and 500 < peers[0]["factor"] < 2000
    assert "1.04e-10" in by_kind["vanishing"].message  # the numbers are in the explanation
    assert planted.findings[0].severity == ERROR  # worst first


def test_tied_weights_are_not_duplicates(planted: ScanReport) -> None:
    dup = [f for f in planted.findings if f.kind == "duplicate"]
    assert len(dup) == 1
    assert set(dup[0].names) == {"layers.0.fc1.weight", "layers.7.fc1.weight"}
    assert not any("head.weight" in f.names or "embed.weight" in f.names for f in dup)


def test_untied_copy_is_a_duplicate(folder: Path) -> None:
    torch.manual_seed(1)
    emb = torch.randn(50, 8)
    path = folder / "untied.safetensors"
    save_file({"embed.weight": emb, "head.weight": emb.clone(), "other": torch.randn(50, 8)}, path)
    report = scan(open_checkpoint(str(path)))
    assert [(f.kind, set(f.names)) for f in report.findings] == [
        ("duplicate", {"embed.weight", "head.weight"})
    ]


def test_healthy_model_has_no_findings_at_all(folder: Path) -> None:
    report = scan(open_checkpoint(str(save(healthy_net().state_dict(), folder / "ok.pth"))))
    assert report.findings == ()
    assert report.healthy and report.counts() == {ERROR: 0, WARNING: 0, INFO: 0}


def test_demo_checkpoint_is_healthy(demo: ScanReport) -> None:
    assert demo.healthy, [f.message for f in demo.findings if f.severity != INFO]
    # its frozen first block keeps zero biases and unit norm scales: notes, not problems
    infos = {(f.kind, n) for f in demo.findings for n in f.names}
    assert ("constant", "model.blocks.0.ln1.weight") in infos
    assert all(".blocks.0." in name for _, name in infos)


def test_optimizer_state_is_checked_for_nan_but_not_judged_as_weights(folder: Path) -> None:
    report = scan(open_checkpoint(str(save(training_checkpoint(), folder / "train.pth"))))
    found = problems(report)
    assert ("nan", "optimizer.state.5.exp_avg_sq") in found
    assert ("dtype_mix", "optimizer.state.7.exp_avg") in found  # float16 moments, float32 model
    assert not any(kind == "exploding" for kind, _ in found)  # exp_avg * 1e6 is not a weight
    clean = scan(open_checkpoint(str(save(training_checkpoint(damaged=False), folder / "t.pth"))))
    assert clean.findings == ()


def test_absolute_limits_without_peers(folder: Path) -> None:
    torch.manual_seed(2)
    tensors = {
        "big.weight": torch.randn(8, 8) * 1e5,
        "tiny.weight": torch.randn(8, 8) * 1e-12,
        "wide.weight": torch.randn(8, 8, dtype=torch.float64),
        "fine.weight": torch.randn(64, 64),
    }
    path = folder / "absolute.safetensors"
    save_file(tensors, path)
    found = problems(scan(open_checkpoint(str(path))))
    assert found == {
        ("exploding", "big.weight"),
        ("vanishing", "tiny.weight"),
        ("dtype_mix", "wide.weight"),
    }


def test_one_float64_parameter_among_float32_ones(folder: Path) -> None:
    tensors = {
        "rows": torch.randn(11, 7),
        "grid": torch.randn(37, 29),
        "wide": torch.randn(5, 4, 6, dtype=torch.float64),
    }
    save_file(tensors, folder / "mixed.safetensors")
    report = scan(open_checkpoint(str(folder / "mixed.safetensors")))
    [mix] = [f for f in report.findings if f.kind == "dtype_mix"]
    assert mix.names == ("wide",) and "1 parameter ('wide') is float64" in mix.message


def test_thresholds_can_be_loosened(folder: Path) -> None:
    path = str(save(planted_state(), folder / "planted2.pth"))
    loose = Thresholds(peer_ratio=1e4, abs_rms=1e-12)
    found = problems(scan(open_checkpoint(path), thresholds=loose))
    assert ("exploding", "layers.5.q_proj.weight") not in found  # 1000x < 1e4
    assert ("vanishing", "layers.6.q_proj.weight") in found  # 1e-9 is still far below


def test_unreadable_tensor_is_a_finding_not_a_crash(folder: Path) -> None:
    path = folder / "two.safetensors"
    save_file({"a.weight": torch.randn(16, 16), "b.weight": torch.randn(64, 64)}, path)

    def stats_fn(info: TensorInfo, **options: object) -> object:
        if info.name == "b.weight":
            raise UnusableInput("b.weight needs bytes past the end of the file")
        return compute_stats(info, **options)  # type: ignore[arg-type]

    report = scan(open_checkpoint(str(path)), stats_fn=stats_fn)
    assert [(f.kind, f.severity, f.names) for f in report.findings] == [
        ("unreadable", ERROR, ("b.weight",))
    ]
    assert "past the end" in report.findings[0].message
    assert list(report.stats) == ["a.weight"]


@pytest.mark.parametrize("chunk", [1, 7, 32, 1 << 20])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float8_e4m3fn])
def test_dead_lines_match_a_reference(
    folder: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, dtype: torch.dtype
) -> None:
    """Rows longer than a chunk, chunks spanning rows, conv kernels, a transposed view."""
    monkeypatch.setattr(dead_channels, "CHUNK", chunk)
    gen = torch.Generator().manual_seed(3)
    conv = torch.randn(6, 5, 3, 2, generator=gen)
    conv[[0, 4]] = 0
    conv[:, 2] = 0
    linear = torch.randn(9, 7, generator=gen)
    linear[:, [1, 6]] = 0
    linear[3] = 0
    state = {"conv.weight": conv.to(dtype), "fc.weight": linear.t().to(dtype)}  # not contiguous
    index = open_checkpoint(str(save(state, folder / f"lines-{chunk}-{dtype}.pth")))
    for name, tensor in (("conv.weight", conv), ("fc.weight", linear.t())):
        lines = dead_channels.dead_lines(index.tensor(name))
        flat = tensor.reshape(tensor.shape[0], tensor.shape[1], -1) != 0
        assert list(lines.dead_rows) == torch.nonzero(~flat.any(2).any(1)).flatten().tolist()
        assert list(lines.dead_cols) == torch.nonzero(~flat.any(2).any(0)).flatten().tolist()


def test_trend_follows_numeric_layer_order(planted: ScanReport, folder: Path) -> None:
    index = open_checkpoint(str(folder / "planted.pth"))
    trend = next(
        t for t in layer_trends(index, planted.stats) if t.pattern == "layers.{N}.q_proj.weight"
    )
    assert trend.indices == tuple(range(LAYERS))  # 0, 1, 2, ..., 10, 11 (not 0, 1, 10, 11, 2)
    assert trend.names[10] == "layers.10.q_proj.weight"
    assert max(range(LAYERS), key=lambda i: trend.norm[i]) == 5
    assert min(range(LAYERS), key=lambda i: trend.norm[i]) == 6
    assert trend in planted.trends
    spark = sparkline(trend.norm, log=True)
    assert spark[5] == "█" and spark[6] == "▁" and len(spark) == LAYERS


def test_name_patterns() -> None:
    assert peer_pattern("model.layers.12.mlp.experts.3.w1.weight") == (
        "model.layers.#.mlp.experts.#.w1.weight"
    )
    assert trend_key("model.layers.12.mlp.experts.3.w1") == (
        "model.layers.{N}.mlp.experts.3.w1",
        12,
    )
    assert trend_key("lm_head.weight") is None


def test_sparkline() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1.0, None, math.nan, 1.0]) == "▄  ▄"
    assert sparkline([0.0, 1.0, 100.0], log=True) == "_▁█"
    assert sparkline([]) == ""


def test_progress_and_cancel(folder: Path) -> None:
    index = open_checkpoint(str(folder / "planted.pth"))
    seen: list[tuple[int, int, str]] = []
    scan(index, progress=lambda done, total, name: seen.append((done, total, name)))
    dones = [d for d, _, _ in seen]
    assert dones == sorted(dones) and dones[-1] == seen[-1][1] == sum(t.nbytes for t in index) - (
        index.tensor("head.weight").nbytes  # tied: read once
    )
    calls = iter(range(1000))
    with pytest.raises(StatsCancelled):
        scan(index, should_cancel=lambda: next(calls) > 20)


def test_report_is_strict_json(planted: ScanReport) -> None:
    document = scan_json(planted, {"nan"}, planted.matching(frozenset({"nan"})))
    text = json.dumps(document, allow_nan=False)
    back = json.loads(text)
    assert back["schema"] == "paramtui.scan/2"
    assert back["gate"] == {"fail_on": ["nan"], "failed": True, "matching": 1}
    assert {t["name"] for t in back["tensors"]} == set(planted.stats)
    assert "histogram_edges" not in back["tensors"][0]
    assert back["tensors"][0]["histogram"] is None  # left out of scans on purpose


def test_matching_ignores_info_findings(demo: ScanReport) -> None:
    assert demo.findings  # notes only
    assert demo.matching(frozenset({"any"})) == []
    assert demo.matching(frozenset({"all_zero", "constant"})) == []


def test_findings_table_caps_rows_per_kind() -> None:
    from paramtui.render.scan import findings_table

    many = [Finding("all_zero", WARNING, (f"w{i}",), f"w{i} is zero") for i in range(25)]
    table = findings_table([Finding("nan", ERROR, ("x",), "x"), *many], per_kind=20)
    assert table.row_count == 1 + 20 + 1  # the NaN, 20 warnings, "... and 5 more"


def test_conventions_of_real_checkpoints_are_not_flagged(folder: Path) -> None:
    """Scalars like GPT-J's masked_bias (-1e9), float8 matrices filling their range beside
    bfloat16 norms, a zero (1, 1, d) mask token, an embedding's zero padding row."""
    gen = torch.Generator().manual_seed(4)
    tensors: dict[str, torch.Tensor] = {}
    for n in range(6):
        for leaf in ("q", "k", "o"):
            codes = (torch.randn(16, 16, generator=gen) * 2e4).clamp(-5e4, 5e4)
            tensors[f"layers.{n}.attn.{leaf}.weight"] = codes.to(torch.float8_e5m2)
        norm = 1 + 0.1 * torch.randn(16, generator=gen)
        tensors[f"layers.{n}.attn.q_norm.weight"] = norm.to(torch.bfloat16)
        tensors[f"layers.{n}.attn.masked_bias"] = torch.tensor(-1e9)
    tensors["mask_token"] = torch.zeros(1, 1, 16)
    emb, unused = torch.randn(20, 16, generator=gen), torch.randn(20, 16, generator=gen)
    emb[0] = 0  # padding_idx
    unused[[3, 5, 7, 11, 13]] = 0  # five untrained tokens
    tensors |= {"embed.weight": emb, "token_embedding.weight": unused}
    path = folder / "conventions.safetensors"
    save_file(tensors, path)
    report = scan(open_checkpoint(str(path)))
    assert problems(report) == {("dead_rows", "token_embedding.weight")}
    notes = {(f.kind, f.names[0]) for f in report.findings if f.severity == INFO}
    assert notes == {("all_zero", "mask_token"), ("dead_rows", "embed.weight")}
