"""Legacy (pre-1.6, non-zip) torch.save files.

Layout: pickles of the magic number, protocol version and sys_info; the main pickle (storages as
persistent ids); a pickle listing storage keys; then, per key, an int64 element count followed by
the raw bytes. We index by seeking, so the data is never read (offsets are not 64-aligned).
"""

from __future__ import annotations

import os
import pickle
import struct
from typing import BinaryIO

from paramtui.core.errors import UnusableInput
from paramtui.core.formats.pickled import index_from_pickle
from paramtui.core.model import CheckpointIndex, DataLocation
from paramtui.core.unpickle import RestrictedUnpickler, StorageRef

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


def open_torch_legacy(path: str) -> CheckpointIndex:
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        try:
            _check_preamble(path, f)
            start = f.tell()
            main = RestrictedUnpickler(f)
            main.load()
            data_pkl_end = f.tell()
            keys = RestrictedUnpickler(f).load()
            offsets = _storage_offsets(path, f, keys, main.storages, size)
            f.seek(start)
            data = f.read(data_pkl_end - start)
        except UnusableInput:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, struct.error) as exc:
            raise UnusableInput(
                f"{path} starts like a pickle but is not a readable PyTorch file "
                f"({type(exc).__name__}: {exc}). It may be damaged or truncated."
            ) from None

    def locate(key: str, nbytes: int) -> DataLocation | None:
        offset = offsets.get(key)
        return None if offset is None else DataLocation(path, offset, nbytes)

    return index_from_pickle(path, "torch legacy", data, locate)


def _check_preamble(path: str, f: BinaryIO) -> None:
    magic = RestrictedUnpickler(f).load()
    if magic != MAGIC_NUMBER:
        raise UnusableInput(
            f"{path} is a Python pickle, not a PyTorch checkpoint (no torch magic number). "
            "paramtui does not open arbitrary pickles."
        )
    version = RestrictedUnpickler(f).load()
    if version != PROTOCOL_VERSION:
        raise UnusableInput(f"{path} uses torch legacy protocol {version!r}, which is unsupported.")
    sys_info = RestrictedUnpickler(f).load()
    if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
        raise UnusableInput(f"{path} was saved on a big-endian machine; it is unsupported.")


def _storage_offsets(
    path: str, f: BinaryIO, keys: object, storages: dict[str, StorageRef], size: int
) -> dict[str, int]:
    if not isinstance(keys, list):
        raise UnusableInput(f"{path}: the storage key list is missing or damaged.")
    offsets: dict[str, int] = {}
    pos = f.tell()
    for key in keys:
        header = f.read(8)
        if len(header) < 8:
            raise _truncated(path, size)
        (count,) = struct.unpack("<q", header)
        storage = storages.get(str(key))
        itemsize = storage.nbytes // max(storage.numel, 1) if storage and storage.numel else 1
        offsets[str(key)] = pos + 8
        pos += 8 + count * itemsize
        if pos > size:
            raise _truncated(path, size)
        f.seek(pos)
    return offsets


def _truncated(path: str, size: int) -> UnusableInput:
    return UnusableInput(
        f"{path} is truncated: its storages run past the end of the file ({size} bytes). "
        "Copy the file again."
    )
