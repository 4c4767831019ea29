"""Tensors that are not plain dense numbers: quantized (in files and live), sparse, meta."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import paramtui
from paramtui.analysis.stats import cache
from paramtui.analysis.stats.compute import TensorStats, compute_stats, tensor_stats
from paramtui.analysis.stats.quantiles import PERCENTILES

pytestmark = [
    pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning"),
    pytest.mark.filterwarnings("ignore:Sparse:UserWarning"),
    pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning"),
]


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARAMTUI_CACHE", str(tmp_path / "cache"))
    cache.forget_all()


def values(seed: int = 0, n: int = 3000) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed))


def exact_quantiles(array: np.ndarray) -> dict[float, float]:
    return {p: float(np.quantile(array, p / 100, method="inverted_cdf")) for p in PERCENTILES}


def assert_describes(stats: TensorStats, array: np.ndarray) -> None:
    """Counts, extremes and quantiles exact; moments to float64 accuracy."""
    assert stats.count == array.size and stats.zeros == int((array == 0).sum())
    assert (stats.min, stats.max) == (array.min(), array.max())
    assert stats.mean == pytest.approx(array.mean(), rel=1e-9, abs=1e-12)
    assert stats.std == pytest.approx(array.std(), rel=1e-9)
    assert stats.abs_mean == pytest.approx(np.abs(array).mean(), rel=1e-9)
    assert stats.quantiles == exact_quantiles(array) and stats.quantile_error == 0.0
    assert sum(stats.histogram_counts) == array.size


@pytest.mark.parametrize("qdtype", [torch.qint8, torch.quint8, torch.qint32])
def test_quantized_tensors_in_files_give_their_integers(
    tmp_path: Path, qdtype: torch.dtype
) -> None:
    q = torch.quantize_per_tensor(values(), 0.05, 10, qdtype)
    per_channel = torch.quantize_per_channel(
        values(1).reshape(3, 1000),
        torch.tensor([0.1, 0.2, 0.3]),
        torch.tensor([0, 1, 2]),
        0,
        qdtype,
    )
    path = tmp_path / "q.pt"
    torch.save({"q": q, "pc": per_channel}, path)
    index = paramtui.open_checkpoint(path)
    for name, tensor in (("q", q), ("pc", per_channel)):
        info = index.tensor(name)
        assert info.dtype == str(qdtype).removeprefix("torch.")
        stats = compute_stats(info)
        stored = tensor.int_repr().reshape(-1).to(torch.int64).numpy()
        assert stats.dtype == info.dtype
        assert (stats.min, stats.max) == (stored.min(), stored.max())
        assert stats.mean == pytest.approx(stored.mean())
        assert any("scale and zero point are not applied" in note for note in stats.notes)
        assert stats.quantiles == {p: int(v) for p, v in exact_quantiles(stored).items()}
        assert stats.quantile_error == 0.0


@pytest.mark.parametrize("qdtype", [torch.qint8, torch.quint8, torch.qint32])
def test_live_per_tensor_quantized_values_are_decoded(qdtype: torch.dtype) -> None:
    q = torch.quantize_per_tensor(values(), 0.05, 10, qdtype)
    stats = tensor_stats("q", q)
    decoded = (q.int_repr().to(torch.float64) - 10) * 0.05
    assert stats.dtype == str(qdtype).removeprefix("torch.")
    assert_describes(stats, decoded.numpy())
    assert any("decoded" in note for note in stats.notes)


def test_live_per_channel_quantized_values_give_their_integers() -> None:
    q = torch.quantize_per_channel(
        values().reshape(3, 1000),
        torch.tensor([0.1, 0.2, 0.3]),
        torch.tensor([0, 1, 2]),
        0,
        torch.qint8,
    )
    stats = tensor_stats("q", q)
    assert stats.dtype == "qint8" and "stored integers" in stats.notes[0]
    stored = q.int_repr().reshape(-1).numpy()
    assert (stats.min, stats.max) == (stored.min(), stored.max())


def test_packed_quantized_values_are_explained() -> None:
    q = torch.quantize_per_tensor(values(), 0.1, 0, torch.quint4x2)
    stats = tensor_stats("q", q)
    assert stats.mean is None and "packs several values" in stats.notes[0]


@pytest.mark.parametrize("layout", ["coo", "coo-duplicates", "csr"])
def test_sparse_tensors_count_their_implicit_zeros(layout: str) -> None:
    dense = values().reshape(60, 50)
    dense[dense.abs() < 1.0] = 0  # about two thirds zeros
    if layout == "coo":
        sparse = dense.to_sparse()
    elif layout == "coo-duplicates":  # two stored halves that add up to the dense values
        half = dense.to_sparse().coalesce()
        indices = torch.cat([half.indices(), half.indices()], dim=1)
        sparse = torch.sparse_coo_tensor(indices, torch.cat([half.values() / 2] * 2), dense.shape)
    else:
        sparse = dense.to_sparse_csr()
    stats = tensor_stats("s", sparse)
    assert_describes_float32(stats, dense)
    assert "implicit zeros" in stats.notes[0]


def assert_describes_float32(stats: TensorStats, dense: torch.Tensor) -> None:
    array = dense.reshape(-1).double().numpy()
    assert stats.count == array.size and stats.zeros == int((array == 0).sum())
    assert (stats.min, stats.max) == (array.min(), array.max())
    assert stats.mean == pytest.approx(array.mean(), rel=1e-6)
    assert stats.std == pytest.approx(array.std(), rel=1e-6)
    assert sum(stats.histogram_counts) == array.size
    assert stats.quantiles is not None and stats.quantile_error is not None
    for p, want in exact_quantiles(array).items():
        assert abs(stats.quantiles[p] - want) <= stats.quantile_error


def test_meta_empty_and_scalar_live_tensors() -> None:
    meta = tensor_stats("m", torch.empty(3, 4, device="meta"))
    assert meta.mean is None and "meta" in meta.notes[0]
    empty = tensor_stats("e", torch.empty(0, 7, dtype=torch.bfloat16))
    assert empty.count == 0 and empty.quantiles is None and empty.histogram_counts == ()
    scalar = tensor_stats("s", torch.tensor(2.5))
    assert scalar.quantiles == dict.fromkeys(PERCENTILES, 2.5) and scalar.quantile_error == 0.0


def test_to_dict_keys_quantiles_by_percent() -> None:
    out = tensor_stats("x", torch.arange(100, dtype=torch.int16)).to_dict()
    assert out["quantiles"] == {"1": 0, "5": 4, "25": 24, "50": 49, "75": 74, "95": 94, "99": 98}
    assert out["quantile_error"] == 0.0


def test_other_layouts_and_unknown_dtypes_are_explained() -> None:
    nested = torch.nested.nested_tensor([torch.randn(3), torch.randn(5)], layout=torch.jagged)
    stats = tensor_stats("n", nested)
    assert stats.mean is None and "jagged" in stats.notes[0]
    for name in ("float4_e2m1fn_x2", "uint3", "bits8"):
        dtype = getattr(torch, name, None)
        if isinstance(dtype, torch.dtype):
            odd = tensor_stats("odd", torch.empty(4, dtype=dtype))
            assert odd.mean is None and "cannot be read as numbers" in odd.notes[0]


def test_stats_and_scan_json_describe_a_tensor_with_one_shape(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from paramtui import open_checkpoint
    from paramtui.analysis.scan import scan
    from paramtui.render.scan import scan_json
    from paramtui.render.stats_table import stats_item

    path = tmp_path / "one.safetensors"
    save_file({"w": torch.tensor([[0.0, 1.5], [math.nan, -2.0]])}, str(path))
    index = open_checkpoint(str(path))
    stats = compute_stats(index.tensor("w"), cache=False)
    from_stats = stats_item(stats, (2, 2))
    from_scan = scan_json(scan(index))["tensors"][0]
    assert from_stats.pop("shape") == [2, 2]
    assert from_stats["histogram"]["counts"] and from_scan["histogram"] is None
    from_stats["histogram"] = None
    assert from_scan == from_stats == stats.to_dict(histogram=False)
    assert from_stats["null_reasons"] == {} and from_stats["finite_count"] == 3
