"""TensorStats, the one result of the statistics engine, and its one JSON shape."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["VALUE_FIELDS", "TensorStats", "json_number", "unavailable"]

VALUE_FIELDS = ("mean", "std", "min", "max", "abs_mean", "l2")
HISTOGRAM_FIELDS = ("histogram_edges", "histogram_counts")


@dataclass(frozen=True)
class TensorStats:
    """Statistics of one tensor. Values other than counts are over its finite values only."""

    name: str
    dtype: str
    count: int  # all elements, NaN and Inf included
    mean: float | None
    std: float | None  # population standard deviation
    min: float | None  # an exact int for integer dtypes
    max: float | None
    abs_mean: float | None
    l2: float | None
    zeros: int
    nan: int
    posinf: int
    neginf: int
    histogram_edges: tuple[float, ...]  # len bins+1 (empty if no finite values)
    histogram_counts: tuple[int, ...]  # len bins; counts of finite values, sum == finite_count
    notes: tuple[str, ...]  # plain-English caveats, e.g. what was excluded or not meaningful
    # percent (1, 5, 25, 50, 75, 95, 99) -> value, numpy's "inverted_cdf" definition
    quantiles: dict[float, float] | None = None
    quantile_error: float | None = None  # |reported - true| bound; 0.0 when exact

    @property
    def zero_fraction(self) -> float:
        return self.zeros / self.count if self.count else 0.0

    @property
    def finite_count(self) -> int:
        return self.count - self.nan - self.posinf - self.neginf

    def to_dict(self, *, histogram: bool = True) -> dict[str, Any]:
        """The JSON shape of a TensorStats (`stats --json` and `scan --json` both use it).

        NaN and ±Inf floats become the strings "nan", "inf", "-inf"; statistics that were not
        computed are None, with the reason in "null_reasons"; quantiles are keyed "1", ... "99";
        "histogram" is {"edges": [...], "counts": [...]} (both empty when there is no finite
        value), or None when left out with `histogram=False` (to keep large reports small)."""
        out: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            if key in HISTOGRAM_FIELDS:
                out["histogram"] = self._histogram() if histogram else None
                continue
            if isinstance(value, tuple):
                value = [json_number(v) for v in value]
            elif isinstance(value, dict):
                value = {f"{p:g}": json_number(v) for p, v in value.items()}
            out[key] = json_number(value)
        out["zero_fraction"] = self.zero_fraction
        out["finite_count"] = self.finite_count
        out["null_reasons"] = self.null_reasons()
        return out

    def _histogram(self) -> dict[str, list[Any]]:
        return {
            "edges": [json_number(e) for e in self.histogram_edges],
            "counts": list(self.histogram_counts),
        }

    def null_reasons(self) -> dict[str, str]:
        """Why each statistic that is None was not computed (the notes, or a general word)."""
        why = "; ".join(self.notes) if self.notes else "not computed for this tensor"
        reasons = {key: why for key in VALUE_FIELDS if getattr(self, key) is None}
        if self.quantiles is None:
            reasons["quantiles"] = why
        return reasons


def unavailable(name: str, dtype: str, count: int, reason: str) -> TensorStats:
    """A TensorStats without values, saying why."""
    return TensorStats(
        name=name, dtype=dtype, count=count, mean=None, std=None, min=None, max=None,
        abs_mean=None, l2=None, zeros=0, nan=0, posinf=0, neginf=0,
        histogram_edges=(), histogram_counts=(), notes=(f"no statistics: {reason}",),
    )  # fmt: skip


def json_number(value: Any) -> Any:
    """NaN and ±Inf floats as the strings "nan", "inf", "-inf" (strict JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
