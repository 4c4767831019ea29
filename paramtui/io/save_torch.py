"""Save through torch.save: for sources a record-level rewrite cannot serve.

That is legacy files, safetensors files and folders going to .pth, and edits that add or remove
names (making a prune permanent). The source is loaded with torch's weights-only rules (mmap'd
where the format allows), edited tensors are swapped in place (ties stay ties: every name of an
edited storage is pointed at the same new storage), and the original save devices are written
back with a temporary location tagger.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from paramtui.core import intents
from paramtui.core.errors import SaveRefused
from paramtui.core.formats.zipdir import read_directory
from paramtui.io.zipwrite import ZipWriter

if TYPE_CHECKING:
    from paramtui.core.state import CheckpointState

ZIP_FORMATS = ("torch zip", "torchscript")


def save_with_torch(session: CheckpointState, out: BinaryIO, out_path: str) -> list[str]:
    """torch.save the edited checkpoint into `out` (an open temp file named `out_path`)."""
    import torch

    obj, devices = _load_source(session)
    notes = _apply_session(obj, session)
    devices.update(_edited_devices(session))
    with tag_devices(devices):
        torch.save(obj, out)
    out.flush()
    grad = session.grad_intents()
    if grad:
        append_intents(out, out_path, grad)
    return notes


def _load_source(session: CheckpointState) -> tuple[Any, dict[int, str]]:
    why = (
        "Edits that keep the same tensor names are saved losslessly without it: undo the edit "
        "that added or removed names (making a prune permanent), or save to .safetensors."
    )
    return load_weights_only(session.index, session, why)


def load_weights_only(index: Any, session: Any, way_out: str) -> tuple[Any, dict[int, str]]:
    """The source as objects (torch's weights-only rules, mmap'd where the format allows) and
    each storage's saved device by data pointer. Flat sources (safetensors, folders) are the
    session's tensors. A file that needs code to rebuild is refused with `way_out`."""
    import torch

    if index.format not in ZIP_FORMATS and index.format != "torch legacy":
        return {name: session.tensor(name) for name in session.names()}, {}
    devices: dict[int, str] = {}

    def keep(storage: Any, location: str) -> Any:
        devices[storage.data_ptr()] = location
        return storage

    try:
        obj = torch.load(
            index.path, map_location=keep, weights_only=True, mmap=index.format in ZIP_FORMATS
        )
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds; all mean the same here
        raise SaveRefused(
            f"{index.path} can only be rebuilt by running code from it ({_first_line(exc)}), "
            f"which paramtui never does. Nothing was written. {way_out}"
        ) from None
    return obj, devices


def _apply_session(obj: Any, session: CheckpointState) -> list[str]:
    import torch

    index = session.index
    current = session.names()
    with torch.no_grad():
        for storage_id in session.edited_storages():
            for name in index.storage_groups().get(storage_id, []):
                if name in current:
                    new = session.tensor(name)
                    old = get_path(obj, name)
                    old.set_(new.untyped_storage(), new.storage_offset(), new.size(), new.stride())
    return _apply_structure(obj, session, current)


def _apply_structure(obj: Any, session: CheckpointState, current: list[str]) -> list[str]:
    before = set(session.index.tensors)
    removed = [n for n in session.index.tensors if n not in set(current)]
    added = [n for n in current if n not in before]
    for name in added:
        sibling = next(
            (r for r in removed if r.rpartition(".")[0] == name.rpartition(".")[0]), None
        )
        if sibling is None:
            obj[name] = session.tensor(name)
            continue
        container, key = locate(obj, sibling)  # the new name goes beside its sibling
        leaf = sibling.rpartition(".")[2]
        container[str(key)[: len(str(key)) - len(leaf)] + name.rpartition(".")[2]] = session.tensor(
            name
        )
    for name in removed:
        container, key = locate(obj, name)
        del container[key]
    return [f"added {len(added)} and removed {len(removed)} name(s)"] if added or removed else []


def locate(obj: Any, dotted: str) -> tuple[Any, Any]:
    """(container, key) holding the value at a flattened dotted name. Dict keys may contain
    dots (state_dict keys do), so the longest key that prefixes the rest wins."""
    rest = dotted
    while True:
        if isinstance(obj, dict):
            keys = [
                k
                for k in obj
                if isinstance(k, str | int) and (str(k) == rest or rest.startswith(f"{k}."))
            ]
            if not keys:
                raise KeyError(dotted)
            key = max(keys, key=lambda k: len(str(k)))
        elif isinstance(obj, list | tuple):
            key = int(rest.partition(".")[0])
        else:
            raise KeyError(dotted)
        if str(key) == rest:
            return obj, key
        obj, rest = obj[key], rest[len(str(key)) + 1 :]


def get_path(obj: Any, dotted: str) -> Any:
    container, key = locate(obj, dotted)
    return container[key]


def _edited_devices(session: CheckpointState) -> dict[int, str]:
    out = {}
    for storage_id, copy in session.edited_storages().items():
        names = session.sharing(storage_id)
        device = next((session.info(n).device for n in names), None)
        if device:
            out[copy.untyped_storage().data_ptr()] = device
    return out


@contextlib.contextmanager
def tag_devices(devices: dict[int, str]) -> Iterator[None]:
    """Make torch.save record each storage's original device instead of 'cpu'."""
    import torch.serialization as ser

    registry = getattr(ser, "_package_registry", None)
    if not devices or not isinstance(registry, list):
        yield
        return

    def tagger(storage: Any) -> str | None:
        return devices.get(storage.data_ptr())

    entry = (-1000, tagger, lambda obj, location: None)
    registry.insert(0, entry)
    try:
        yield
    finally:
        registry.remove(entry)


def append_intents(out: BinaryIO, out_path: str, grad: dict[str, bool]) -> None:
    records, directory = read_directory(out_path)
    prefix = next(r.name[: -len("data.pkl")] for r in records if r.name.endswith("/data.pkl"))
    writer = ZipWriter.append_to(out, records, directory)
    writer.write_bytes(prefix + intents.ZIP_RECORD, intents.encode(grad).encode())
    writer.close()
    out.flush()
    os.fsync(out.fileno())


def _first_line(exc: BaseException) -> str:
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
