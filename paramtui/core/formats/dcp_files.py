"""The `.distcp` files of a DCP folder: where each chunk's bytes lie, and bytes-entry previews.

Files are mapped read-only, once each, while an index is built. Nothing is unpickled except
payload `data.pkl` records, by the restricted unpickler (no imports, no code).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from paramtui.core.errors import UnusableInput
from paramtui.core.formats.embedded_zip import read_embedded_zip, unpickle_embedded
from paramtui.core.formats.zipdir import ZipError
from paramtui.core.model import DataLocation, MetaEntry
from paramtui.core.pickle_tree import describe
from paramtui.core.unpickle import TensorRef

PREVIEW_LIMIT = 1 << 20  # bytes entries larger than this are not read for a preview
_ZIP_MAGIC = b"PK\x03\x04"
_NEITHER = "their payloads are neither torch.save archives nor safetensors"


@dataclass(frozen=True, slots=True)
class StorageInfo:
    """torch's _StorageInfo: a payload at (offset, length) of `relative_path`."""

    relative_path: str
    offset: int
    length: int
    transforms: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Mapped:
    location: DataLocation
    stride: tuple[int, ...]
    storage_offset: int
    storage_id: str


class _CannotMap(Exception):
    pass


class ChunkFiles:
    def __init__(self, folder: str) -> None:
        self.folder = os.path.normpath(folder)
        self._maps: dict[str, tuple[str, mmap.mmap | bytes]] = {}
        self._reasons: dict[str, int] = {}
        self._st_headers: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}

    def __enter__(self) -> ChunkFiles:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for _, buf in self._maps.values():
            if isinstance(buf, mmap.mmap):
                buf.close()
        self._maps.clear()

    @property
    def notes(self) -> list[str]:
        return [
            f"{count} tensor(s) cannot be read in place: {reason}"
            for reason, count in self._reasons.items()
        ]

    def map_chunk(
        self, fqn: str, dtype: str, shape: tuple[int, ...], where: StorageInfo | None
    ) -> Mapped | None:
        """Where one chunk's bytes lie, or None (the reason is kept for `notes`)."""
        try:
            if where is None:
                raise _CannotMap("the metadata names no storage for them")
            if where.offset < 0 or where.length < 0:
                raise _CannotMap("the metadata gives them negative byte ranges")
            if where.transforms:
                raise _CannotMap(f"their payloads are transformed ({', '.join(where.transforms)})")
            path, buf = self._buffer(where.relative_path)
            if buf[where.offset : where.offset + 4] == _ZIP_MAGIC:
                return _from_zip(path, buf, where, fqn, dtype, shape)
            return self._from_safetensors(path, buf, where, fqn, dtype, shape)
        except _CannotMap as exc:
            self._reasons[str(exc)] = self._reasons.get(str(exc), 0) + 1
            return None

    def describe_bytes(self, fqn: str, where: StorageInfo | None) -> MetaEntry:
        if where is None:
            return MetaEntry(fqn, "DCP bytes", "(the metadata names no storage for it)")
        if where.length > PREVIEW_LIMIT or where.transforms or min(where.offset, where.length) < 0:
            return MetaEntry(fqn, "DCP bytes", f"{where.length:,} bytes (not read)")
        _, buf = self._buffer(where.relative_path)
        if buf[where.offset : where.offset + 4] != _ZIP_MAGIC:
            return MetaEntry(fqn, "bytes", f"{where.length:,} raw bytes")
        try:
            result = unpickle_embedded(buf, read_embedded_zip(buf, where.offset, where.length))
        except Exception as exc:  # noqa: BLE001 - any failure only loses a preview
            return MetaEntry(fqn, "DCP bytes", f"(unreadable: {type(exc).__name__})")
        return describe(fqn, result.obj)

    def _buffer(self, relative: str) -> tuple[str, mmap.mmap | bytes]:
        found = self._maps.get(relative)
        if found is not None:
            return found
        path = os.path.normpath(os.path.join(self.folder, relative))
        if not path.startswith(self.folder + os.sep):
            raise UnusableInput(
                f"{self.folder}/.metadata names the file '{relative}', which is outside the "
                "checkpoint folder. The metadata is damaged or not genuine."
            )
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                buf: mmap.mmap | bytes = (
                    mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
                )
        except OSError as exc:
            raise UnusableInput(
                f"{path} cannot be read ({exc.strerror}); the DCP checkpoint {self.folder} is "
                "incomplete. Copy the whole folder, every .distcp file with its .metadata."
            ) from None
        self._maps[relative] = (path, buf)
        return path, buf

    def _from_safetensors(
        self,
        path: str,
        buf: mmap.mmap | bytes,
        where: StorageInfo,
        fqn: str,
        dtype: str,
        shape: tuple[int, ...],
    ) -> Mapped:
        """SerializationFormat.SAFETENSORS: the chunks lie in a safetensors blob at `offset`."""
        data_start, header = self._st_header(path, buf, where.offset)
        entry = header.get(fqn)
        if not isinstance(entry, dict) or tuple(entry.get("shape", ())) != shape:
            raise _CannotMap(_NEITHER)
        begin, end = (int(v) for v in entry["data_offsets"])
        location = DataLocation(path, data_start + begin, end - begin)
        return Mapped(location, contiguous(shape), 0, f"{where.relative_path}:{fqn}")

    def _st_header(
        self, path: str, buf: mmap.mmap | bytes, offset: int
    ) -> tuple[int, dict[str, Any]]:
        key = (path, offset)
        if key not in self._st_headers:
            try:
                (size,) = struct.unpack_from("<Q", buf, offset)
                header = json.loads(bytes(buf[offset + 8 : offset + 8 + size]))
            except (struct.error, ValueError) as exc:
                raise _CannotMap(_NEITHER) from exc
            self._st_headers[key] = (offset + 8 + size, header if isinstance(header, dict) else {})
        return self._st_headers[key]


def _from_zip(
    path: str,
    buf: mmap.mmap | bytes,
    where: StorageInfo,
    fqn: str,
    dtype: str,
    shape: tuple[int, ...],
) -> Mapped:
    try:
        archive = read_embedded_zip(buf, where.offset, where.length)
        ref = unpickle_embedded(buf, archive).obj
    except (ZipError, UnusableInput, ValueError, EOFError, TypeError) as exc:
        raise _CannotMap(f"a chunk payload is damaged ({exc})") from exc
    if not isinstance(ref, TensorRef) or ref.storage is None:
        raise _CannotMap("a chunk payload holds no plain tensor")
    if ref.shape != shape or ref.dtype != dtype:
        raise _CannotMap("a chunk payload disagrees with the metadata's shape or dtype")
    record = archive.record(f"data/{ref.storage.key}")
    if record is None:
        raise _CannotMap("a chunk payload lacks its storage record")
    location = DataLocation(path, record[0], min(ref.storage.nbytes, record[1]))
    storage_id = f"{where.relative_path}:{where.offset}"
    return Mapped(location, ref.stride, ref.storage_offset, storage_id)


def contiguous(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major strides of `shape`."""
    out, step = [], 1
    for size in reversed(shape):
        out.append(step)
        step *= size
    return tuple(reversed(out))
