"""A DCP folder as a source to save from: every tensor's value, the nesting, the non-tensor data.

The edit session answers for tensors saved in one chunk (mapped in place) and for edited ones.
Tensors saved in several chunks (sharded training) have no location: torch's own DCP reader
assembles them (core.formats.dcp_load), one tensor at a time, into a scratch file beside the
destination, which is then mapped like any checkpoint file. So memory holds at most one
assembled tensor (plus the chunk torch is reading), even for writers that keep every tensor
alive until they finish (torch.save, DCP's own FileSystemWriter); the scratch files take as much
disk as the sharded tensors, until the save ends.

DCP flattens nested state dicts to dotted names and records each name's path of keys in the
metadata's `planner_data`; `nest` rebuilds the nesting as torch's own unflattening does (string
keys are dict keys, integers list positions). Non-tensor ("bytes") entries are torch.save
payloads: copied byte for byte into a new DCP folder, or loaded with torch's weights-only rules
for a .pth, never by running code. paramtui's requires_grad intents travel in a small JSON file
beside `.metadata` (DCP's own reader ignores files it was not asked for).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from paramtui.core import access, intents
from paramtui.core.errors import SaveRefused
from paramtui.core.formats.dcp import SHARDED, read_metadata
from paramtui.core.formats.dcp_files import StorageInfo, contiguous
from paramtui.core.formats.dcp_load import load_tensor
from paramtui.core.formats.dcp_metadata import is_record
from paramtui.core.model import CheckpointIndex, DataLocation, TensorInfo

if TYPE_CHECKING:
    import torch

    from paramtui.core.state import CheckpointState

FORMAT = "torch distributed checkpoint"  # CheckpointIndex.format of a DCP folder
INTENTS_FILE = intents.DCP_FILE
KeyPath = tuple[str | int, ...]


def is_dcp_source(index: Any) -> bool:
    return getattr(index, "format", None) == FORMAT


@dataclass(frozen=True)
class Payload:
    """A non-tensor entry's torch.save bytes in a .distcp file (never unpickled by paramtui)."""

    fqn: str
    path: str
    offset: int
    length: int
    transforms: tuple[Any, ...] = ()

    def read(self) -> bytes:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(self.length)
        if len(data) != self.length:
            raise SaveRefused(
                f"{self.path} ends before the non-tensor entry '{self.fqn}' does; the DCP "
                "checkpoint is truncated. Nothing was written."
            )
        return data


class DcpView:
    """A state of a DCP folder whose `tensor(name)` also answers for sharded tensors.

    A sharded tensor is assembled once, written to a scratch file beside `scratch_beside` and
    mapped like any tensor of a file (its `info` then points there, so writers and the verifier
    release its pages as they do for the source's). Everything else is the state's. Use as a
    context manager: the scratch files go on exit."""

    def __init__(self, session: CheckpointState, scratch_beside: str) -> None:
        self._session = session
        self._folder = session.index.path
        self._beside = scratch_beside
        self._scratch: str | None = None
        self._located: dict[str, DataLocation] = {}

    def tensor(self, name: str) -> torch.Tensor:
        if not self.is_assembled(name):
            return self._session.tensor(name)
        if name not in self._located:
            self._located[name] = self._to_scratch(name)
        return access.open_tensor(self.info(name))

    def info(self, name: str) -> TensorInfo:
        info = self._session.info(name)
        where = self._located.get(name)
        if where is None or self._session.is_edited(name):
            return info
        return replace(
            info,
            stride=contiguous(info.shape),
            storage_offset=0,
            storage_id=f"scratch:{name}",
            location=where,
            layout="strided",
        )

    def is_assembled(self, name: str) -> bool:
        """True for a sharded tensor this session has not edited (torch's reader builds it)."""
        return not self._session.is_edited(name) and self._session.info(name).layout == SHARDED

    @property
    def index(self) -> CheckpointIndex:
        return self._session.index

    @property
    def structure_changed(self) -> bool:
        return self._session.structure_changed

    def names(self) -> list[str]:
        return self._session.names()

    def is_edited(self, name: str) -> bool:
        return self._session.is_edited(name)

    def edited_names(self) -> list[str]:
        return self._session.edited_names()

    def requires_grad(self, name: str) -> bool | None:
        return self._session.requires_grad(name)

    def grad_intents(self) -> dict[str, bool]:
        return self._session.grad_intents()

    def edited_storages(self) -> dict[str, torch.Tensor]:
        return self._session.edited_storages()

    def sharing(self, storage_id: str) -> list[str]:
        return self._session.sharing(storage_id)

    def mark_saved(self) -> None:
        self._session.mark_saved()

    def __enter__(self) -> DcpView:
        return self

    def __exit__(self, *exc: object) -> None:
        for where in self._located.values():
            access.forget(where.path)
        self._located.clear()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _to_scratch(self, name: str) -> DataLocation:
        import torch

        value = load_tensor(self._folder, name).reshape(-1)
        if self._scratch is None:
            parent = os.path.dirname(os.path.abspath(self._beside))
            self._scratch = tempfile.mkdtemp(prefix=".paramtui-", suffix=".scratch", dir=parent)
        path = os.path.join(self._scratch, f"{len(self._located)}.bin")
        with open(path, "wb") as f:
            f.write(value.view(torch.uint8).numpy().data)
        return DataLocation(path, 0, value.numel() * value.element_size())


def payloads(folder: str) -> dict[str, Payload]:
    """The non-tensor entries of DCP folder `folder`, by name, in metadata order."""
    meta = read_metadata(folder)
    entries = meta.get("state_dict_metadata") or {}
    where: dict[str, StorageInfo] = {}
    for key, value in (meta.get("storage_data") or {}).items():
        if is_record(key, "MetadataIndex") and key.get("offset") is None:
            where[str(key.get("fqn"))] = StorageInfo(
                str(value.get("relative_path")),
                int(value.get("offset", 0)),
                int(value.get("length", 0)),
                tuple(value.get("transform_descriptors") or ()),
            )
    out = {}
    for fqn, entry in entries.items():
        info = where.get(str(fqn))
        if is_record(entry, "BytesStorageMetadata") and info is not None:
            path = os.path.join(folder, info.relative_path)
            out[str(fqn)] = Payload(str(fqn), path, info.offset, info.length, info.transforms)
    return out


def load_payload(payload: Payload) -> Any:
    """A non-tensor entry as a Python value, under torch's weights-only rules."""
    import torch

    try:
        return torch.load(io.BytesIO(payload.read()), weights_only=True)
    except SaveRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds; all mean the same here
        raise SaveRefused(
            f"the non-tensor entry '{payload.fqn}' of {os.path.dirname(payload.path)} can only be "
            f"rebuilt by running code from it ({_first_line(exc)}), which paramtui never does, "
            "so it cannot go into a .pth. Nothing was written. Save to a new DCP folder "
            "(--format dcp), which copies it byte for byte, or to .safetensors with "
            "--tensors-only, which leaves the non-tensor entries out."
        ) from None


def nesting(folder: str) -> dict[str, KeyPath]:
    """Each flattened name's path of keys (`planner_data`); {} when the folder records none."""
    data = read_metadata(folder).get("planner_data")
    if not isinstance(data, dict):
        return {}
    return {
        str(k): tuple(v)
        for k, v in data.items()
        if isinstance(v, (tuple, list)) and v and all(isinstance(p, (str, int)) for p in v)
    }


def metadata_order(folder: str) -> dict[str, int]:
    """Each name's position in the folder's metadata (the order `dcp.save` was given)."""
    entries = read_metadata(folder).get("state_dict_metadata") or {}
    return {str(name): i for i, name in enumerate(entries)}


def path_of(name: str, paths: dict[str, KeyPath]) -> KeyPath:
    """Where `name` goes in the nested state dict: its recorded path; for a name an edit
    created, its sibling's path with the last key swapped; else a top-level key."""
    path = paths.get(name)
    if path is None:
        parent, _, leaf = name.rpartition(".")
        for other, other_path in paths.items():
            other_parent, _, other_leaf = other.rpartition(".")
            last = other_path[-1]
            if other_parent == parent and isinstance(last, str) and last.endswith(other_leaf):
                path = (*other_path[:-1], last[: len(last) - len(other_leaf)] + leaf)
                break
    if path is None or ".".join(str(p) for p in path) != name:
        return (name,)
    return path


def nest(entries: Iterable[tuple[KeyPath, Any]]) -> dict[str, Any]:
    """A nested state dict from (path, value) pairs, as torch's DCP unflattening builds it."""
    root: dict[Any, Any] = {}
    for path, value in entries:
        node: Any = root
        for key, after in zip(path, path[1:], strict=False):
            node = _child(node, key, [] if isinstance(after, int) else {})
        _put(node, path[-1], value)
    return root


def _child(node: Any, key: str | int, empty: Any) -> Any:
    if isinstance(node, list):
        if not _holds(node, key):
            _put(node, key, None)  # pads the list up to `key`
        if node[key] is None:  # type: ignore[index]
            node[key] = empty  # type: ignore[index]
        found = node[key]  # type: ignore[index]
    else:
        found = node.setdefault(key, empty)
    if not isinstance(found, (dict, list)):
        raise SaveRefused(_clash(key))
    return found


def _holds(node: list[Any], key: str | int) -> bool:
    return isinstance(key, int) and key < len(node)


def _put(node: Any, key: str | int, value: Any) -> None:
    if isinstance(node, list):
        if not isinstance(key, int):
            raise SaveRefused(_clash(key))
        node.extend([None] * (key + 1 - len(node)))
    node[key] = value


def _clash(key: object) -> str:
    return (
        f"the DCP metadata nests two entries under '{key}' in ways that contradict each other, "
        "so its nested state dict cannot be rebuilt. Nothing was written. Save to a new DCP "
        "folder (--format dcp), which keeps the flat names as they are."
    )


def write_intents(folder: str, wanted: dict[str, bool]) -> None:
    """Record requires_grad intents beside `.metadata` (nothing when there are none)."""
    if not wanted:
        return
    path = os.path.join(folder, INTENTS_FILE)
    with open(path, "w", encoding="utf-8") as f:
        f.write(intents.encode(wanted))
        f.flush()
        os.fsync(f.fileno())


def read_intents(folder: str) -> dict[str, bool]:
    """The intents recorded in a DCP folder by `write_intents` ({} when none)."""
    return intents.read_dcp(folder)


def recorded_intents(session: Any) -> dict[str, bool]:
    """The requires_grad flags to write: what the source records, then this session's."""
    return {**intents.recorded(session), **session.grad_intents()}


def folder_bytes(folder: str) -> int:
    return sum(
        os.path.getsize(os.path.join(folder, f))
        for f in os.listdir(folder)
        if os.path.isfile(os.path.join(folder, f))
    )


def _first_line(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


if TYPE_CHECKING:

    def _conforms(view: DcpView) -> CheckpointState:
        return view
