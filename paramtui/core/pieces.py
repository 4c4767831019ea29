"""Chunk sources for tensors that are not one mapped region of a file.

Block-quantized GGUF tensors are dequantized to float32 a bounded number of rows at a time; a
sharded DCP tensor is read chunk by chunk, each saved chunk mapped in place from its .distcp file.
Nothing is assembled whole. Two faces: `chunk_source` streams every value for the statistics (in
storage order, which statistics do not depend on), `region_reader` reads one box of the tensor
(a window of the value grid). torch is imported inside functions only.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paramtui.core import access
from paramtui.core.dtypes import GGUF_PREFIX
from paramtui.core.formats import dcp, gguf
from paramtui.core.model import TensorInfo

if TYPE_CHECKING:
    import torch

COMPOSITE_LAYOUTS = frozenset({gguf.QUANTIZED, dcp.SHARDED})
DEQUANTIZED_NOTE = "values dequantized from GGUF {kind} to float32"
SHARDED_NOTE = "read from its {count} saved chunks (sharded DCP)"

Box = Sequence[tuple[int, int]]  # (start, stop) per dimension


class Unreadable(Exception):
    """The values cannot be read; the message says why, for the user."""


@dataclass(frozen=True)
class ChunkSource:
    """What the statistics engine streams: `chunks()` gives a fresh iterator per pass, of 1-D
    `dtype` tensors of at most the chunk size asked for."""

    dtype: str
    chunks: Callable[[], Iterator[torch.Tensor]]
    notes: tuple[str, ...]


def is_composite(info: TensorInfo) -> bool:
    """True for the tensors this module reads (GGUF blocks, sharded DCP)."""
    return info.layout in COMPOSITE_LAYOUTS


def chunk_source(
    info: TensorInfo, chunk_elems: Callable[[str], int], release: bool = True
) -> ChunkSource:
    """The chunks of a composite tensor; `chunk_elems(dtype)` bounds their size. With
    `release`, each DCP chunk's pages are dropped once read. Raises Unreadable."""
    if info.layout == gguf.QUANTIZED:
        return _gguf_source(info, chunk_elems("float32"))
    if info.layout == dcp.SHARDED:
        return _dcp_source(info, chunk_elems(info.dtype), release)
    raise Unreadable(f"its layout is {info.layout}, which is read in place, not in pieces")


def _gguf_source(info: TensorInfo, chunk: int) -> ChunkSource:
    problem = gguf.dequantize_problem(info)
    if problem is not None:
        raise Unreadable(problem)
    row_len = info.shape[-1] if info.shape else 1
    rows = max(1, chunk // max(row_len, 1))
    kind = info.dtype.removeprefix(GGUF_PREFIX)
    return ChunkSource(
        "float32",
        lambda: split(gguf.dequantize_chunks(info, rows_per_chunk=rows), chunk),
        (DEQUANTIZED_NOTE.format(kind=kind),),
    )


def _dcp_source(info: TensorInfo, chunk: int, release: bool) -> ChunkSource:
    parts = sharded_parts(info)

    def chunks() -> Iterator[torch.Tensor]:
        for part in parts:
            try:
                yield from access.iter_chunks(part, chunk)
            finally:
                if release:  # safe under other readers: clean pages are read back if touched
                    access.release_pages(part)

    return ChunkSource(info.dtype, chunks, (SHARDED_NOTE.format(count=len(parts)),))


def split(chunks: Iterable[torch.Tensor], most: int) -> Iterator[torch.Tensor]:
    """The same values in pieces of at most `most` elements (views, nothing copied)."""
    for chunk in chunks:
        if chunk.numel() <= most:
            yield chunk
        else:
            for start in range(0, chunk.numel(), most):
                yield chunk[start : start + most]


def sharded_parts(info: TensorInfo) -> list[TensorInfo]:
    """The saved chunks of a sharded DCP tensor, each readable in place. Raises Unreadable
    unless every chunk maps in place, inside the tensor, and together they hold its numel."""
    return [part for _, part in _checked_chunks(info)]


def _checked_chunks(info: TensorInfo) -> list[tuple[tuple[int, ...], TensorInfo]]:
    found = dcp.saved_chunks(info)
    for offsets, part in found.parts:
        reason = access.unviewable_reason(part)
        if reason is not None:
            why = found.problems[0] if found.problems else reason
            raise Unreadable(f"its chunk at {list(offsets)} cannot be read in place: {why}")
        if not _inside(offsets, part.shape, info.shape):
            raise Unreadable(
                f"its chunk at {list(offsets)} of shape {list(part.shape)} lies outside the "
                f"tensor's shape {list(info.shape)}; the checkpoint's metadata is inconsistent"
            )
    covered = sum(part.numel for _, part in found.parts)
    if covered != info.numel:
        raise Unreadable(
            f"its saved chunks hold {covered:,} values, not the {info.numel:,} of its shape "
            f"{list(info.shape)}; the checkpoint's metadata is inconsistent"
        )
    return found.parts


def _inside(offsets: tuple[int, ...], sizes: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    if not len(offsets) == len(sizes) == len(shape):
        return False
    return all(o >= 0 and o + s <= n for o, s, n in zip(offsets, sizes, shape, strict=True))


# -- windows for the value grid -------------------------------------------------------------


class RegionReader:
    """Reads boxes of a composite tensor. `dtype` is the dtype of the values it returns;
    `exact` says they are the stored values (so their bit patterns mean something)."""

    dtype: str
    exact: bool
    note: str

    def __init__(self, info: TensorInfo) -> None:
        self.info = info
        self.shape = info.shape

    def read(self, box: Box) -> torch.Tensor:
        """The values in `box` ((start, stop) per dim, within the shape), shaped like it."""
        raise NotImplementedError


def region_reader(info: TensorInfo) -> RegionReader:
    """A reader of windows of a composite tensor. Raises Unreadable."""
    if info.layout == gguf.QUANTIZED:
        problem = gguf.dequantize_problem(info)
        if problem is not None:
            raise Unreadable(problem)
        reader: RegionReader = _GgufRegion(info)
        if info.numel:
            reader.read([(0, 1)] * len(info.shape))  # checks the file holds every block
        return reader
    if info.layout == dcp.SHARDED:
        return _DcpRegion(info, _checked_chunks(info))
    raise Unreadable(f"its layout is {info.layout}, which is read in place, not in pieces")


class _GgufRegion(RegionReader):
    dtype = "float32"
    exact = False

    def __init__(self, info: TensorInfo) -> None:
        super().__init__(info)
        self.note = f"dequantized from {info.dtype.removeprefix(GGUF_PREFIX)} to float32"

    def read(self, box: Box) -> torch.Tensor:
        sizes = [stop - start for start, stop in box]
        if not box:  # a 0-d tensor: one row of one value
            return gguf.dequantize_rows(self.info, [0], 0, 1).reshape(())
        lead = self.shape[:-1]
        rows = [_flat(index, lead) for index in itertools.product(*(range(*b) for b in box[:-1]))]
        start, stop = box[-1]
        return gguf.dequantize_rows(self.info, rows, start, stop).reshape(sizes)


def _flat(index: tuple[int, ...], shape: tuple[int, ...]) -> int:
    flat = 0
    for i, size in zip(index, shape, strict=True):
        flat = flat * size + i
    return flat


class _DcpRegion(RegionReader):
    exact = True

    def __init__(self, info: TensorInfo, parts: list[tuple[tuple[int, ...], TensorInfo]]) -> None:
        super().__init__(info)
        self.dtype = info.dtype
        self.parts = parts
        self.note = f"read from {len(parts)} saved chunks"
        self._views = [access.open_tensor(part) for _, part in parts]  # lazy views; checks sizes

    def read(self, box: Box) -> torch.Tensor:
        import torch

        sizes = [stop - start for start, stop in box]
        out = torch.empty(sizes, dtype=getattr(torch, self.dtype))
        if math.prod(sizes) == 0:
            return out
        for i, (offsets, part) in enumerate(self.parts):
            cut = _overlap(box, offsets, part.shape)
            if cut is not None:
                into, take = cut
                out[into] = self._views[i][take]
        return out


def _overlap(
    box: Box, offsets: tuple[int, ...], sizes: tuple[int, ...]
) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
    """Where a chunk at `offsets` meets `box`: (slices into the box, slices into the chunk)."""
    into, take = [], []
    for (start, stop), o, s in zip(box, offsets, sizes, strict=True):
        lo, hi = max(start, o), min(stop, o + s)
        if lo >= hi:
            return None
        into.append(slice(lo - start, hi - start))
        take.append(slice(lo - o, hi - o))
    return tuple(into), tuple(take)
