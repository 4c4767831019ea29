"""One `pytorch_model-0000N-of-0000M.bin` shard: a flat state_dict written with torch.save.

Names that share a storage are views of one storage object, so torch.save writes it once and
ties stay tied. Unedited storages are zero-copy views of the source's mapped bytes (torch.save
streams them), edited ones are the session's private copies. Original save devices are written
back, and requires_grad flags are appended as paramtui's intents record.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from paramtui.core import access
from paramtui.core.errors import SaveRefused
from paramtui.core.model import TensorInfo
from paramtui.io.atomic import atomic_output
from paramtui.io.save_torch import append_intents, tag_devices
from paramtui.io.verify import verified

if TYPE_CHECKING:
    import torch

    from paramtui.core.state import CheckpointState


def write_bin_shard(session: CheckpointState, path: str) -> tuple[int, int]:
    """Write every name of `session` (a SessionSubset) to `path`, verified before it replaces
    anything (SaveRefused if it does not verify); (bytes written, tensors checked)."""
    import torch

    state, devices = shard_state(session)
    grad = {n: v for n in session.names() if (v := session.info(n).requires_grad) is not None}
    checked: list[int] = []

    def check(temp_path: str) -> None:
        checked.append(verified(session, temp_path, path, check_devices=True))

    with atomic_output(path, overwrite=True, check=check) as out:
        with tag_devices(devices):
            torch.save(state, out)
        out.flush()
        if grad:
            append_intents(out, out.name, grad)
        size = os.fstat(out.fileno()).st_size
    return size, checked[0]


def shard_state(session: CheckpointState) -> tuple[dict[str, torch.Tensor], dict[int, str]]:
    """(name -> tensor sharing storages like the source, storage data_ptr -> save device)."""
    from paramtui.core.storage import typed_view

    edited = session.edited_storages()
    bases: dict[str, torch.Tensor | None] = {}
    state: dict[str, torch.Tensor] = {}
    devices: dict[int, str] = {}
    for name in session.names():
        info = session.info(name)
        if info.storage_id not in bases:
            copy = edited.get(info.storage_id)
            bases[info.storage_id] = copy if copy is not None else _mapped_storage(info)
        base = bases[info.storage_id]
        tensor = typed_view(base, info) if base is not None else session.tensor(name)
        state[name] = tensor
        if info.device:
            devices[tensor.untyped_storage().data_ptr()] = info.device
    return state, devices


def _mapped_storage(info: TensorInfo) -> torch.Tensor | None:
    """The whole storage behind `info` as a zero-copy 1-D uint8 view of the file, or None when
    the bytes cannot be mapped that way (the caller then uses the session's tensor)."""
    loc = info.location
    reason = access.unviewable_reason(info)
    if reason is not None:
        if loc is None:
            return None
        raise SaveRefused(f"cannot write '{info.name}' to a .bin shard: {reason}.")
    assert loc is not None
    if loc.offset % info.itemsize:
        from paramtui.core.storage import read_storage

        return read_storage(info)  # unaligned (legacy files): a private copy
    return access.open_storage_bytes(info)
