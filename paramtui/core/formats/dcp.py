"""torch.distributed.checkpoint (DCP) folders: `.metadata` + `*.distcp` files.

The metadata lists every flattened name (FQN): tensors with their global shape, dtype and chunks,
and non-tensor values ("bytes" entries). `storage_data` says where each chunk's payload lies:
(relative file, offset, length). With the default FileSystemWriter a payload is a complete
torch.save archive, whose storage record we map in place; with its safetensors serialization the
chunks lie in a safetensors blob. Tensors saved as one chunk get a DataLocation like any other
format. Tensors saved in several chunks (sharded training) get location None, layout
"dcp-sharded" and a storage id that names their folder and FQN: `saved_chunks` maps each chunk on
its own (the parsed metadata is kept for the next tensor), and `dcp_load.load_tensors` reads the
whole tensor with torch's own reader.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any

from paramtui.core import intents
from paramtui.core.errors import UnusableInput
from paramtui.core.formats.dcp_files import ChunkFiles, StorageInfo, contiguous
from paramtui.core.formats.dcp_metadata import Record, is_record, load_records
from paramtui.core.model import CheckpointIndex, MetaEntry, TensorInfo
from paramtui.core.roles import infer_role
from paramtui.core.unpickle import DtypeRef

METADATA_FILE = ".metadata"
SHARDED = "dcp-sharded"
SHARDED_ID = "dcp-sharded:"  # + JSON [folder, fqn]
PARSED_KEPT = 4  # folders whose parsed metadata is kept

StorageMap = dict[tuple[str, tuple[int, ...] | None], StorageInfo]


@dataclass(frozen=True, slots=True)
class Chunk:
    offsets: tuple[int, ...]
    sizes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DcpTensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    chunks: list[Chunk]


@dataclass(frozen=True, slots=True)
class SavedChunks:
    """A sharded tensor's chunks as (offsets in the whole tensor, TensorInfo mapped in place);
    `problems` says why a chunk has no location (then its bytes cannot be read in place)."""

    parts: list[tuple[tuple[int, ...], TensorInfo]]
    problems: list[str]


_parsed_lock = threading.Lock()
_parsed: dict[str, tuple[tuple[int, int, int], dict[str, Any], StorageMap]] = {}


def is_dcp_dir(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, METADATA_FILE))


def read_metadata(folder: str) -> Record:
    """The folder's Metadata as inert records (allow-listed unpickling, nothing run)."""
    meta_path = os.path.join(folder, METADATA_FILE)
    try:
        with open(meta_path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UnusableInput(f"{meta_path} cannot be read: {exc.strerror}.") from None
    return load_records(meta_path, data)


def open_dcp(folder: str) -> CheckpointIndex:
    meta = read_metadata(folder)
    entries = _state_dict_metadata(folder, meta)
    storage = _storage_map(meta.get("storage_data"))
    tensors: dict[str, TensorInfo] = {}
    values: dict[str, MetaEntry] = {}
    sharded = 0
    with ChunkFiles(folder) as files:
        for name, entry in entries.items():
            if is_record(entry, "BytesStorageMetadata"):
                values[name] = files.describe_bytes(name, storage.get((name, None)))
                continue
            tensor = _tensor(name, entry)
            if tensor is None:
                values[name] = MetaEntry(name, "unknown DCP entry", repr(entry)[:120])
            elif len(tensor.chunks) == 1 and _whole(tensor):
                where = storage.get((name, tensor.chunks[0].offsets))
                tensors[name] = _single(files, tensor, where, name)
            else:
                tensors[name] = _sharded_info(tensor, folder)
                sharded += 1
        notes = files.notes + _sharded_note(sharded)
    used = sorted(
        {os.path.normpath(os.path.join(folder, s.relative_path)) for s in storage.values()}
    )
    index = CheckpointIndex(
        path=folder,
        format="torch distributed checkpoint",
        tensors=tensors,
        metadata=values,
        file_metadata=_file_metadata(meta, storage),
        files=used,
        notes=notes,
    )
    intents.apply(index, intents.read_dcp(folder))
    return index


def chunk_infos(folder: str, name: str) -> list[tuple[tuple[int, ...], TensorInfo]]:
    """Each saved chunk of tensor `name` as (offsets in the whole tensor, mapped TensorInfo)."""
    return _saved_chunks(folder, name).parts


def saved_chunks(info: TensorInfo) -> SavedChunks:
    """The saved chunks of a sharded tensor of an index that `open_dcp` made."""
    origin = sharded_origin(info)
    if origin is None:
        raise UnusableInput(
            f"tensor '{info.name}' does not name the DCP folder it was saved in, so its chunks "
            "cannot be found. Open the checkpoint folder with paramtui.open_checkpoint."
        )
    return _saved_chunks(*origin)


def sharded_origin(info: TensorInfo) -> tuple[str, str] | None:
    """(folder, FQN) of a sharded DCP tensor, read back from its storage id; else None."""
    if info.layout != SHARDED or not info.storage_id.startswith(SHARDED_ID):
        return None
    try:
        folder, fqn = json.loads(info.storage_id.removeprefix(SHARDED_ID))
    except ValueError:
        return None
    return (folder, fqn) if isinstance(folder, str) and isinstance(fqn, str) else None


def _saved_chunks(folder: str, name: str) -> SavedChunks:
    entries, storage = _parsed_metadata(folder)
    entry = entries.get(name)
    tensor = _tensor(name, entry) if entry is not None else None
    if tensor is None:
        raise UnusableInput(f"'{name}' is not a tensor of the DCP checkpoint {folder}.")
    out = []
    with ChunkFiles(folder) as files:
        for i, chunk in enumerate(tensor.chunks):
            part = DcpTensor(f"{name}[chunk {i}]", chunk.sizes, tensor.dtype, [chunk])
            where = storage.get((name, chunk.offsets))
            out.append((chunk.offsets, _single(files, part, where, name)))
        return SavedChunks(out, files.notes)


def _parsed_metadata(folder: str) -> tuple[dict[str, Any], StorageMap]:
    """The folder's entries and storage map, parsed once while `.metadata` stays the same."""
    folder = os.path.abspath(folder)
    try:
        st = os.stat(os.path.join(folder, METADATA_FILE))
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        key = (-1, -1, -1)  # read_metadata below says what is wrong
    with _parsed_lock:
        found = _parsed.get(folder)
    if found is not None and found[0] == key:
        return found[1], found[2]
    meta = read_metadata(folder)
    entries = _state_dict_metadata(folder, meta)
    storage = _storage_map(meta.get("storage_data"))
    with _parsed_lock:
        while len(_parsed) >= PARSED_KEPT:
            _parsed.pop(next(iter(_parsed)))
        _parsed[folder] = (key, entries, storage)
    return entries, storage


def tensor_specs(folder: str) -> dict[str, DcpTensor]:
    """Every tensor entry of the folder's metadata: global shape, dtype and chunks."""
    entries = _state_dict_metadata(folder, read_metadata(folder))
    found = {name: _tensor(name, entry) for name, entry in entries.items()}
    return {name: spec for name, spec in found.items() if spec is not None}


def _state_dict_metadata(folder: str, meta: Record) -> dict[str, Any]:
    entries = meta.get("state_dict_metadata")
    if not isinstance(entries, dict):
        raise UnusableInput(
            f"{folder}/{METADATA_FILE} has no state_dict_metadata; it is not a DCP checkpoint."
        )
    return {str(k): v for k, v in entries.items()}


def _storage_map(data: Any) -> StorageMap:
    """(fqn, chunk offsets or None) -> where the chunk's payload lies."""
    found: StorageMap = {}
    if not isinstance(data, dict):
        return found
    for key, value in data.items():
        if not (is_record(key, "MetadataIndex") and is_record(value, "_StorageInfo")):
            continue
        offset = key.get("offset")
        where = (str(key.get("fqn")), tuple(int(v) for v in offset) if offset is not None else None)
        found[where] = StorageInfo(
            str(value.get("relative_path")),
            int(value.get("offset", 0)),
            int(value.get("length", 0)),
            tuple(value.get("transform_descriptors") or ()),
        )
    return found


def _tensor(name: str, entry: Any) -> DcpTensor | None:
    if not is_record(entry, "TensorStorageMetadata"):
        return None
    chunks = [
        Chunk(_ints(c.get("offsets")), _ints(c.get("sizes")))
        for c in entry.get("chunks") or []
        if isinstance(c, Record)
    ]
    return DcpTensor(name, _ints(entry.get("size")), _dtype(entry.get("properties")), chunks)


def _dtype(properties: Any) -> str:
    if not isinstance(properties, Record):
        return "unknown"
    state = properties.state
    value = state[0] if isinstance(state, tuple) and state else properties.get("dtype")
    return value.name if isinstance(value, DtypeRef) else "unknown"


def _ints(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else ()


def _whole(tensor: DcpTensor) -> bool:
    chunk = tensor.chunks[0]
    return chunk.sizes == tensor.shape and not any(chunk.offsets)


def _single(
    files: ChunkFiles, tensor: DcpTensor, where: StorageInfo | None, fqn: str
) -> TensorInfo:
    mapped = files.map_chunk(fqn, tensor.dtype, tensor.shape, where)
    return TensorInfo(
        name=tensor.name,
        shape=tensor.shape,
        dtype=tensor.dtype,
        device=None,  # DCP does not record where a tensor lived
        stride=mapped.stride if mapped else contiguous(tensor.shape),
        storage_offset=mapped.storage_offset if mapped else 0,
        storage_id=mapped.storage_id if mapped else f"dcp:{tensor.name}",
        location=mapped.location if mapped else None,
        role=infer_role(tensor.name, tensor.dtype),
    )


def _sharded_info(tensor: DcpTensor, folder: str) -> TensorInfo:
    return TensorInfo(
        name=tensor.name,
        shape=tensor.shape,
        dtype=tensor.dtype,
        device=None,
        stride=contiguous(tensor.shape),
        storage_offset=0,
        storage_id=SHARDED_ID + json.dumps([os.path.abspath(folder), tensor.name]),
        location=None,
        role=infer_role(tensor.name, tensor.dtype),
        layout=SHARDED,
    )


def _sharded_note(count: int) -> list[str]:
    if not count:
        return []
    return [
        f"{count} tensor(s) are saved in several chunks (sharded); their statistics and values "
        "are read chunk by chunk, each chunk in place from its .distcp file"
    ]


def _file_metadata(meta: Record, storage: dict[Any, StorageInfo]) -> dict[str, str]:
    out = {"dcp.version": str(meta.get("version") or "unknown")}
    out["dcp.files"] = str(len({s.relative_path for s in storage.values()}))
    storage_meta = meta.get("storage_meta")
    if isinstance(storage_meta, Record) and storage_meta.get("save_id"):
        out["dcp.save_id"] = str(storage_meta.get("save_id"))
    return out
