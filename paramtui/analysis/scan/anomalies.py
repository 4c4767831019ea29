"""Checks of one tensor from its statistics alone: NaN, Inf, all zeros, constant values.

NaN and Inf are looked for in every tensor (optimizer state and buffers too: a NaN in Adam's
second moment poisons the next step). All-zero and constant values are only anomalies in
learnable weights; buffers (masks, counters, running statistics) are left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paramtui.analysis.scan.findings import (
    ERROR,
    INFO,
    WARNING,
    Finding,
    Unit,
    label,
    number,
    plural,
    shape_text,
)
from paramtui.analysis.scan.layers import effective_ndim, is_weight_like
from paramtui.core.model import TensorInfo

if TYPE_CHECKING:
    from paramtui.analysis.stats.result import TensorStats


def value_findings(unit: Unit) -> list[Finding]:
    """Findings for one stored tensor (all the names that view its bytes)."""
    names, info, stats = unit
    found = [f for f in (_nan(names, stats), _inf(names, stats)) if f is not None]
    if is_weight_like(info):
        found.extend(f for f in (_all_zero(names, info, stats), _constant(names, info, stats)) if f)
    return found


def is_degenerate(stats: TensorStats) -> bool:
    """All zero, or all finite values equal: such a tensor says nothing about its peers."""
    if stats.min is None or stats.max is None:
        return True
    return bool(stats.min == stats.max)


def _nan(names: tuple[str, ...], stats: TensorStats) -> Finding | None:
    if not stats.nan:
        return None
    return Finding(
        "nan",
        ERROR,
        names,
        f"{label(names)} holds {plural(stats.nan, 'NaN value')} out of {stats.count:,} "
        f"({_share(stats.nan, stats.count)}). Any computation that touches a NaN returns NaN, "
        "so the model's outputs (or the next optimizer step) are poisoned. Typical causes: a "
        "diverged training step, a float16 overflow, or a corrupted file.",
        {"nan": stats.nan, "count": stats.count},
    )


def _inf(names: tuple[str, ...], stats: TensorStats) -> Finding | None:
    total = stats.posinf + stats.neginf
    if not total:
        return None
    return Finding(
        "inf",
        ERROR,
        names,
        f"{label(names)} holds {plural(total, 'infinite value')} "
        f"({stats.posinf:,} +Inf, {stats.neginf:,} -Inf) out of {stats.count:,}. Inf times 0 "
        "is NaN and Inf - Inf is NaN, so these spread NaN through the model. Typical causes: an "
        "overflow when casting to a narrower dtype (float16 ends at 65504) or a diverged update.",
        {"posinf": stats.posinf, "neginf": stats.neginf, "count": stats.count},
    )


def _all_zero(names: tuple[str, ...], info: TensorInfo, stats: TensorStats) -> Finding | None:
    if stats.count == 0 or stats.zeros != stats.count:
        return None
    if effective_ndim(info.shape) >= 2:
        return Finding(
            "all_zero",
            WARNING,
            names,
            f"every one of the {stats.count:,} elements of {label(names)} "
            f"(shape {shape_text(info.shape)}) is 0, so this layer contributes nothing but its "
            "bias. Typical causes: a zero-initialised layer that was never trained, a failed or "
            "partial load, or pruning that removed everything.",
            {"count": stats.count, "shape": list(info.shape)},
        )
    return Finding(
        "all_zero",
        INFO,
        names,
        f"{label(names)} ({plural(stats.count, 'element')}) is all zero. Biases and shifts "
        "are often initialised to zero, so this usually means the layer was never trained "
        "(frozen or unused); it is harmless unless the layer should have learned.",
        {"count": stats.count, "shape": list(info.shape)},
    )


def _constant(names: tuple[str, ...], info: TensorInfo, stats: TensorStats) -> Finding | None:
    finite = stats.count - stats.nan - stats.posinf - stats.neginf
    if finite < 2 or stats.min is None or stats.min != stats.max or stats.min == 0:
        return None
    value = number(stats.min)
    details = {"value": stats.min, "count": stats.count, "shape": list(info.shape)}
    if effective_ndim(info.shape) >= 2:
        return Finding(
            "constant",
            WARNING,
            names,
            f"all {stats.count:,} elements of {label(names)} (shape {shape_text(info.shape)}) "
            f"equal {value}. Every output unit then computes the same function of the input, "
            "so the layer cannot tell features apart (its symmetry was never broken): it was "
            "filled with a constant and not trained, or overwritten.",
            details,
        )
    why = (
        "a norm scale still at its initial value 1.0: the layer was probably never trained "
        "(frozen or unused)"
        if stats.min == 1
        else "a vector filled with one value, usually an initial value that was never trained"
    )
    return Finding(
        "constant",
        INFO,
        names,
        f"all {stats.count:,} elements of {label(names)} equal {value}: {why}.",
        details,
    )


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.3g}%" if whole else "-"
