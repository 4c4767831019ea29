"""safetensors files: `<u64 header length><JSON header><raw little-endian data>`.

The header is parsed with the json module (faster than safe_open on huge headers) and checked
thoroughly, since files come from people we do not trust."""

from __future__ import annotations

import json
import math
import os
import struct

from paramtui.core import intents
from paramtui.core.dtypes import SAFETENSORS_DTYPES, dtype_info
from paramtui.core.errors import UnusableInput
from paramtui.core.model import CheckpointIndex, DataLocation, TensorInfo
from paramtui.core.roles import infer_role

MAX_HEADER = 100 * 1024 * 1024  # the limit the safetensors library itself enforces


def looks_like_safetensors(head: bytes) -> bool:
    """A plausible header length followed by a JSON object; the length is checked later."""
    if len(head) < 9:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 2 <= length <= MAX_HEADER and head[8:9] == b"{"


def read_header(path: str) -> tuple[dict[str, object], dict[str, str], int]:
    """(tensor entries, __metadata__, data start offset). Raises UnusableInput on bad headers."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw_len = f.read(8)
        if len(raw_len) < 8:
            raise _bad(path, "it is shorter than the 8-byte header length")
        (length,) = struct.unpack("<Q", raw_len)
        if length > MAX_HEADER or length > size - 8:
            raise _bad(path, f"its header claims {length} bytes but the file has {size}")
        raw = f.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, f"its header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _bad(path, "its header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise _bad(path, "its __metadata__ is not a JSON object")
    return header, {str(k): str(v) for k, v in meta.items()}, 8 + length


def _tensors(path: str, header: dict[str, object], data_start: int) -> list[TensorInfo]:
    data_size = os.path.getsize(path) - data_start
    return [_tensor(path, name, entry, data_start, data_size) for name, entry in header.items()]


def _tensor(path: str, name: str, entry: object, data_start: int, data_size: int) -> TensorInfo:
    if not isinstance(entry, dict):
        raise _bad(path, f"the entry for tensor '{name}' is not an object")
    code, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    dtype = SAFETENSORS_DTYPES.get(str(code))
    if dtype is None:
        raise _bad(path, f"tensor '{name}' has the unknown dtype {code!r}")
    if type(shape) is not list or any(type(d) is not int or d < 0 for d in shape):
        raise _bad(path, f"tensor '{name}' has an invalid shape {shape!r}")
    if not (
        isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
    ):
        raise _bad(path, f"tensor '{name}' has invalid data_offsets {offsets!r}")
    begin, end = offsets
    numel = math.prod(shape)
    if not 0 <= begin <= end <= data_size or end - begin != numel * dtype_info(dtype).itemsize:
        raise _bad(
            path,
            f"tensor '{name}' claims bytes {begin}..{end} for shape {shape} {dtype}, "
            f"which does not fit the {data_size} data bytes (the file may be truncated)",
        )
    stride = _contiguous_stride(tuple(shape))
    return TensorInfo(
        name=name,
        shape=tuple(shape),
        dtype=dtype,
        device=None,
        stride=stride,
        storage_offset=0,
        storage_id=name,  # safetensors forbids overlapping tensors: no sharing
        location=DataLocation(path, data_start + begin, end - begin),
        role=infer_role(name, dtype),
    )


def _contiguous_stride(shape: tuple[int, ...]) -> tuple[int, ...]:
    if len(shape) == 2:
        return (shape[1], 1)
    stride, acc = [], 1
    for d in reversed(shape):
        stride.append(acc)
        acc *= d
    return tuple(reversed(stride))


def _bad(path: str, why: str) -> UnusableInput:
    return UnusableInput(
        f"{path} is not a readable safetensors file: {why}. "
        "Check that the file was fully downloaded or copied."
    )


def open_safetensors(path: str) -> CheckpointIndex:
    header, meta, data_start = read_header(path)
    infos = _tensors(path, header, data_start)
    index = CheckpointIndex(
        path=path,
        format="safetensors",
        tensors={t.name: t for t in infos},
        file_metadata=meta,
        files=[path],
    )
    if intents.METADATA_KEY in meta:
        intents.apply(index, intents.decode(meta[intents.METADATA_KEY]))
    return index
