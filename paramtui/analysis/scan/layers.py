"""Name patterns across layers: peer groups for the scan, and per-layer trends along depth.

`model.layers.7.self_attn.q_proj.weight` belongs to the pattern `model.layers.#.self_attn.q_proj.
weight` (every integer segment replaced), whose members are its peers. A trend follows one such
tensor along the first integer segment, in numeric order: `model.layers.{N}.self_attn...`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paramtui.core.dtypes import dtype_info
from paramtui.core.model import OTHER, PARAMETER, CheckpointIndex, TensorInfo

if TYPE_CHECKING:
    from paramtui.analysis.stats.result import TensorStats

LAYER = "{N}"
MIN_TREND_POINTS = 3


@dataclass(frozen=True)
class LayerTrend:
    """One tensor pattern along depth: its metrics for each layer index, in numeric order."""

    pattern: str  # e.g. "model.layers.{N}.self_attn.q_proj.weight"
    indices: tuple[int, ...]
    names: tuple[str, ...]
    norm: tuple[float | None, ...]  # L2 norm of the finite values
    std: tuple[float | None, ...]
    abs_max: tuple[float | None, ...]
    zero_fraction: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "indices": list(self.indices),
            "names": list(self.names),
            "norm": [_finite(v) for v in self.norm],
            "std": [_finite(v) for v in self.std],
            "abs_max": [_finite(v) for v in self.abs_max],
            "zero_fraction": list(self.zero_fraction),
        }


def is_weight_like(info: TensorInfo) -> bool:
    """A learnable floating-point tensor: a parameter (or an unclassified top-level tensor),
    not a buffer (running stats, masks, counters) and not optimizer state."""
    return info.role in (PARAMETER, OTHER) and dtype_info(info.dtype).kind == "float"


def effective_ndim(shape: tuple[int, ...]) -> int:
    """Dimensions longer than 1: a (1, 1, 768) mask token is a vector, not a matrix."""
    return sum(size > 1 for size in shape)


def peer_pattern(name: str) -> str:
    """`name` with every all-digit dotted segment replaced by '#'."""
    return ".".join("#" if part.isdigit() else part for part in name.split("."))


def peer_groups(infos: Iterable[TensorInfo]) -> dict[tuple[str, str, int], list[TensorInfo]]:
    """Tensors keyed by (pattern, role, ndim); only patterns with an integer segment."""
    groups: dict[tuple[str, str, int], list[TensorInfo]] = {}
    for info in infos:
        pattern = peer_pattern(info.name)
        if "#" in pattern.split("."):
            groups.setdefault((pattern, info.role, len(info.shape)), []).append(info)
    return groups


def trend_key(name: str) -> tuple[str, int] | None:
    """(pattern with the first integer segment as {N}, that integer), or None without one."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[:i] + [LAYER] + parts[i + 1 :]), int(part)
    return None


def layer_trends(index: CheckpointIndex, stats: Mapping[str, TensorStats]) -> list[LayerTrend]:
    """Trends of every weight-like tensor pattern with at least MIN_TREND_POINTS layers, in
    the order the patterns first appear in the file. `stats` maps names to TensorStats."""
    series: dict[str, dict[int, TensorInfo]] = {}
    for info in index:
        key = trend_key(info.name)
        if key is None or not is_weight_like(info) or info.name not in stats:
            continue
        series.setdefault(key[0], {}).setdefault(key[1], info)
    return [
        _trend(pattern, sorted(members.items()), stats)
        for pattern, members in series.items()
        if len(members) >= MIN_TREND_POINTS
    ]


def _trend(
    pattern: str, members: list[tuple[int, TensorInfo]], stats: Mapping[str, TensorStats]
) -> LayerTrend:
    rows = [stats[info.name] for _, info in members]
    return LayerTrend(
        pattern=pattern,
        indices=tuple(i for i, _ in members),
        names=tuple(info.name for _, info in members),
        norm=tuple(s.l2 for s in rows),
        std=tuple(s.std for s in rows),
        abs_max=tuple(abs_max(s) for s in rows),
        zero_fraction=tuple(s.zeros / s.count if s.count else 0.0 for s in rows),
    )


def abs_max(stats: TensorStats) -> float | None:
    """max(|min|, |max|) of the finite values, or None without any."""
    if stats.min is None or stats.max is None:
        return None
    return float(max(abs(stats.min), abs(stats.max)))


def rms(stats: TensorStats) -> float | None:
    """Root mean square of the finite values: the L2 norm made independent of the size."""
    finite = stats.count - stats.nan - stats.posinf - stats.neginf
    if stats.l2 is None or finite <= 0:
        return None
    return float(stats.l2) / math.sqrt(finite)


def _finite(value: float | None) -> float | str | None:
    if value is not None and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
