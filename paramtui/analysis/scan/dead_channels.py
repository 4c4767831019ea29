"""Dead rows and columns: output channels (dim 0) or input channels (dim 1) of a weight that are
entirely zero.

This needs a second pass over the tensor, so it runs only where the statistics allow a dead
line at all (at least a row's or a column's worth of zeros). The pass reads whole rows at a
time in chunks of about a million elements and keeps one flag per row and per column.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paramtui.analysis.scan.findings import (
    INFO,
    WARNING,
    Finding,
    Thresholds,
    Unit,
    label,
    plural,
    shape_text,
)
from paramtui.analysis.scan.layers import is_weight_like
from paramtui.analysis.stats.engine import StatsCancelled
from paramtui.core import access
from paramtui.core.model import TensorInfo

if TYPE_CHECKING:
    import torch

CHUNK = 1 << 20  # elements per chunk
EMBEDDING_NAMES = frozenset({"wte", "wpe", "shared"})  # GPT-2, T5; any segment with "emb" too


@dataclass(frozen=True)
class DeadLines:
    rows: int  # size of dim 0
    cols: int  # size of dim 1
    dead_rows: tuple[int, ...]  # every dead row index, ascending
    dead_cols: tuple[int, ...]


def needs_line_pass(unit: Unit) -> bool:
    """True when `unit` is a 2-D+ float weight whose zeros could fill a whole row or column."""
    info, s = unit.info, unit.stats
    if len(info.shape) < 2 or not is_weight_like(info) or s.min is None or s.zeros >= s.count:
        return False
    rows, cols = info.shape[0], info.shape[1]
    rest = math.prod(info.shape[2:])
    need = min(cols * rest if rows > 1 else math.inf, rows * rest if cols > 1 else math.inf)
    return bool(s.zeros >= need)


def dead_lines(info: TensorInfo, should_cancel: Callable[[], bool] | None = None) -> DeadLines:
    """Scan `info` row by row; its pages are released afterwards."""
    import torch

    rows, cols, rest = info.shape[0], info.shape[1], math.prod(info.shape[2:])
    row_len = cols * rest
    chunk = (CHUNK // row_len) * row_len if row_len <= CHUNK else CHUNK
    marks = _Marks(torch.zeros(rows, dtype=torch.bool), torch.zeros(cols, dtype=torch.bool), rest)
    position = 0
    try:
        for piece in access.iter_chunks(info, chunk):
            if should_cancel is not None and should_cancel():
                raise StatsCancelled(info.name)
            marks.add(_nonzero(piece), position)
            position += piece.numel()
    finally:
        access.release_pages(info)
    dead_r = torch.nonzero(~marks.rows).flatten().tolist()
    dead_c = torch.nonzero(~marks.cols).flatten().tolist()
    return DeadLines(rows, cols, tuple(dead_r), tuple(dead_c))


class _Marks:
    """One "has a non-zero" flag per row and per column, fed with flags in logical order."""

    def __init__(self, rows: torch.Tensor, cols: torch.Tensor, rest: int) -> None:
        self.rows, self.cols, self.rest = rows, cols, rest
        self.row_len = cols.numel() * rest

    def add(self, nz: torch.Tensor, position: int) -> None:
        i, n = 0, nz.numel()
        while i < n:
            row, offset = divmod(position + i, self.row_len)
            whole = (n - i) // self.row_len if offset == 0 else 0
            if whole:
                self._whole_rows(nz[i : i + whole * self.row_len], row, whole)
                i += whole * self.row_len
                continue
            take = min(self.row_len - offset, n - i)
            self._part_row(nz[i : i + take], row, offset)
            i += take

    def _whole_rows(self, nz: torch.Tensor, row: int, count: int) -> None:
        per_col = nz.view(count, self.cols.numel(), self.rest).any(dim=2)
        self.rows[row : row + count] |= per_col.any(dim=1)
        self.cols |= per_col.any(dim=0)

    def _part_row(self, nz: torch.Tensor, row: int, offset: int) -> None:
        """Flags of one row from element `offset` on (a row longer than a chunk)."""
        import torch

        self.rows[row] |= nz.any()
        lead = offset % self.rest
        tail = -(lead + nz.numel()) % self.rest
        padded = torch.cat([nz.new_zeros(lead), nz, nz.new_zeros(tail)]) if lead or tail else nz
        first = offset // self.rest
        per_col = padded.view(-1, self.rest).any(dim=1)
        self.cols[first : first + per_col.numel()] |= per_col


def _nonzero(x: torch.Tensor) -> torch.Tensor:
    """x != 0 (NaN counts as non-zero); float8 chunks are widened, torch cannot compare them."""
    import torch

    if x.dtype.itemsize == 1 and x.dtype.is_floating_point:
        x = x.to(torch.float32)
    return x != 0


def line_findings(unit: Unit, lines: DeadLines, th: Thresholds) -> list[Finding]:
    found = []
    if lines.rows > 1 and lines.dead_rows:
        found.append(_dead_rows(unit, lines, th))
    if lines.cols > 1 and lines.dead_cols:
        found.append(_dead_cols(unit, lines, th))
    return found


def _dead_rows(unit: Unit, lines: DeadLines, th: Thresholds) -> Finding:
    dead = lines.dead_rows
    listed, details = _listed(dead, th), _details(lines.rows, dead, th)
    names, shape = label(unit.names), shape_text(unit.info.shape)
    if not _is_embedding(unit.names):
        return Finding(
            "dead_rows",
            WARNING,
            unit.names,
            f"{len(dead):,} of the {lines.rows:,} rows (dim 0: output channels) of {names} "
            f"(shape {shape}) are entirely zero: {listed}. Those outputs are constant whatever "
            "the input. Typical causes: structured pruning, units that died in training, or a "
            "partial load.",
            details,
        )
    if len(dead) <= th.embedding_padding_rows:
        return Finding(
            "dead_rows",
            INFO,
            unit.names,
            f"{plural(len(dead), 'row')} ({listed}) of the embedding {names} "
            f"{'is' if len(dead) == 1 else 'are'} entirely zero: usually the padding token's "
            "row (padding_idx), kept at zero by design.",
            details,
        )
    return Finding(
        "dead_rows",
        WARNING,
        unit.names,
        f"{len(dead):,} of the {lines.rows:,} rows (tokens) of the embedding {names} are "
        f"entirely zero: {listed}. Those tokens were never trained (reserved or added special "
        "tokens, vocabulary padding): a fine-tune or prompt that uses them starts from "
        "nothing, and a tied output layer never predicts them.",
        details,
    )


def _dead_cols(unit: Unit, lines: DeadLines, th: Thresholds) -> Finding:
    dead = lines.dead_cols
    return Finding(
        "dead_columns",
        WARNING,
        unit.names,
        f"{len(dead):,} of the {lines.cols:,} columns (dim 1: input channels) of "
        f"{label(unit.names)} (shape {shape_text(unit.info.shape)}) are entirely zero: "
        f"{_listed(dead, th)}. The layer ignores those inputs. Typical causes: input-channel "
        "pruning, or inputs that were always zero in training.",
        _details(lines.cols, dead, th),
    )


def _listed(indices: tuple[int, ...], th: Thresholds) -> str:
    shown = ", ".join(str(i) for i in indices[: th.listed_indices])
    more = len(indices) - th.listed_indices
    return f"index {shown}" + (f" and {more:,} more" if more > 0 else "")


def _details(size: int, dead: tuple[int, ...], th: Thresholds) -> dict[str, Any]:
    return {"count": len(dead), "of": size, "first_indices": list(dead[: th.listed_indices])}


def _is_embedding(names: tuple[str, ...]) -> bool:
    parts = [part for name in names for part in name.split(".")]
    return any("emb" in part or part in EMBEDDING_NAMES for part in parts)
