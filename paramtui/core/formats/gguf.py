"""GGUF files (llama.cpp), read with the `gguf` package's own reader: `pip install paramtui[gguf]`.

Key/value metadata becomes the index's file metadata. Tensors keep their GGML type: plain types map
to torch dtypes and their bytes map in place like any tensor; block-quantized types ("gguf:Q4_K")
get layout "gguf-quantized", their true byte size in `stored_nbytes` and a location over the raw
blocks, and are read as float32 numbers by `dequantize_chunks` (a bounded number of rows at a
time) or `dequantize_rows` (a window: only the blocks that hold it). GGUF lists dimensions
innermost first; the index gives shapes in PyTorch order.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from paramtui.core.dtypes import GGUF_PREFIX
from paramtui.core.errors import UnusableInput
from paramtui.core.model import CheckpointIndex, DataLocation, TensorInfo
from paramtui.core.roles import infer_role

if TYPE_CHECKING:
    import torch

MAGIC = b"GGUF"
QUANTIZED = "gguf-quantized"
PREVIEW_ITEMS = 8
PREVIEW_CHARS = 200
CHUNK_ELEMENTS = 1 << 20
_PLAIN = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
}
_READER_FIELDS = {"GGUF.tensor_count", "GGUF.kv_count"}  # the reader's own bookkeeping


def looks_like_gguf(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _lib() -> Any:
    try:
        import gguf
    except ImportError:
        raise UnusableInput(
            "this is a GGUF file (llama.cpp); reading it needs the optional `gguf` package. "
            "Install it with: pip install 'paramtui[gguf]'"
        ) from None
    return gguf


def open_gguf(path: str) -> CheckpointIndex:
    reader = _reader(path)
    tensors = {info.name: info for info in (_tensor(path, t) for t in reader.tensors)}
    quantized = sorted({t.dtype for t in tensors.values() if t.layout == QUANTIZED})
    notes = []
    if quantized:
        kinds = ", ".join(q.removeprefix(GGUF_PREFIX) for q in quantized)
        notes.append(f"block-quantized tensors ({kinds}) are dequantized in chunks to be read")
    return CheckpointIndex(
        path=path,
        format="gguf",
        tensors=tensors,
        file_metadata=_fields(reader),
        files=[path],
        notes=notes,
    )


def _reader(path: str) -> Any:
    gguf = _lib()
    try:
        reader = gguf.GGUFReader(path, "r")
    except (ValueError, KeyError, IndexError, OSError, TypeError) as exc:
        raise UnusableInput(
            f"{path} starts like a GGUF file but cannot be read ({type(exc).__name__}: {exc}). "
            "It may be truncated or damaged."
        ) from None
    if getattr(reader, "byte_order", "I") != "I":
        raise UnusableInput(
            f"{path} is a GGUF file of the other byte order (big-endian); paramtui reads "
            "little-endian files only."
        )
    return reader


def _tensor(path: str, t: Any) -> TensorInfo:
    ggml_name = t.tensor_type.name
    shape = tuple(int(d) for d in reversed(t.shape.tolist()))
    plain = _PLAIN.get(ggml_name)
    dtype = plain or GGUF_PREFIX + ggml_name
    return TensorInfo(
        name=t.name,
        shape=shape,
        dtype=dtype,
        device=None,
        stride=tuple(math.prod(shape[i + 1 :]) for i in range(len(shape))),
        storage_offset=0,
        storage_id=f"gguf:{int(t.data_offset)}",
        location=DataLocation(path, int(t.data_offset), int(t.n_bytes)),
        role=infer_role(t.name, dtype),
        layout="strided" if plain else QUANTIZED,
        stored_nbytes=None if plain else int(t.n_bytes),
    )


def _fields(reader: Any) -> dict[str, str]:
    return {
        field.name: _clip(_preview(field))
        for field in reader.fields.values()
        if field.name not in _READER_FIELDS
    }


def _preview(field: Any) -> str:
    kinds = [t.name.lower() for t in field.types]
    if kinds and kinds[0] == "array":
        count = len(field.data)
        first = [_value(field, i, kinds[-1]) for i in range(min(count, PREVIEW_ITEMS))]
        more = ", …" if count > PREVIEW_ITEMS else ""
        return f"[{count} × {kinds[-1]}] [{', '.join(repr(v) for v in first)}{more}]"
    return str(_value(field, 0, kinds[0] if kinds else ""))


def _value(field: Any, i: int, kind: str) -> Any:
    """Element `i` of a field, from its raw parts (works across gguf package versions)."""
    part = field.parts[field.data[i]]
    if kind == "string":
        return bytes(part.tobytes()).decode("utf-8", "replace")
    values = part.tolist()
    return values[0] if len(values) == 1 else values


def _clip(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def dequantize_problem(info: TensorInfo) -> str | None:
    """Why `info`'s blocks cannot be dequantized here (no `gguf` package, a type it cannot
    decode), or None when they can. A truncated file is not a problem here: reading raises."""
    import numpy as np

    try:
        gguf = _lib()
    except UnusableInput as exc:
        return str(exc)
    qtype = _qtype(gguf, info)
    if qtype is None or info.location is None:
        return f"{info.dtype} is not a GGUF type paramtui can dequantize"
    try:
        gguf.quants.dequantize(np.zeros((1, gguf.GGML_QUANT_SIZES[qtype][1]), np.uint8), qtype)
    except NotImplementedError:
        return _cannot(qtype.name)
    return None


def dequantize_chunks(
    info: TensorInfo, rows_per_chunk: int | None = None
) -> Iterator[torch.Tensor]:
    """float32 1-D tensors covering `info` in row-major order, `rows_per_chunk` rows at a time.

    A row is the innermost dimension (GGUF quantizes along it in blocks). By default a chunk
    holds about a million values, so memory stays bounded whatever the tensor's size."""
    import numpy as np
    import torch

    gguf = _lib()
    qtype, row_len, rows, row_bytes = _layout(gguf, info)
    step = rows_per_chunk or max(1, CHUNK_ELEMENTS // max(row_len, 1))
    if rows == 0:
        return
    raw = _blocks(info, rows, row_bytes)
    for start in range(0, rows, step):
        block = np.ascontiguousarray(raw[start : start + step])
        yield torch.from_numpy(_dequantize(gguf, block, qtype, info).reshape(-1))


def dequantize_rows(info: TensorInfo, rows: Sequence[int], start: int, stop: int) -> torch.Tensor:
    """float32 values of columns `start`..`stop`-1 of the given rows (row numbers of the tensor
    seen as [numel // row length, row length]), shape [len(rows), stop - start]. Only the
    blocks that hold those columns are read and dequantized."""
    import numpy as np
    import torch

    gguf = _lib()
    qtype, row_len, n_rows, row_bytes = _layout(gguf, info)
    block, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if not 0 <= start <= stop <= row_len or any(not 0 <= r < n_rows for r in rows):
        raise IndexError(f"rows {list(rows)[:4]}…, columns {start}..{stop} are out of range")
    if not rows or start == stop:
        return torch.zeros((len(rows), stop - start), dtype=torch.float32)
    raw = _blocks(info, n_rows, row_bytes).reshape(n_rows, row_len // block, type_size)
    first, last = start // block, -(-stop // block)
    picked = np.ascontiguousarray(raw[np.asarray(rows, dtype=np.int64), first:last])
    values = _dequantize(gguf, picked.reshape(len(rows), -1), qtype, info)
    skip = start - first * block
    wanted = values.reshape(len(rows), -1)[:, skip : skip + stop - start]
    return torch.from_numpy(np.ascontiguousarray(wanted))


def _blocks(info: TensorInfo, rows: int, row_bytes: int) -> Any:
    """The tensor's raw blocks, [rows, row_bytes] uint8, mapped read-only from its file."""
    import numpy as np

    assert info.location is not None  # _layout checked it
    return np.memmap(
        info.location.path,
        dtype=np.uint8,
        mode="r",
        offset=info.location.offset,
        shape=(rows, row_bytes),
    )


def _dequantize(gguf: Any, blocks: Any, qtype: Any, info: TensorInfo) -> Any:
    try:
        return gguf.quants.dequantize(blocks, qtype).astype("float32", copy=False)
    except NotImplementedError:
        raise UnusableInput(f"tensor '{info.name}': {_cannot(qtype.name)}") from None


def _cannot(name: str) -> str:
    return (
        f"this version of the gguf package cannot dequantize {name}; "
        "upgrade it with: pip install -U gguf"
    )


def _layout(gguf: Any, info: TensorInfo) -> tuple[Any, int, int, int]:
    """(GGML type, values per row, rows, bytes per row), checked against the file's size."""
    qtype = _qtype(gguf, info)
    if qtype is None or info.location is None:
        raise UnusableInput(f"tensor '{info.name}' is not a GGUF tensor paramtui can dequantize.")
    block, type_size = gguf.GGML_QUANT_SIZES[qtype]
    row_len = info.shape[-1] if info.shape else 1
    rows = info.numel // row_len if row_len else 0
    if row_len % block:
        raise UnusableInput(
            f"tensor '{info.name}': rows of {row_len} values do not split into {qtype.name} blocks "
            f"of {block}; the file is inconsistent."
        )
    row_bytes = row_len // block * type_size
    end = info.location.offset + rows * row_bytes
    if end > os.path.getsize(info.location.path):
        raise UnusableInput(
            f"tensor '{info.name}' needs bytes up to {end} of {info.location.path}, which is "
            "shorter: the file is truncated. Download it again."
        )
    return qtype, row_len, rows, row_bytes


def _qtype(gguf: Any, info: TensorInfo) -> Any:
    """The GGML type of `info` ("gguf:Q4_K" or a plain dtype such as "float16"), or None."""
    name = info.dtype.removeprefix(GGUF_PREFIX)
    name = next((k for k, v in _PLAIN.items() if v == name), name)
    return getattr(gguf.GGMLQuantizationType, name, None)
