"""Save a torch zip checkpoint by rewriting it record by record.

data.pkl and every record that was not edited are copied byte for byte (so classes that cannot
be imported, recorded devices, ties, `_metadata` and optimizer state survive untouched, and no
pickle code ever runs); edited storages get their new bytes; the requires_grad intents go to an
extra record. Memory stays bounded: records are streamed in blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from paramtui.core import intents
from paramtui.core.errors import SaveRefused
from paramtui.core.formats.zipdir import ZipRecord, read_records
from paramtui.io.zipwrite import ZipWriter, copy_chunks

if TYPE_CHECKING:
    import torch

BLOCK = 8 << 20


def rewrite_zip(
    source: str,
    out: BinaryIO,
    edited: dict[str, torch.Tensor],
    grad_intents: dict[str, bool],
    progress: object = None,
) -> list[str]:
    """Copy `source` into `out`, replacing the storages in `edited` (storage key -> uint8
    tensor of the whole storage). Returns the names of the records that were rewritten."""
    records = read_records(source)
    prefix = _archive_prefix(source, records)
    rewritten = []
    intent_record = prefix + intents.ZIP_RECORD
    existing: dict[str, bool] = {}
    writer = ZipWriter(out)
    with open(source, "rb") as src:
        for record in records:
            if record.method != 0:
                raise SaveRefused(
                    f"{source} holds a compressed record ({record.name}); torch never writes "
                    "those, so the file was made by another tool. Save to .safetensors instead."
                )
            if record.name == intent_record:
                src.seek(record.data_offset)
                existing = intents.decode(src.read(record.size))
                continue
            key = _storage_key(record, prefix)
            if key is not None and key in edited:
                data = edited[key]
                writer.write(record.name, _tensor_chunks(data), data.numel())
                rewritten.append(record.name)
            else:
                _copy(writer, src, record)
        merged = {**existing, **grad_intents}
        if merged:
            writer.write_bytes(intent_record, intents.encode(merged).encode())
    writer.close()
    return rewritten


def _copy(writer: ZipWriter, src: BinaryIO, record: ZipRecord) -> None:
    if record.crc32:  # the copy is checked byte for byte afterwards, so its CRC stands
        writer.copy_from(record.name, src, record.data_offset, record.size, record.crc32)
    else:  # written with CRCs disabled: compute one while copying
        writer.write(record.name, copy_chunks(src, record.data_offset, record.size), record.size)


def _archive_prefix(source: str, records: list[ZipRecord]) -> str:
    for record in records:
        if record.name.endswith("/data.pkl") and record.name.count("/") == 1:
            return record.name[: -len("data.pkl")]
    raise SaveRefused(f"{source} has no data.pkl record; it is not a torch checkpoint.")


def _storage_key(record: ZipRecord, prefix: str) -> str | None:
    head = prefix + "data/"
    return record.name[len(head) :] if record.name.startswith(head) else None


def _tensor_chunks(data: torch.Tensor) -> Iterable[memoryview]:
    flat = data.reshape(-1)
    return _blocks(flat)


def _blocks(flat: torch.Tensor) -> Iterator[memoryview]:
    for start in range(0, flat.numel(), BLOCK):
        yield memoryview(flat[start : start + BLOCK].numpy())  # type: ignore[arg-type]
