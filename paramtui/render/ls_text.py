"""`paramtui ls` as plain aligned columns: one line per tensor, never wrapped or truncated, so
the output greps and cuts well and stays fast for 100k tensors (a rich Table would wrap names at
the terminal width and measure every cell)."""

from __future__ import annotations

from collections.abc import Iterator

from paramtui.core.model import CheckpointIndex, TensorInfo
from paramtui.render.format import format_shape, human_bytes, safe_text

HEADER = ("NAME", "SHAPE", "DTYPE", "DEVICE", "SIZE", "ROLE", "SHARES STORAGE WITH")
_RIGHT = {4}  # columns aligned right (SIZE)


def ls_rows(index: CheckpointIndex) -> list[tuple[str, ...]]:
    groups = index.storage_groups()
    return [_row(t, groups[t.storage_id]) for t in index]


def _row(info: TensorInfo, group: list[str]) -> tuple[str, ...]:
    others = [n for n in group if n != info.name]
    shared = ""
    if others:
        shared = safe_text(others[0]) + (f" (+{len(others) - 1} more)" if len(others) > 1 else "")
    return (
        safe_text(info.name),
        format_shape(info.shape),
        info.dtype,
        safe_text(info.device) if info.device is not None else "-",
        human_bytes(info.nbytes),
        info.role,
        shared,
    )


def aligned_lines(rows: list[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> Iterator[str]:
    """The header then each row, columns padded to their widest cell; the last is not padded."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    for row in (header, *rows):
        cells = [_pad(cell, widths[i], i in _RIGHT) for i, cell in enumerate(row[:-1])]
        yield "  ".join([*cells, row[-1]]).rstrip()


def _pad(cell: str, width: int, right: bool) -> str:
    return cell.rjust(width) if right else cell.ljust(width)
