"""What the scan screen shows of a ScanReport: table cells for findings and per-layer trends,
the full text of one finding, and the summary line. Pure functions; names go through Text.

Severity reads without colour: errors are reversed, warnings bold, info dim."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.text import Text

from paramtui.render.sparkline import sparkline, wants_log
from paramtui.tui.views import fmt

if TYPE_CHECKING:
    from paramtui.analysis.scan.findings import Finding
    from paramtui.analysis.scan.layers import LayerTrend
    from paramtui.analysis.scan.run import ScanReport

SEVERITY_STYLE = {"error": "bold reverse", "warning": "bold", "info": "dim"}
SHORT_MESSAGE = 60  # characters of a finding's message in its table row


def severity_text(severity: str) -> Text:
    return Text(severity, style=SEVERITY_STYLE.get(severity, ""))


def names_text(names: tuple[str, ...]) -> Text:
    text = Text(fmt.printable(names[0]) if names else "")
    if len(names) > 1:
        text.append(f" +{len(names) - 1}", style="dim")
    return text


def short_message(message: str) -> str:
    """The first sentence, cut to SHORT_MESSAGE characters (the panel below has all of it)."""
    first = message.split(". ", 1)[0]
    if len(first) > SHORT_MESSAGE:
        first = first[: SHORT_MESSAGE - 1] + "…"
    return fmt.printable(first)


def finding_cells(finding: Finding) -> list[Text]:
    return [
        severity_text(finding.severity),
        Text(finding.kind),
        names_text(finding.names),
        Text(short_message(finding.message)),
    ]


def finding_detail(finding: Finding) -> Text:
    """Everything about one finding: severity, kind, every name, the whole explanation."""
    text = Text()
    text.append_text(severity_text(finding.severity))
    text.append(f" {finding.kind}: ", style="bold")
    text.append(fmt.printable(finding.message))
    if len(finding.names) > 1:
        text.append("\nnames: ", style="dim")
        text.append(", ".join(fmt.printable(n) for n in finding.names))
    return text


def trend_cells(trend: LayerTrend) -> list[Text]:
    """Pattern, layers, and the L2 norm and |max| along N (log scale when they span 100×)."""
    first, last = trend.indices[0], trend.indices[-1]
    return [
        Text(fmt.printable(trend.pattern)),
        Text(f"{first}..{last}" if len(trend.indices) > 1 else str(first), justify="right"),
        _spark(trend.norm),
        _spark(trend.abs_max),
        Text(_range(trend.norm), style="dim"),
    ]


def _spark(values: tuple[float | None, ...]) -> Text:
    log = wants_log(values)
    text = Text(sparkline(values, log=log))
    if log:
        text.append(" log", style="dim")
    return text


def _range(values: tuple[float | None, ...]) -> str:
    known = [v for v in values if v is not None and math.isfinite(v)]
    return f"{fmt.number(min(known))} .. {fmt.number(max(known))}" if known else ""


def trend_target(trend: LayerTrend) -> str:
    """The layer a trend row leads to: the one with the largest norm (the likeliest outlier)."""
    best, name = -math.inf, trend.names[0]
    for value, candidate in zip(trend.norm, trend.names, strict=True):
        if value is not None and math.isfinite(value) and value > best:
            best, name = value, candidate
    return name


def summary_text(report: ScanReport, edited: bool) -> Text:
    """`2 errors · 8 warnings · 1 info — 245 tensors, 2.0 MiB read in 0.4 s`."""
    counts = report.counts()
    text = Text()
    for i, severity in enumerate(("error", "warning", "info")):
        n = counts.get(severity, 0)
        plural = "s" if n != 1 and severity != "info" else ""
        text.append(" · " if i else "")
        text.append(f"{n} {severity}{plural}", style=SEVERITY_STYLE[severity] if n else "dim")
    text.append(
        f" — {fmt.grouped(report.num_tensors)} tensors, {fmt.size(report.scanned_bytes)} read "
        f"in {report.elapsed_s:.1f} s"
    )
    text.append("  (enter: go to the tensor)", style="dim")
    if report.healthy:
        text.append("\nNo errors or warnings: nothing looks wrong.", style="bold")
    for note in report.notes:
        text.append(f"\nnote: {fmt.printable(note)}", style="italic")
    if edited:
        text.append("\nThe scan reads the file: edits of this session are not in it.", style="bold")
    return text
