"""A streaming zip writer for PyTorch checkpoints: stored records, data aligned to 64 bytes.

torch's reader maps storages straight from the file (mmap=True), so, like torch's own writer,
every record's data starts at a multiple of 64, padded with an "FB" extra field. Sizes are known
before a record is written; its CRC is computed while streaming and patched into the local
header afterwards (the output is a regular file, so we can seek). zip64 is used where needed.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from paramtui.core.formats.zipdir import ZipRecord

ALIGNMENT = 64
_U32_MAX = 0xFFFFFFFF
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01: fixed, so outputs are reproducible
_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64 = struct.Struct("<4sLQL")


@dataclass
class _Entry:
    name: bytes
    offset: int
    size: int
    crc: int = 0


class ZipWriter:
    def __init__(self, f: BinaryIO, *, force_zip64: bool = False) -> None:
        self.f = f
        self.entries: list[_Entry] = []
        self.force_zip64 = force_zip64  # tests use it to exercise the >4 GiB layout on small files

    def write(
        self, name: str, chunks: Iterable[bytes | memoryview], size: int, crc: int | None = None
    ) -> int:
        """Write one stored record of exactly `size` bytes from `chunks`; returns its CRC-32.

        A known `crc` (a record copied byte for byte) skips computing it; the caller then
        verifies the copy by comparing bytes."""
        entry = self._begin(name, size)
        computed, written = 0, 0
        for chunk in chunks:
            if crc is None:
                computed = zlib.crc32(chunk, computed)
            written += len(chunk)
            self.f.write(chunk)
        if written != size:
            raise ValueError(f"record {name}: expected {size} bytes, got {written}")
        return self._finish(entry, computed if crc is None else crc)

    def copy_from(self, name: str, src: BinaryIO, offset: int, size: int, crc: int) -> int:
        """A record copied from `src` inside the kernel (copy_file_range), like `cp` does."""
        entry = self._begin(name, size)
        self.f.flush()
        pos, done = self.f.tell(), 0
        try:
            while done < size:
                n = os.copy_file_range(
                    src.fileno(), self.f.fileno(), size - done, offset + done, pos + done
                )
                if n == 0:
                    raise EOFError(f"the source ended {size - done} bytes early")
                done += n
        except OSError:  # file systems or kernels without it: copy through user space
            self.f.seek(pos + done)
            for chunk in copy_chunks(src, offset + done, size - done):
                self.f.write(chunk)
        self.f.seek(pos + size)
        return self._finish(entry, crc)

    def _begin(self, name: str, size: int) -> _Entry:
        entry = _Entry(name.encode("utf-8"), self.f.tell(), size)
        zip64 = size >= _U32_MAX or self.force_zip64
        extra = struct.pack("<2H2Q", 1, 16, size, size) if zip64 else b""
        data_start = entry.offset + _LOCAL.size + len(entry.name) + len(extra) + 4
        pad = -data_start % ALIGNMENT
        extra += b"FB" + struct.pack("<H", pad) + b"Z" * pad
        shown = _U32_MAX if zip64 else size
        version = 45 if zip64 else 20
        self.f.write(
            _LOCAL.pack(
                b"PK\x03\x04",
                version,
                0,
                0,
                0,
                _DOS_DATE,
                0,
                shown,
                shown,
                len(entry.name),
                len(extra),
            )
        )
        self.f.write(entry.name + extra)
        return entry

    def _finish(self, entry: _Entry, crc: int) -> int:
        entry.crc = crc
        end = self.f.tell()
        self.f.seek(entry.offset + 14)
        self.f.write(struct.pack("<L", crc))
        self.f.seek(end)
        self.entries.append(entry)
        return crc

    @classmethod
    def append_to(cls, f: BinaryIO, records: list[ZipRecord], directory_offset: int) -> ZipWriter:
        """A writer that adds records to the complete zip `f` (its central directory is
        rewritten by close())."""
        writer = cls(f)
        writer.entries = [
            _Entry(r.name.encode("utf-8"), r.header_offset, r.size, r.crc32) for r in records
        ]
        f.seek(directory_offset)
        f.truncate()
        return writer

    def write_bytes(self, name: str, data: bytes) -> int:
        return self.write(name, [data], len(data))

    def close(self) -> None:
        """Write the central directory (zip64 where sizes, offsets or counts need it)."""
        start = self.f.tell()
        for e in self.entries:
            big = e.size >= _U32_MAX or e.offset >= _U32_MAX or self.force_zip64
            extra = struct.pack("<2H3Q", 1, 24, e.size, e.size, e.offset) if big else b""
            size = _U32_MAX if big else e.size
            self.f.write(
                _CENTRAL.pack(
                    b"PK\x01\x02",
                    45 if big else 20,
                    45 if big else 20,
                    0,
                    0,
                    0,
                    _DOS_DATE,
                    e.crc,
                    size,
                    size,
                    len(e.name),
                    len(extra),
                    0,
                    0,
                    0,
                    0,
                    _U32_MAX if big else e.offset,
                )
            )
            self.f.write(e.name + extra)
        end = self.f.tell()
        count, dir_size = len(self.entries), end - start
        if count >= 0xFFFF or start >= _U32_MAX or dir_size >= _U32_MAX or self.force_zip64:
            self.f.write(
                _EOCD64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, dir_size, start)
            )
            self.f.write(_LOCATOR64.pack(b"PK\x06\x07", 0, end, 1))
            self.f.write(_EOCD.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, _U32_MAX, _U32_MAX, 0))
        else:
            self.f.write(_EOCD.pack(b"PK\x05\x06", 0, 0, count, count, dir_size, start, 0))


def copy_chunks(f: BinaryIO, offset: int, size: int, block: int = 8 << 20) -> Iterable[bytes]:
    """Bytes [offset, offset+size) of an open file, `block` bytes at a time (bounded memory)."""
    f.seek(offset)
    left = size
    while left > 0:
        chunk = f.read(min(block, left))
        if not chunk:
            raise EOFError(f"the source ended {left} bytes early")
        left -= len(chunk)
        yield chunk
