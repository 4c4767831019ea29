"""The detail pane's "Optimizer" section: what the optimizer knows about a parameter.

A pure function of an OptimizerSummary (analysis.optimizer.step), like describe.py: no widgets,
no I/O. Names from the file go through Text (never markup)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.text import Text

from paramtui.tui.views import fmt
from paramtui.tui.widgets.describe import Row, rows_table, section

if TYPE_CHECKING:
    from paramtui.analysis.optimizer.step import OptimizerSummary, StepSizeSummary

TITLE = "Optimizer"
KINDS = {"adam": "Adam-like", "sgd": "SGD-like", "other": "other", "no state": "no state"}
_FLAG_WORDS = {"not in any param group": "not in any param group — probably frozen"}
_HYPER_SHOWN = ("betas", "momentum", "eps", "nesterov", "dampening")


def optimizer_section(
    summary: OptimizerSummary | None, selected: str, note: str | None = None
) -> RenderableType | None:
    """The section for tensor `selected`; `note` (one line: why there is no summary) is shown
    when `summary` is None. None when there is nothing to say."""
    if summary is None:
        return None if note is None else section(TITLE, Text(fmt.printable(note), style="italic"))
    rows = _head_rows(summary, selected) + _state_rows(summary) + _step_rows(summary.step_size)
    if summary.update_to_weight is not None:
        rows.append(("update/weight", _short(summary.update_to_weight)))
    parts: list[RenderableType] = [rows_table(rows)]
    parts += [Text(f"⚠ {_FLAG_WORDS.get(f, f)}", style="bold") for f in summary.flags]
    parts += [Text(note, style="dim italic") for note in summary.notes]
    return section(TITLE, Group(*parts))


def _head_rows(summary: OptimizerSummary, selected: str) -> list[Row]:
    rows: list[Row] = []
    if summary.tensor is not None and summary.tensor != selected:
        rows.append(("parameter", Text(fmt.printable(summary.tensor), style="bold")))
    if summary.group is None:
        return rows
    rows.append(("kind", KINDS.get(summary.kind, summary.kind)))
    rows.append(("group", f"{summary.group} of {fmt.printable(summary.optimizer)}"))
    rows.append(("lr", _value(summary.lr)))
    rows.append(("weight decay", _value(summary.weight_decay)))
    rows += [(key, _value(summary.hyper[key])) for key in _HYPER_SHOWN if key in summary.hyper]
    if summary.step is not None:
        rows.append(("step", _value(summary.step)))
    return rows


def _state_rows(summary: OptimizerSummary) -> list[Row]:
    return [(f"‖{key}‖", _short(norm)) for key, norm in summary.norms.items()]


def _step_rows(steps: StepSizeSummary | None) -> list[Row]:
    if steps is None or not steps.count:
        return []
    rows: list[Row] = [
        ("step size", f"mean {_short(steps.mean)}  med {_short(steps.median)}"),
        ("", f"p99 {_short(steps.p99)}  max {_short(steps.max)}"),
    ]
    if steps.nonfinite:
        rows.append(("non-finite", Text(f"{fmt.grouped(steps.nonfinite)} steps", style="bold")))
    return rows


def _value(value: Any) -> str:
    """Numbers compactly (step counts as integers); anything else as saved."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return fmt.grouped(int(value))
    if isinstance(value, int | float):
        return fmt.number(value)
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    return fmt.printable(str(value))


def _short(x: float | None) -> str:
    """Norms and step sizes: three significant digits keep the rows inside a narrow pane."""
    if x is None:
        return "—"
    return fmt.number(x) if not math.isfinite(x) else f"{x:.3g}"
