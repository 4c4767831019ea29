"""A torch.save zip stored inside a byte range of a bigger file (DCP chunk payloads).

torch.distributed.checkpoint writes each tensor chunk as a complete torch.save archive at some
(offset, length) of a `.distcp` file; the archive's own offsets count from its first byte. We read
its central directory from the end of the range and return where each stored record's bytes lie
in the outer file, so tensors map straight from it without copying the payload.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass

from paramtui.core.formats.zipdir import (
    _CENTRAL,
    _EOCD,
    _U32_MAX,
    _ZIP64_EOCD,
    _ZIP64_LOCATOR,
    ZipError,
    _zip64_sizes,
)
from paramtui.core.unpickle import UnpickleResult, restricted_loads

Buffer = mmap.mmap | bytes


@dataclass(frozen=True, slots=True)
class EmbeddedZip:
    """Stored records of one embedded archive: name -> (absolute data offset, size)."""

    records: dict[str, tuple[int, int]]
    prefix: str  # the archive's inner folder, with its slash ("archive/")

    def record(self, name: str) -> tuple[int, int] | None:
        return self.records.get(self.prefix + name)


def read_embedded_zip(buf: Buffer, base: int, length: int) -> EmbeddedZip:
    """The stored records of the zip at buf[base:base+length]; ZipError when it is not one."""
    end = base + length
    if end > len(buf) or buf[base : base + 4] != b"PK\x03\x04":
        raise ZipError("the range does not hold a zip archive")
    count, dir_offset = _find_directory(buf, base, end)
    records = _walk(buf, base, end, count, base + dir_offset)
    pkl = sorted((n for n in records if n.endswith("data.pkl") and n.count("/") == 1), key=len)
    if not pkl:
        raise ZipError("the archive has no data.pkl record")
    return EmbeddedZip(records, pkl[0][: -len("data.pkl")])


def unpickle_embedded(buf: Buffer, archive: EmbeddedZip) -> UnpickleResult:
    """The archive's data.pkl, read by the restricted (code-free) unpickler."""
    found = archive.record("data.pkl")
    assert found is not None  # read_embedded_zip checked it
    offset, size = found
    return restricted_loads(bytes(buf[offset : offset + size]))


def _find_directory(buf: Buffer, base: int, end: int) -> tuple[int, int]:
    start = buf.rfind(b"PK\x05\x06", max(base, end - 65557), end)
    if start < 0 or start + _EOCD.size > end:
        raise ZipError("no end-of-central-directory record")
    _, _, _, _, count, _, dir_offset, _ = _EOCD.unpack_from(buf, start)
    if count == 0xFFFF or dir_offset == _U32_MAX:
        loc = start - _ZIP64_LOCATOR.size
        if loc < base:
            raise ZipError("bad zip64 locator")
        sig, _, eocd64, _ = _ZIP64_LOCATOR.unpack_from(buf, loc)
        if sig != b"PK\x06\x07" or base + eocd64 + _ZIP64_EOCD.size > end:
            raise ZipError("bad zip64 locator")
        fields = _ZIP64_EOCD.unpack_from(buf, base + eocd64)
        if fields[0] != b"PK\x06\x06":
            raise ZipError("bad zip64 end-of-central-directory record")
        count, dir_offset = fields[7], fields[9]
    return int(count), int(dir_offset)


def _walk(buf: Buffer, base: int, end: int, count: int, pos: int) -> dict[str, tuple[int, int]]:
    records: dict[str, tuple[int, int]] = {}
    for _ in range(count):
        if pos + _CENTRAL.size > end:
            raise ZipError("the central directory runs past the end of the archive")
        fields = _CENTRAL.unpack_from(buf, pos)
        if fields[0] != b"PK\x01\x02":
            raise ZipError("bad central directory entry")
        method, comp_size = fields[4], fields[8]
        name_len, extra_len, comment_len, header_offset = fields[10:13] + (fields[16],)
        name = bytes(buf[pos + 46 : pos + 46 + name_len]).decode("utf-8", "replace")
        if _U32_MAX in (comp_size, header_offset):
            extra = bytes(buf[pos + 46 + name_len : pos + 46 + name_len + extra_len])
            comp_size, header_offset = _zip64_sizes(extra, fields[9], comp_size, header_offset)
        pos += 46 + name_len + extra_len + comment_len
        data = _data_start(buf, base + header_offset, end)
        if method == 0 and data + comp_size <= end:
            records[name] = (data, int(comp_size))
    return records


def _data_start(buf: Buffer, header: int, end: int) -> int:
    if header + 30 > end or buf[header : header + 4] != b"PK\x03\x04":
        raise ZipError("bad local file header")
    name_len, extra_len = struct.unpack_from("<2H", buf, header + 26)
    return header + 30 + int(name_len) + int(extra_len)
