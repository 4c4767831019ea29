"""The whole-model health scan: statistics of every tensor, then anomalies with explanations.

One streaming pass per stored tensor computes its statistics (pages released as it goes, so
RSS stays flat on files larger than RAM). Names that view the same bytes (tied weights) are
read once. Most checks work from the statistics alone; two need the data again and run only
for the few tensors that could match: dead rows/columns (weights with at least a row's worth of
zeros) and duplicates (weights whose exact min, max and counts equal another storage's).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paramtui.analysis.scan import dead_channels
from paramtui.analysis.scan.checks import CHECKS
from paramtui.analysis.scan.context import ScanContext
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
from paramtui.analysis.scan.training import value_checks
from paramtui.analysis.stats.compute import compute_stats
from paramtui.analysis.stats.engine import StatsCancelled
from paramtui.analysis.stats.result import TensorStats
from paramtui.core import access, pieces
from paramtui.core.errors import ParamtuiError
from paramtui.core.model import CheckpointIndex, TensorInfo

Progress = Callable[[int, int, str], None]  # (done bytes, total bytes, current tensor name)
StatsFn = Callable[..., TensorStats]  # compute_stats(info, progress=, should_cancel=)


@dataclass(frozen=True)
class ScanReport:
    """What the scan found. `stats` maps every tensor name to its TensorStats (histograms
    dropped to keep 100k-tensor reports small); `findings` are sorted worst first."""

    path: str
    format: str
    num_tensors: int
    scanned_bytes: int
    elapsed_s: float
    stats: dict[str, TensorStats]
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
    stats_fn: StatsFn = compute_stats,
    thresholds: Thresholds | None = None,
) -> ScanReport:
    """Scan every tensor of `index`. Raises StatsCancelled when should_cancel() says stop."""
    th = thresholds or Thresholds()
    started = time.monotonic()
    run = _Run(index, th, progress, should_cancel, stats_fn)
    context = ScanContext(index, tuple(run.read_all()), th, should_cancel, run.say)
    for check in CHECKS:
        run.findings.extend(check(context))
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
        stats_fn: StatsFn,
    ) -> None:
        self.index, self.th, self.stats_fn = index, th, stats_fn
        self.report, self.should_cancel = progress, should_cancel
        self.groups = view_groups(index)
        self.total = sum(self.index.tensor(names[0]).nbytes for names in self.groups)
        self.done = 0
        self.stats: dict[str, TensorStats] = {}
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
            self.say(info.name)
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
            raise StatsCancelled(name)

    def say(self, name: str) -> None:
        if self.report is not None:
            self.report(min(self.done, self.total), self.total, name)


def view_groups(index: CheckpointIndex) -> list[tuple[str, ...]]:
    """Names grouped by the exact bytes they view (tied weights), in file order."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for info in index:
        key = (info.storage_id, info.storage_offset, info.shape, info.stride, info.dtype)
        groups.setdefault(key, []).append(info.name)
    return [tuple(names) for names in groups.values()]


def compact_stats(stats: TensorStats) -> dict[str, Any]:
    """A TensorStats as JSON (TensorStats.to_dict), without its histogram."""
    return stats.to_dict(histogram=False)


def _lean(stats: TensorStats) -> TensorStats:
    return dataclasses.replace(stats, histogram_edges=(), histogram_counts=())


def _renamed(stats: TensorStats, name: str) -> TensorStats:
    return dataclasses.replace(stats, name=name)


def _selected(finding: Finding, fail_on: frozenset[str]) -> bool:
    return "any" in fail_on or finding.kind in fail_on or finding.severity in fail_on


def _without_values(stats: TensorStats) -> bool:
    return any(note.startswith("no statistics:") for note in stats.notes)
