"""The values behind the value grid: one 2-D (or 1-D, or 0-d) slice of a tensor, read by window.

A `SliceSpec` picks the slice: an integer for each leading dimension and `:` for the (at most
two) dimensions shown as rows and columns, written like Python: `[3, 0, :, :]`. A `ValueSource`
indexes the tensor with it (a view: nothing is read) and materialises only the windows asked
for, so a 10 GB mmap'd tensor costs a few pages per screen. It counts what it read, for tests.
torch is imported inside functions only."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paramtui.core.dtypes import dtype_info

if TYPE_CHECKING:
    import torch

    from paramtui.core.pieces import RegionReader

ALL = None  # a ':' entry of a SliceSpec


@dataclass(frozen=True)
class SliceSpec:
    """Which slice of a tensor of `shape` is shown: an int per fixed dim, ALL for shown dims."""

    shape: tuple[int, ...]
    index: tuple[int | None, ...]

    @classmethod
    def default(cls, shape: tuple[int, ...]) -> SliceSpec:
        """The first slice of the last two dims longer than 1 (a [64, 1, 3] conv weight shows
        64 × 3, not 1 × 3), or of the last two dims; index 0 everywhere else."""
        long = [d for d, size in enumerate(shape) if size > 1][-2:]
        shown = set(long if len(long) == min(len(shape), 2) else range(len(shape))[-2:])
        return cls(shape, tuple(ALL if d in shown else 0 for d in range(len(shape))))

    @classmethod
    def parse(cls, text: str, shape: tuple[int, ...]) -> SliceSpec:
        """`[3, 0, :, :]`, `3, 0` (missing trailing entries are `:`) or `-1, :, 5`.
        Raises ValueError with a message for the user."""
        body = text.strip().removeprefix("[").removesuffix("]").strip()
        parts = [p.strip() for p in body.split(",")] if body else []
        if len(parts) > len(shape):
            raise ValueError(f"the tensor has {len(shape)} dimensions, not {len(parts)}")
        parts += [":"] * (len(shape) - len(parts))
        pairs = enumerate(zip(parts, shape, strict=True))
        index = tuple(_entry(p, size, dim) for dim, (p, size) in pairs)
        if index.count(ALL) > 2:
            raise ValueError("at most two dimensions can be ':' (rows and columns); fix the others")
        return cls(shape, index)

    def text(self) -> str:
        return "[" + ", ".join(":" if i is ALL else str(i) for i in self.index) + "]"

    @property
    def shown_dims(self) -> tuple[int, ...]:
        """The dims shown as rows (then columns), in order."""
        return tuple(d for d, i in enumerate(self.index) if i is ALL)

    @property
    def fixed_dims(self) -> tuple[int, ...]:
        return tuple(d for d, i in enumerate(self.index) if i is not ALL)

    def count(self) -> int:
        """How many slices there are (every combination of the fixed indices)."""
        return math.prod(self.shape[d] for d in self.fixed_dims)

    def number(self) -> int:
        """This slice's 0-based position among them (the last fixed dim varies fastest)."""
        n = 0
        for d in self.fixed_dims:
            n = n * self.shape[d] + int(self.index[d] or 0)
        return n

    def step(self, delta: int) -> SliceSpec:
        """The slice `delta` places further (wrapping around), like an odometer."""
        total = self.count()
        if total <= 1:
            return self
        n = (self.number() + delta) % total
        index = list(self.index)
        for d in reversed(self.fixed_dims):
            n, index[d] = divmod(n, self.shape[d])
        return SliceSpec(self.shape, tuple(index))


def _entry(part: str, size: int, dim: int) -> int | None:
    if part in (":", "::"):
        return ALL
    try:
        i = int(part)
    except ValueError:
        raise ValueError(f"dimension {dim}: {part!r} is neither an integer nor ':'") from None
    if not -size <= i < size:
        raise ValueError(f"dimension {dim} has size {size}: index {i} is out of range")
    return i % size


@dataclass(frozen=True)
class Window:
    """Values of rows r0.. and columns c0.. of the slice, as Python numbers, row by row."""

    r0: int
    c0: int
    values: list[list[Any]]

    def get(self, row: int, col: int) -> Any:
        return self.values[row - self.r0][col - self.c0]


class ValueSource:
    """A slice of `tensor` (read-only), fetched one window at a time."""

    note: str | None = None  # how the values were obtained, when not read as stored

    def __init__(self, tensor: torch.Tensor, dtype: str, spec: SliceSpec) -> None:
        self.tensor = tensor
        self.dtype = dtype
        self.spec = spec
        index = tuple(slice(None) if i is ALL else i for i in spec.index)
        self._view = tensor[index] if index else tensor  # a view: nothing is read here
        self.rows_fetched = 0  # rows materialised so far (what the tests check)
        self.cells_fetched = 0
        self._last: tuple[tuple[int, int, int, int], Window] | None = None

    def with_spec(self, spec: SliceSpec) -> ValueSource:
        return ValueSource(self.tensor, self.dtype, spec)

    @property
    def ndim(self) -> int:
        """Dims shown: 2 (a matrix), 1 (one column) or 0 (a single value)."""
        return len(self.spec.shown_dims)

    @property
    def n_rows(self) -> int:
        return self._view.shape[0] if self.ndim >= 1 else 1

    @property
    def n_cols(self) -> int:
        return self._view.shape[1] if self.ndim == 2 else 1

    def window(self, r0: int, r1: int, c0: int, c1: int) -> Window:
        """Rows r0..r1-1, columns c0..c1-1 (clipped to the slice); only they are read."""
        r1, c1 = min(r1, self.n_rows), min(c1, self.n_cols)
        key = (r0, r1, c0, c1)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        values = python_values(self._block(r0, r1, c0, c1), self.dtype)
        self.rows_fetched += max(r1 - r0, 0)
        self.cells_fetched += max(r1 - r0, 0) * max(c1 - c0, 0)
        window = Window(r0, c0, values)
        self._last = (key, window)
        return window

    def _block(self, r0: int, r1: int, c0: int, c1: int) -> torch.Tensor:
        """Rows r0..r1-1 and columns c0..c1-1 as a 2-D tensor (one column when 1-D)."""
        if self.ndim == 2:
            return self._view[r0:r1, c0:c1]
        if self.ndim == 1:
            return self._view[r0:r1].unsqueeze(1)
        return self._view.reshape(1, 1)

    @property
    def itemsize(self) -> int:
        return self.tensor.element_size()

    def value(self, row: int, col: int) -> Any:
        return self.window(row, row + 1, col, col + 1).values[0][0]

    def bits(self, row: int, col: int) -> int | None:
        """The raw bit pattern of a float element (None for other dtypes)."""
        import torch

        if dtype_info(self.dtype).kind != "float":
            return None
        element = self._element(row, col).reshape(1)
        as_int = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
        return int(element.view(as_int[element.element_size()]).item())

    def _element(self, row: int, col: int) -> torch.Tensor:
        if self.ndim == 2:
            return self._view[row, col]
        return self._view[row] if self.ndim == 1 else self._view


def python_values(block: torch.Tensor, dtype: str) -> list[list[Any]]:
    """A small 2-D block as Python numbers: exact for every dtype (narrow floats go through
    float32, which holds each of their values exactly; complex32 through complex64)."""
    import torch

    kind = dtype_info(dtype).kind
    if kind == "float" and dtype not in ("float32", "float64"):
        block = block.to(torch.float32)
    elif dtype == "complex32":
        block = block.to(torch.complex64)
    values: list[list[Any]] = block.tolist()
    return values


UNALIGNED_LIMIT = 1 << 30  # bytes: an unaligned storage must be copied to be viewed


def open_values(info: Any, edited: torch.Tensor | None) -> torch.Tensor | RegionReader:
    """The tensor whose values the grid shows: the edited value, else a lazy view of the file,
    or a reader of windows for tensors stored in pieces (GGUF blocks, sharded DCP). Raises
    ValueError (with the reason for the user) when the bytes cannot be viewed."""
    from paramtui.core import access, pieces

    if edited is not None:
        return edited
    if pieces.is_composite(info):
        try:
            return pieces.region_reader(info)
        except pieces.Unreadable as exc:
            raise ValueError(f"its values cannot be shown: {exc}") from None
    reason = access.unviewable_reason(info)
    if reason is not None:
        raise ValueError(f"its values cannot be shown: {reason}")
    location = info.location
    if location is None:  # a live tensor (core.live): a view of its memory, nothing copied
        return access.open_tensor(info)
    start = location.offset + info.storage_offset * info.itemsize
    if start % info.itemsize and info.nbytes > UNALIGNED_LIMIT:
        raise ValueError(
            "its bytes are not aligned in the file (an old torch format), so viewing them "
            f"would copy all {info.nbytes:,} bytes into memory"
        )
    return access.open_tensor(info)
