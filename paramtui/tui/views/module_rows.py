"""The per-module table's rows: one tensor each, its cells and its sort keys (the worker that
computes the statistics the table lacks is tasks.module_rows).

Rows are built at once from the index (name, shape, dtype, flags known); norm, std and sparsity
arrive as the worker reports them (cached statistics are used at once). Sorting never moves
rows whose statistics are missing ahead of those that have them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from rich.text import Text

from paramtui.core.tree import ModuleNode, natural_key
from paramtui.tui.views import fmt
from paramtui.tui.views.edit_marks import EDITED, FROZEN

if TYPE_CHECKING:
    from paramtui.analysis.stats.compute import TensorStats
    from paramtui.core.model import TensorInfo
    from paramtui.tui.views.edit_marks import EditMarks


class RowSource(Protocol):
    """What the rows read of an opened checkpoint (tui.workspace.Opened)."""

    @property
    def marks(self) -> EditMarks: ...

    def is_edited(self, name: str) -> bool: ...

    def stats(self, name: str) -> TensorStats | None: ...


MAX_ROWS = 2000
# (column key, title, numeric: a first press sorts largest first)
COLUMNS = (
    ("name", "tensor", False),
    ("flags", "flags", True),  # before the numbers: NaN must show at 80 columns
    ("shape", "shape", True),
    ("norm", "L2 norm", True),
    ("std", "std", True),
    ("sparsity", "zeros", True),
    ("dtype", "dtype", False),  # last: usually one dtype throughout, and 80 columns are few
)
PENDING = Text("…", style="dim")


class NameCell(Text):
    """The name cell: text on screen, and the full tensor name for sorting and jumping."""

    def __init__(self, tensor_name: str, shown: str) -> None:
        super().__init__(shown)
        self.tensor_name = tensor_name


@dataclass
class ModuleRow:
    info: TensorInfo
    shown_name: str  # relative to the module
    edited: bool
    frozen: bool
    stats: TensorStats | None = None
    failed: str = ""

    def flags(self) -> list[str]:
        stats = self.stats
        flags = []
        if stats is not None and stats.nan:
            flags.append("NaN")
        if stats is not None and (stats.posinf or stats.neginf):
            flags.append("Inf")
        if self.edited:
            flags.append(EDITED)
        if self.frozen:
            flags.append(FROZEN)
        return flags

    def stat_cells(self) -> dict[str, Text]:
        stats = self.stats
        if stats is None:
            value = Text("n/a", style="dim") if self.failed else PENDING
            return {"norm": value, "std": value, "sparsity": value, "flags": self.flag_cell()}
        return {
            "norm": Text(fmt.number(stats.l2), justify="right"),
            "std": Text(fmt.number(stats.std), justify="right"),
            "sparsity": Text(fmt.percent(stats.zeros, stats.count), justify="right"),
            "flags": self.flag_cell(),
        }

    def flag_cell(self) -> Text:
        flags = self.flags()
        bad = bool(flags) and flags[0] in ("NaN", "Inf")
        return Text(" ".join(flags), style="bold reverse" if bad else "bold")

    def cells(self) -> list[Text]:
        info = self.info
        more = self.stat_cells()
        return [
            NameCell(info.name, fmt.printable(self.shown_name)),
            more["flags"],
            Text(fmt.shape(info.shape), justify="right"),
            more["norm"],
            more["std"],
            more["sparsity"],
            Text(info.dtype),
        ]

    def sort_key(self, column: str, descending: bool) -> tuple[Any, ...]:
        """Rows without the value go last whichever the direction (DataTable reverses keys)."""
        value = self._value(column)
        missing = value is None
        rank = (-1 if descending else 1) * missing
        return (rank, value if value is not None else 0)

    def _value(self, column: str) -> Any:
        stats = self.stats
        if column == "name":
            return natural_key(self.shown_name)
        if column == "shape":
            return (self.info.numel, self.info.shape)
        if column == "dtype":
            return self.info.dtype
        if column == "flags":
            return len(self.flags()) + 10 * ("NaN" in self.flags() or "Inf" in self.flags())
        if stats is None:
            return None
        value = {"norm": stats.l2, "std": stats.std, "sparsity": stats.zero_fraction}[column]
        return value if value is None or value == value else None  # NaN sorts as missing


def module_rows(node: ModuleNode, opened: RowSource) -> list[ModuleRow]:
    """The first MAX_ROWS tensors at or below `node`, in file order, with cached statistics."""
    prefix = len(node.path) + 1 if node.path else 0
    marks = opened.marks
    rows: list[ModuleRow] = []
    for info in node.iter_tensors():
        if len(rows) >= MAX_ROWS:
            break
        intent = marks.intents.get(info.name)
        frozen = (intent is False) or (intent is None and info.requires_grad is False)
        shown = info.name[prefix:] or info.name
        row = ModuleRow(info, shown, opened.is_edited(info.name), frozen)
        row.stats = opened.stats(info.name)
        rows.append(row)
    return rows
