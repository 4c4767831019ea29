"""PyTorch zip checkpoints (torch.save since 1.6): `<stem>/data.pkl` + `<stem>/data/<key>`.

The zip's central directory gives each record's place; record bytes are stored uncompressed, so
every storage maps straight from the file. data.pkl is read with the restricted unpickler.
CRCs are not checked (torch can write files with crc32 disabled; Python's zipfile refuses those).
"""

from __future__ import annotations

import struct

from paramtui.core import intents
from paramtui.core.errors import UnusableInput
from paramtui.core.formats.pickled import index_from_pickle
from paramtui.core.formats.zipdir import ZipError, read_stored_records
from paramtui.core.model import CheckpointIndex, DataLocation


def open_zip_checkpoint(path: str) -> CheckpointIndex:
    """A torch.save zip, or a TorchScript archive (told apart once data.pkl is read)."""
    index = open_torch_zip(path)
    if index.format == "torchscript":
        from paramtui.core.formats.torchscript import refine_torchscript

        index = refine_torchscript(index)
    return index


def open_torch_zip(path: str) -> CheckpointIndex:
    records = _read_directory(path)
    pkl_name = _find_data_pkl(path, records)
    prefix = pkl_name[: -len("data.pkl")]
    with open(path, "rb") as f:
        offset, size = records[pkl_name]
        f.seek(offset)
        data = f.read(size)
        byteorder = _read_small(f, records, prefix + "byteorder")
    if byteorder not in (None, b"little"):
        raise UnusableInput(
            f"{path} was saved on a big-endian machine ({byteorder!r}); paramtui reads "
            "little-endian checkpoints only."
        )

    def locate(key: str, nbytes: int) -> DataLocation | None:
        record = records.get(f"{prefix}data/{key}")
        if record is None:
            return None
        return DataLocation(path, record[0], min(nbytes, record[1]))

    kind = "torchscript" if f"{prefix}constants.pkl" in records else "torch zip"
    index = index_from_pickle(path, kind, data, locate)
    record = records.get(prefix + intents.ZIP_RECORD)
    if record is not None and record[1] < 64 << 20:
        with open(path, "rb") as f:
            f.seek(record[0])
            intents.apply(index, intents.decode(f.read(record[1])))
    return index


def _read_directory(path: str) -> dict[str, tuple[int, int]]:
    """Record name -> (data offset, size) for stored (uncompressed) records."""
    try:
        return read_stored_records(path)
    except (ZipError, OSError, ValueError, struct.error) as exc:
        raise UnusableInput(
            f"{path} looks like a PyTorch zip checkpoint but its zip structure is damaged ({exc}). "
            "The file may be truncated or still being written; copy it again."
        ) from None


def _find_data_pkl(path: str, records: dict[str, tuple[int, int]]) -> str:
    candidates = sorted(
        (n for n in records if n.endswith("data.pkl") and n.count("/") == 1), key=len
    )
    if not candidates:
        raise UnusableInput(
            f"{path} is a zip file but not a PyTorch checkpoint: it has no data.pkl record."
        )
    return candidates[0]


def _read_small(f: object, records: dict[str, tuple[int, int]], name: str) -> bytes | None:
    record = records.get(name)
    if record is None or record[1] > 64:
        return None
    f.seek(record[0])  # type: ignore[attr-defined]
    return f.read(record[1]).strip()  # type: ignore[attr-defined,no-any-return]
