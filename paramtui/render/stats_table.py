"""The faces of `paramtui stats`: JSON ("paramtui.stats/2") and rich tables.

The JSON of one tensor is TensorStats.to_dict() (the shape `scan --json` uses too) plus its
shape; the tables read the same dict, so both faces show the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from paramtui.render.format import format_shape, safe_text
from paramtui.render.sparkline import sparkline

if TYPE_CHECKING:
    from paramtui.analysis.stats.result import TensorStats

STATS_SCHEMA = "paramtui.stats/2"
CARD_LIMIT = 3  # up to this many tensors get a full card each; more get one table
CARD_BARS = 32  # histogram characters in a card
TABLE_BARS = 16  # and in a list row
StatsItem = tuple["TensorStats", tuple[int, ...]]  # a result and the tensor's shape


def stats_json(path: str, fmt: str, bins: int, items: Iterable[StatsItem]) -> dict[str, Any]:
    """`items` are (TensorStats, shape) pairs in the order asked."""
    return {
        "schema": STATS_SCHEMA,
        "path": path,
        "format": fmt,
        "bins": bins,
        "tensors": [stats_item(s, shape) for s, shape in items],
    }


def stats_item(stats: TensorStats, shape: tuple[int, ...]) -> dict[str, Any]:
    """One tensor: TensorStats.to_dict() with its shape after the dtype."""
    out = stats.to_dict()
    return {"name": out.pop("name"), "dtype": out.pop("dtype"), "shape": list(shape), **out}


def stats_renderable(items: Sequence[StatsItem]) -> RenderableType:
    if len(items) <= CARD_LIMIT:
        return Group(*(stats_card(s, shape) for s, shape in items))
    return stats_table(items)


def stats_card(stats: TensorStats, shape: tuple[int, ...]) -> RenderableType:
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


def stats_table(items: Sequence[StatsItem]) -> RenderableType:
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
    edges, counts = item["histogram"]["edges"], item["histogram"]["counts"]
    if not counts:
        return "-"
    low, high = edges[0], edges[-1]
    bars = sparkline(shrink(counts, CARD_BARS))
    return f"{bars}  [{_cell(low)} .. {_cell(high)}]"


def _cell(value: float | str | None, digits: int = 6) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"


def _share(part: int, whole: int, digits: int = 2) -> str:
    return f"{100 * part / whole:.{digits}f}%" if whole else "-"
