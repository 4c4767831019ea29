"""The faces of `paramtui stats`: JSON ("paramtui.stats/1") and rich tables.

TensorStats is read defensively (getattr): fields such as `quantiles` appear as the statistics
engine grows, and older results simply show them as null with a reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from paramtui.render.format import format_shape, safe_text
from paramtui.render.scan import sparkline

STATS_SCHEMA = "paramtui.stats/1"
VALUE_FIELDS = ("mean", "std", "min", "max", "abs_mean", "l2")
COUNT_FIELDS = ("zeros", "nan", "posinf", "neginf")
DEFAULT_PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
CARD_LIMIT = 3  # up to this many tensors get a full card each; more get one table
CARD_BARS = 32  # histogram characters in a card
TABLE_BARS = 16  # and in a list row


def stats_json(
    path: str, fmt: str, bins: int, items: Iterable[tuple[Any, tuple[int, ...]]]
) -> dict[str, Any]:
    """`items` are (TensorStats, shape) pairs in the order asked."""
    return {
        "schema": STATS_SCHEMA,
        "path": path,
        "format": fmt,
        "bins": bins,
        "tensors": [stats_item(s, shape) for s, shape in items],
    }


def stats_item(stats: Any, shape: tuple[int, ...]) -> dict[str, Any]:
    """One tensor: every statistic (null when it has no meaning, with the reason in
    `null_reasons`), quantiles as {percentile: value}, and the histogram."""
    item: dict[str, Any] = {"name": stats.name, "dtype": stats.dtype, "shape": list(shape)}
    item["count"] = stats.count
    for key in VALUE_FIELDS:
        item[key] = _number(getattr(stats, key, None))
    for key in COUNT_FIELDS:
        item[key] = getattr(stats, key, 0)
    item["quantiles"] = quantile_map(stats)
    edges = list(getattr(stats, "histogram_edges", ()) or ())
    counts = list(getattr(stats, "histogram_counts", ()) or ())
    item["histogram"] = {"edges": [_number(e) for e in edges], "counts": counts}
    item["notes"] = list(getattr(stats, "notes", ()) or ())
    item["null_reasons"] = _null_reasons(item, stats)
    return item


def quantile_map(stats: Any) -> dict[str, Any] | None:
    """{"1": v, "5": v, ..., "99": v} from whatever shape `stats.quantiles` has, or None."""
    raw = getattr(stats, "quantiles", None)
    if not raw:
        return None
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif all(isinstance(p, (tuple, list)) and len(p) == 2 for p in raw):
        pairs = [tuple(p) for p in raw]
    elif len(raw) == len(DEFAULT_PERCENTILES):
        pairs = list(zip(DEFAULT_PERCENTILES, raw, strict=True))
    else:
        return None
    as_fraction = all(float(k) <= 1 for k, _ in pairs)
    return {f"{float(k) * (100 if as_fraction else 1):g}": _number(_plain(v)) for k, v in pairs}


def _null_reasons(item: dict[str, Any], stats: Any) -> dict[str, str]:
    notes = list(getattr(stats, "notes", ()) or ())
    why = "; ".join(notes) if notes else "not computed for this tensor"
    reasons = {key: why for key in VALUE_FIELDS if item[key] is None}
    if item["quantiles"] is None:
        supported = hasattr(stats, "quantiles")
        reasons["quantiles"] = why if supported else "this version does not compute quantiles"
    return reasons


def stats_renderable(items: Sequence[tuple[Any, tuple[int, ...]]]) -> RenderableType:
    if len(items) <= CARD_LIMIT:
        return Group(*(stats_card(s, shape) for s, shape in items))
    return stats_table(items)


def stats_card(stats: Any, shape: tuple[int, ...]) -> RenderableType:
    """Everything about one tensor, one statistic per line."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    item = stats_item(stats, shape)
    grid.add_row("dtype, shape", f"{item['dtype']}, {format_shape(shape)} ({item['count']:,})")
    for key, label in (("mean", "mean"), ("std", "std"), ("min", "min"), ("max", "max")):
        grid.add_row(label, _cell(item[key]))
    grid.add_row("mean |x|", _cell(item["abs_mean"]))
    grid.add_row("L2 norm", _cell(item["l2"]))
    grid.add_row("zeros", f"{item['zeros']:,} ({_share(item['zeros'], item['count'])})")
    grid.add_row("NaN, +Inf, -Inf", f"{item['nan']:,}, {item['posinf']:,}, {item['neginf']:,}")
    if item["quantiles"]:
        listed = "  ".join(f"p{k} {_cell(v)}" for k, v in item["quantiles"].items())
        grid.add_row("quantiles", listed)
    grid.add_row("histogram", _histogram_line(item))
    for note in item["notes"]:
        grid.add_row("note", Text(safe_text(note)))
    title = Text(safe_text(stats.name), style="bold underline")
    return Group(title, grid, Text(""))


def stats_table(items: Sequence[tuple[Any, tuple[int, ...]]]) -> RenderableType:
    """Two lines per tensor (fits 80 columns): name, dtype, shape and histogram; then the
    statistics."""
    lines = []
    for stats, shape in items:
        item = stats_item(stats, shape)
        head = Text(safe_text(item["name"]), style="bold")
        head.append(f"  {item['dtype']} {format_shape(shape)}  ")
        head.append(sparkline(shrink(item["histogram"]["counts"], TABLE_BARS)))
        values = "  ".join(f"{k} {_cell(item[k], 4)}" for k in ("mean", "std", "min", "max"))
        body = f"  {values}  zeros {_share(item['zeros'], item['count'], 1)}"
        bad = item["nan"] + item["posinf"] + item["neginf"]
        if bad:
            body += f"  NaN {item['nan']:,} +Inf {item['posinf']:,} -Inf {item['neginf']:,}"
        lines.extend([head, Text(body)])
    return Group(*lines)


def shrink(counts: Sequence[int], width: int) -> list[int]:
    """Histogram counts summed into at most `width` bars (neighbouring bins together)."""
    if len(counts) <= width:
        return list(counts)
    bounds = [round(i * len(counts) / width) for i in range(width + 1)]
    return [sum(counts[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def _histogram_line(item: dict[str, Any]) -> str:
    hist = item["histogram"]
    if not hist["counts"]:
        return "-"
    low, high = hist["edges"][0], hist["edges"][-1]
    bars = sparkline(shrink(hist["counts"], CARD_BARS))
    return f"{bars}  [{_cell(low)} .. {_cell(high)}]"


def _cell(value: Any, digits: int = 6) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"


def _share(part: int, whole: int, digits: int = 2) -> str:
    return f"{100 * part / whole:.{digits}f}%" if whole else "-"


def _plain(value: Any) -> Any:
    """A Python number from a number-like (a 0-dim tensor or numpy scalar)."""
    if isinstance(value, (int, float)) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
