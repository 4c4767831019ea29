"""Exploding and vanishing weights: absolute limits, and outliers among peers across layers.

Only learnable floating-point weights are judged (not optimizer state, not buffers), and only
tensors with spread-out values: all-zero and constant tensors are reported by their own checks
and would only distort the reference of their peers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from paramtui.analysis.scan.anomalies import is_degenerate
from paramtui.analysis.scan.context import ScanContext
from paramtui.analysis.scan.findings import WARNING, Finding, Thresholds, Unit, label, number
from paramtui.analysis.scan.layers import (
    abs_max,
    effective_ndim,
    is_weight_like,
    peer_groups,
    peer_pattern,
    rms,
)

MAD_SCALE = 1.4826  # MAD * this estimates the standard deviation of normal data


@dataclass(frozen=True)
class Outlier:
    """How far one metric of one tensor lies from its peers' median (log scale)."""

    metric: str  # "rms" or "abs_max"
    value: float
    median: float
    factor: float  # value / median (> 1 above, < 1 below)
    robust_z: float  # |log value - log median| / (MAD_SCALE * MAD); inf when MAD is 0
    peers: int
    pattern: str


def check(context: ScanContext) -> list[Finding]:
    """The `exploding` and `vanishing` kinds (a registered whole-model check)."""
    return magnitude_findings(context.units, context.thresholds)


def magnitude_findings(units: Iterable[Unit], th: Thresholds) -> list[Finding]:
    """One exploding or vanishing finding per tensor, with every piece of evidence."""
    judged = [u for u in units if is_weight_like(u.info) and not is_degenerate(u.stats)]
    outliers = _peer_outliers(judged, th)
    found = []
    for unit in judged:
        high = [o for o in outliers.get(unit.names[0], []) if o.factor > 1]
        low = [o for o in outliers.get(unit.names[0], []) if o.factor < 1]
        for finding in (_exploding(unit, high, th), _vanishing(unit, low, th)):
            if finding is not None:
                found.append(finding)
    return found


def _peer_outliers(units: list[Unit], th: Thresholds) -> dict[str, list[Outlier]]:
    by_name = {u.names[0]: u for u in units}
    result: dict[str, list[Outlier]] = {}
    for (pattern, _, _), infos in peer_groups(u.info for u in units).items():
        if len(infos) < th.min_peers:
            continue
        matrix = all(effective_ndim(i.shape) >= 2 for i in infos)
        ratio = th.peer_ratio if matrix else th.peer_ratio_vector
        members = [by_name[i.name] for i in infos]
        for metric, get in (("rms", rms), ("abs_max", abs_max)):
            values = {u.names[0]: get(u.stats) for u in members}
            for name, outlier in _outliers(values, pattern, metric, ratio, th):
                result.setdefault(name, []).append(outlier)
    return result


def _outliers(
    values: dict[str, float | None], pattern: str, metric: str, ratio: float, th: Thresholds
) -> Iterable[tuple[str, Outlier]]:
    logs = {n: math.log(v) for n, v in values.items() if v is not None and v > 0}
    if len(logs) < th.min_peers:
        return
    center = statistics.median(logs.values())
    mad = statistics.median(abs(v - center) for v in logs.values())
    limit = max(th.mad_k * MAD_SCALE * mad, math.log(ratio))
    for name, v in logs.items():
        distance = v - center
        if abs(distance) > limit:
            z = abs(distance) / (MAD_SCALE * mad) if mad > 0 else math.inf
            factor = math.exp(distance)
            yield (
                name,
                Outlier(metric, math.exp(v), math.exp(center), factor, z, len(logs), pattern),
            )


def _exploding(unit: Unit, high: list[Outlier], th: Thresholds) -> Finding | None:
    peak = abs_max(unit.stats)
    absolute = _absolute_checks(unit) and peak is not None and peak > th.abs_max
    if not high and not absolute:
        return None
    reasons = []
    if absolute:
        reasons.append(f"its largest magnitude is {number(peak)} (limit {number(th.abs_max)})")
    if high:
        reasons.append(_peer_reasons(high))
    return Finding(
        "exploding",
        WARNING,
        unit.names,
        f"{label(unit.names)} is far larger than it should be: {'; '.join(reasons)}. Weights "
        "this large usually come from a diverged update, a wrong scale when merging, "
        "converting or quantizing, or the wrong tensor loaded under this name.",
        _details(unit, high, peak),
    )


def _vanishing(unit: Unit, low: list[Outlier], th: Thresholds) -> Finding | None:
    low = [o for o in low if o.metric == "rms"]
    size = rms(unit.stats)
    absolute = _absolute_checks(unit) and size is not None and size < th.abs_rms
    if not low and not absolute:
        return None
    reasons = []
    if absolute:
        reasons.append(f"its RMS is {number(size)} (limit {number(th.abs_rms)})")
    if low:
        reasons.append(_peer_reasons(low))
    return Finding(
        "vanishing",
        WARNING,
        unit.names,
        f"{label(unit.names)} is nearly zero: {'; '.join(reasons)}. A layer this small passes "
        "almost no signal (or gradient): typical causes are a wrong scale when converting or "
        "merging, a collapsed layer, or an update applied with the wrong sign or size.",
        _details(unit, low, abs_max(unit.stats)),
    )


def _absolute_checks(unit: Unit) -> bool:
    """Absolute limits judge real weights: not scalars (GPT-J's masked_bias is -1e9 by
    design), not 8-bit floats (scaled codes that may fill float8_e5m2's range up to 57344, or
    float8_e8m0 exponents)."""
    return unit.info.numel >= 2 and unit.info.itemsize > 1


def _peer_reasons(outliers: list[Outlier]) -> str:
    first = outliers[0]
    parts = [_peer_reason(o) for o in outliers]
    return f"against its {first.peers} peers '{first.pattern}', " + " and ".join(parts)


def _peer_reason(o: Outlier) -> str:
    what = "RMS" if o.metric == "rms" else "largest magnitude"
    side = f"{o.factor:,.0f} times" if o.factor >= 1 else f"1/{1 / o.factor:,.3g} of"
    z = "" if math.isinf(o.robust_z) else f" ({o.robust_z:,.0f} robust SDs away)"
    return f"its {what} {number(o.value)} is {side} their median {number(o.median)}{z}"


def _details(unit: Unit, outliers: list[Outlier], peak: float | None) -> dict[str, object]:
    return {
        "rms": rms(unit.stats),
        "abs_max": peak,
        "std": unit.stats.std,
        "pattern": peer_pattern(unit.names[0]),
        "peers": [
            {
                "metric": o.metric,
                "value": o.value,
                "peer_median": o.median,
                "factor": o.factor,
                "robust_z": None if math.isinf(o.robust_z) else o.robust_z,
                "peer_count": o.peers,
            }
            for o in outliers
        ],
    }
