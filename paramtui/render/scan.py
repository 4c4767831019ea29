"""The faces of a ScanReport: rich renderables for people, JSON ("paramtui.scan/2") for tools.

Every name and message goes in as a Text object after safe_text (never as markup): tensor names
are data, whatever characters they hold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from paramtui.analysis.scan.findings import ERROR, INFO, WARNING, Finding
from paramtui.analysis.scan.layers import LayerTrend
from paramtui.analysis.scan.run import ScanReport
from paramtui.render.format import human_bytes, safe_text
from paramtui.render.sparkline import sparkline, wants_log
from paramtui.render.tables import titled_table

SCAN_SCHEMA = "paramtui.scan/2"
MAX_TRENDS = 40
ROWS_PER_KIND = 20  # errors/warnings of one kind listed before a "... and N more" row
SEVERITY_STYLE = {ERROR: "bold red", WARNING: "yellow", INFO: "dim"}


def scan_json(
    report: ScanReport, fail_on: Iterable[str] = (), matching: Sequence[Finding] = ()
) -> dict[str, Any]:
    """The whole report, plus the --fail-on gate: which kinds were asked for, and whether any
    warning or error matched them."""
    gate = {"fail_on": sorted(fail_on), "failed": bool(matching), "matching": len(matching)}
    return {"schema": SCAN_SCHEMA, **report.to_dict(), "gate": gate}


def scan_renderable(report: ScanReport, *, max_trends: int = MAX_TRENDS) -> RenderableType:
    parts: list[RenderableType] = [_header(report)]
    if report.findings:
        parts.append(findings_table(report.findings))
    if report.trends:
        parts.append(trends_table(report.trends, max_trends))
    for note in report.notes:
        parts.append(Text(f"note: {safe_text(note)}", style="dim"))
    parts.append(verdict(report))
    spaced: list[RenderableType] = []
    for part in parts:
        spaced.extend([part, Text("")])
    return Group(*spaced[:-1])


def _header(report: ScanReport) -> Text:
    text = Text("Health scan of ", style="bold")
    text.append(safe_text(report.path))
    text.append(
        f"\n{report.format}, {report.num_tensors:,} tensors, "
        f"{human_bytes(report.scanned_bytes)} read in {report.elapsed_s:.1f} s"
    )
    return text


def findings_table(findings: Sequence[Finding], per_kind: int = ROWS_PER_KIND) -> Table:
    """Errors and warnings one per row (at most `per_kind` of each kind, then a count); info
    findings of one kind share a row."""
    table = titled_table("Findings")
    table.add_column("severity", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("what and why", overflow="fold", ratio=1)
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.severity, finding.kind), []).append(finding)
    for (severity, kind), group in groups.items():
        if severity == INFO:
            table.add_row(*_row(INFO, kind, _grouped_message(group)))
            continue
        for finding in group[:per_kind]:
            table.add_row(*_row(severity, kind, finding.message))
        if len(group) > per_kind:
            more = f"... and {len(group) - per_kind:,} more {kind} findings (all in --json)"
            table.add_row(*_row(severity, kind, more))
    return table


def _row(severity: str, kind: str, message: str) -> tuple[Text, Text, Text]:
    return Text(severity, style=SEVERITY_STYLE[severity]), Text(kind), Text(safe_text(message))


def _grouped_message(group: list[Finding]) -> str:
    if len(group) == 1:
        return group[0].message
    names = [n for f in group for n in f.names[:1]]
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"{len(group)} tensors: {shown}. For example, {group[0].message}"


def trends_table(trends: Sequence[LayerTrend], limit: int = MAX_TRENDS) -> RenderableType:
    """One row per pattern: the pattern, then sparklines of the L2 norm (and |max| when the
    width allows) along N, one character per layer, log scale when the values span more than
    LOG_SPREAD."""
    shown = TrendsTable(trends[:limit])
    if len(trends) <= limit:
        return shown
    more = Text(f"... and {len(trends) - limit:,} more patterns (all of them in --json)")
    return Group(shown, more)


class TrendsTable:
    """A table sized at render time: the |max| column is dropped before any name is folded."""

    def __init__(self, trends: Sequence[LayerTrend]) -> None:
        self.trends = list(trends)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        patterns = [self._pattern(t) for t in self.trends]
        ranges = [_range(t.norm) for t in self.trends]
        spark = max(len(t.indices) for t in self.trends)
        needed = max(len(p) for p in patterns) + 2 * spark + max(map(len, ranges)) + 6
        with_max = needed <= options.max_width
        table = titled_table("Across layers (one character per layer N, in order)")
        table.add_column("tensor pattern (N)", overflow="fold")
        table.add_column("L2 norm", no_wrap=True)
        table.add_column("range", no_wrap=True)
        if with_max:
            table.add_column("|max|", no_wrap=True)
        for trend, pattern, span in zip(self.trends, patterns, ranges, strict=True):
            cells: list[RenderableType] = [
                pattern,
                sparkline(trend.norm, log=wants_log(trend.norm)),
                span,
            ]
            if with_max:
                cells.append(sparkline(trend.abs_max, log=wants_log(trend.abs_max)))
            table.add_row(*cells)
        yield table

    @staticmethod
    def _pattern(trend: LayerTrend) -> Text:
        text = Text(safe_text(trend.pattern))
        text.append(f" ({trend.indices[0]}-{trend.indices[-1]})", style="dim")
        return text


def _range(values: Sequence[float | None]) -> str:
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return "-"
    scale = " log" if wants_log(values) else ""
    return f"{min(known):.3g}..{max(known):.3g}{scale}"


def verdict(report: ScanReport) -> Text:
    counts = report.counts()
    line = f"{counts[ERROR]:,} error(s), {counts[WARNING]:,} warning(s), {counts[INFO]:,} note(s)"
    if report.healthy:
        return Text(f"healthy: {line}", style="bold green")
    return Text(f"problems found: {line}", style="bold red" if counts[ERROR] else "bold yellow")
