"""The whole-model health scan: statistics of every tensor, then anomalies with explanations.

One streaming pass per stored tensor computes its statistics (pages released as it goes, so
RSS stays flat on files larger than RAM). Names that view the same bytes (tied weights) are
read once. Most checks work from the statistics alone; two need the data again and run only
for the few tensors that could match: dead rows/columns (weights with at least a row's worth of
zeros) and duplicates (weights whose exact min, max and counts equal another storage's).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paramtui.analysis.scan import dead_channels, duplicates
from paramtui.analysis.scan.dtype_mix import dtype_findings
from paramtui.analysis.scan.findings import (
    ERROR,
    INFO,
    SEVERITIES,
    WARNING,
    Finding,
    Thresholds,
    Unit,
)
from paramtui.analysis.scan.layers import LayerTrend, layer_trends
from paramtui.analysis.scan.magnitude import magnitude_findings
from paramtui.analysis.scan.training import training_findings, value_checks
from paramtui.analysis.stats.compute import TensorStats, compute_stats
from paramtui.core import access, pieces
from paramtui.core.errors import ParamtuiError
from paramtui.core.model import CheckpointIndex, TensorInfo

Progress = Callable[[int, int, str], None]  # (done bytes, total bytes, current tensor name)
_HEAVY_FIELDS = ("histogram_edges", "histogram_counts")


@dataclass(frozen=True)
class ScanReport:
    """What the scan found. `stats` maps every tensor name to its TensorStats (histograms
    dropped to keep 100k-tensor reports small); `findings` are sorted worst first."""

    path: str
    format: str
    num_tensors: int
    scanned_bytes: int
    elapsed_s: float
    stats: dict[str, Any]
    findings: tuple[Finding, ...]
    trends: tuple[LayerTrend, ...]
    notes: tuple[str, ...]
    thresholds: Thresholds

    @property
    def healthy(self) -> bool:
        """No error and no warning (info findings are observations, not problems)."""
        return not any(f.severity in (ERROR, WARNING) for f in self.findings)

    def counts(self) -> dict[str, int]:
        return {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}

    def matching(self, fail_on: frozenset[str]) -> list[Finding]:
        """Warnings and errors selected by a --fail-on set: kinds, "error", or "any"."""
        return [f for f in self.findings if f.severity != INFO and _selected(f, fail_on)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "num_tensors": self.num_tensors,
            "scanned_bytes": self.scanned_bytes,
            "elapsed_s": round(self.elapsed_s, 3),
            "healthy": self.healthy,
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
            "trends": [t.to_dict() for t in self.trends],
            "notes": list(self.notes),
            "thresholds": self.thresholds.to_dict(),
            "tensors": [compact_stats(s) for s in self.stats.values()],
        }


def scan(
    index: CheckpointIndex,
    *,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    stats_fn: Callable[..., Any] = compute_stats,
    thresholds: Thresholds | None = None,
) -> ScanReport:
    """Scan every tensor of `index`. Raises StatsCancelled when should_cancel() says stop."""
    th = thresholds or Thresholds()
    started = time.monotonic()
    run = _Run(index, th, progress, should_cancel, stats_fn)
    units = run.read_all()
    run.findings.extend(magnitude_findings(units, th))
    run.findings.extend(run.duplicates(units))
    run.findings.extend(dtype_findings(index))
    run.findings.extend(training_findings(index))
    order = {name: i for i, name in enumerate(index.tensors)}
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    run.findings.sort(key=lambda f: (rank[f.severity], order.get(f.names[0], 0) if f.names else 0))
    return ScanReport(
        path=index.path,
        format=index.format,
        num_tensors=len(index),
        scanned_bytes=run.total,
        elapsed_s=time.monotonic() - started,
        stats=run.stats,
        findings=tuple(run.findings),
        trends=tuple(layer_trends(index, run.stats)),
        notes=tuple(run.notes()),
        thresholds=th,
    )


class _Run:
    """The state of one scan: statistics so far, findings so far, progress in bytes."""

    def __init__(
        self,
        index: CheckpointIndex,
        th: Thresholds,
        progress: Progress | None,
        should_cancel: Callable[[], bool] | None,
        stats_fn: Callable[..., Any],
    ) -> None:
        self.index, self.th, self.stats_fn = index, th, stats_fn
        self.report, self.should_cancel = progress, should_cancel
        self.groups = view_groups(index)
        self.total = sum(self.index.tensor(names[0]).nbytes for names in self.groups)
        self.done = 0
        self.stats: dict[str, Any] = {}
        self.findings: list[Finding] = []
        self.unreadable: dict[str, str] = {}

    def read_all(self) -> list[Unit]:
        units = []
        for names in self.groups:
            unit = self._read(names)
            if unit is not None:
                units.append(unit)
        return units

    def _read(self, names: tuple[str, ...]) -> Unit | None:
        info = self.index.tensor(names[0])
        self._cancel_point(info.name)
        try:
            stats = _lean(
                self.stats_fn(
                    info, progress=self._tensor_progress(info), should_cancel=self.should_cancel
                )
            )
        except ParamtuiError as exc:  # a truncated or inconsistent file: report and go on
            self.findings.append(Finding("unreadable", ERROR, names, str(exc), {}))
            return None
        finally:
            self.done += info.nbytes
            self._say(info.name)
        for name in names:
            self.stats[name] = stats if name == info.name else _renamed(stats, name)
        reason = access.unviewable_reason(info)
        pieced = pieces.is_composite(info) and not _without_values(stats)
        if reason is not None and not pieced:
            self.unreadable[info.name] = reason
            return None
        unit = Unit(names, info, stats)
        self.findings.extend(value_checks(unit))
        if pieced:  # dequantized or sharded: statistics only, no row-by-row pass
            return unit
        try:
            self.findings.extend(self._line_findings(unit))
        except ParamtuiError as exc:
            self.findings.append(Finding("unreadable", ERROR, names, str(exc), {}))
        return unit

    def _line_findings(self, unit: Unit) -> list[Finding]:
        if not dead_channels.needs_line_pass(unit):
            return []
        lines = dead_channels.dead_lines(unit.info, self.should_cancel)
        return dead_channels.line_findings(unit, lines, self.th)

    def duplicates(self, units: list[Unit]) -> list[Finding]:
        found: list[Finding] = []
        for group in duplicates.candidate_groups(units):
            hashes = {}
            for unit in group:
                self._say(unit.names[0])
                hashes[unit.names[0]] = duplicates.content_hash(unit.info, self.should_cancel)
            found.extend(duplicates.duplicate_findings(group, hashes))
        return found

    def notes(self) -> list[str]:
        if not self.unreadable:
            return []
        listed = "; ".join(f"'{n}': {why}" for n, why in list(self.unreadable.items())[:5])
        more = len(self.unreadable) - 5
        return [
            f"{len(self.unreadable):,} tensor(s) could not be checked, their values cannot be "
            f"read in place: {listed}" + (f"; and {more:,} more" if more > 0 else "")
        ]

    def _tensor_progress(self, info: TensorInfo) -> Callable[[float], None] | None:
        if self.report is None:
            return None
        report, done, size, total = self.report, self.done, info.nbytes, self.total
        return lambda fraction: report(done + int(fraction * size), total, info.name)

    def _cancel_point(self, name: str) -> None:
        if self.should_cancel is not None and self.should_cancel():
            from paramtui.analysis.stats.compute import StatsCancelled

            raise StatsCancelled(name)

    def _say(self, name: str) -> None:
        if self.report is not None:
            self.report(min(self.done, self.total), self.total, name)


def view_groups(index: CheckpointIndex) -> list[tuple[str, ...]]:
    """Names grouped by the exact bytes they view (tied weights), in file order."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for info in index:
        key = (info.storage_id, info.storage_offset, info.shape, info.stride, info.dtype)
        groups.setdefault(key, []).append(info.name)
    return [tuple(names) for names in groups.values()]


def compact_stats(stats: Any) -> dict[str, Any]:
    """A TensorStats as JSON-safe data, without its histogram."""
    out = stats.to_dict()
    for key in _HEAVY_FIELDS:
        out.pop(key, None)
    return {k: _json_safe(v) for k, v in out.items()}


def _lean(stats: Any) -> Any:
    fields = getattr(stats, "__dataclass_fields__", {})
    heavy = {key: () for key in _HEAVY_FIELDS if key in fields}
    return dataclasses.replace(stats, **heavy) if heavy else stats


def _renamed(stats: Any, name: str) -> Any:
    return dataclasses.replace(stats, name=name)


def _selected(finding: Finding, fail_on: frozenset[str]) -> bool:
    return "any" in fail_on or finding.kind in fail_on or finding.severity in fail_on


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _without_values(stats: TensorStats) -> bool:
    return any(note.startswith("no statistics:") for note in stats.notes)
