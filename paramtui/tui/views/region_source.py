"""The value grid's source for tensors stored in pieces (GGUF blocks, sharded DCP chunks).

Each window the grid asks for becomes one box of the tensor, read by a RegionReader
(core.pieces): a GGUF tensor dequantizes only the blocks that hold the window, a sharded
DCP tensor copies the window's cells out of the chunks it meets. Nothing else is read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paramtui.core.dtypes import dtype_info
from paramtui.core.pieces import RegionReader
from paramtui.tui.views.value_source import SliceSpec, ValueSource

if TYPE_CHECKING:
    import torch


def source_for(opened: Any, dtype: str, spec: SliceSpec) -> ValueSource:
    """The grid's source for what `value_source.open_values` returned."""
    if isinstance(opened, RegionReader):
        return RegionSource(opened, spec)
    return ValueSource(opened, dtype, spec)


class RegionSource(ValueSource):
    """A slice of a tensor stored in pieces, fetched one window (one box) at a time."""

    def __init__(self, reader: RegionReader, spec: SliceSpec) -> None:
        # ValueSource.__init__ indexes a tensor; here there is none, only the reader
        self.reader = reader
        self.dtype = reader.dtype
        self.spec = spec
        self.note = reader.note
        self.rows_fetched = 0
        self.cells_fetched = 0
        self._last = None

    def with_spec(self, spec: SliceSpec) -> ValueSource:
        return RegionSource(self.reader, spec)

    @property
    def n_rows(self) -> int:
        return self.spec.shape[self.spec.shown_dims[0]] if self.ndim >= 1 else 1

    @property
    def n_cols(self) -> int:
        return self.spec.shape[self.spec.shown_dims[1]] if self.ndim == 2 else 1

    @property
    def itemsize(self) -> int:
        return dtype_info(self.dtype).itemsize

    def _block(self, r0: int, r1: int, c0: int, c1: int) -> torch.Tensor:
        rows = (r0, max(r0, r1)) if self.ndim >= 1 else (0, 1)
        cols = (c0, max(c0, c1)) if self.ndim == 2 else (0, 1)
        shown = dict(zip(self.spec.shown_dims, (rows, cols), strict=False))
        box = [shown.get(d, (int(i or 0), int(i or 0) + 1)) for d, i in enumerate(self.spec.index)]
        return self.reader.read(box).reshape(rows[1] - rows[0], cols[1] - cols[0])

    def _element(self, row: int, col: int) -> torch.Tensor:
        return self._block(row, row + 1, col, col + 1).reshape(())

    def bits(self, row: int, col: int) -> int | None:
        """Bit patterns only of stored values (not of values dequantized for display)."""
        return super().bits(row, col) if self.reader.exact else None
