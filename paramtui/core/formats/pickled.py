"""Shared by the torch zip and legacy readers: restricted unpickling -> CheckpointIndex."""

from __future__ import annotations

import pickle
from collections.abc import Callable

from paramtui.core import training
from paramtui.core.errors import UnusableInput
from paramtui.core.model import CheckpointIndex, DataLocation, TensorInfo
from paramtui.core.pickle_tree import FoundTensor, flatten
from paramtui.core.roles import infer_role
from paramtui.core.unpickle import UnpickleResult, restricted_loads

Locate = Callable[[str, int], "DataLocation | None"]


def unpickle_or_explain(path: str, data: bytes) -> UnpickleResult:
    try:
        return restricted_loads(data)
    except UnusableInput:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        MemoryError,
        RecursionError,
        UnicodeDecodeError,
    ) as exc:
        raise UnusableInput(
            f"{path}: its pickle could not be read ({type(exc).__name__}: {exc}). The file is "
            "damaged or not a PyTorch checkpoint."
        ) from None


def index_from_pickle(path: str, kind: str, data: bytes, locate: Locate) -> CheckpointIndex:
    result = unpickle_or_explain(path, data)
    found, meta = flatten(result.obj)
    tensors: dict[str, TensorInfo] = {}
    for item in found:
        info = _tensor_info(item, locate)
        tensors[info.name] = info
    notes = []
    if result.stubbed:
        names = sorted(result.stubbed)
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        notes.append(
            f"read without running code: {len(names)} class(es)/function(s) named by the file "
            f"were not imported ({shown})"
        )
    index = CheckpointIndex(
        path=path,
        format=kind,
        tensors=tensors,
        metadata={m.name: m for m in meta},
        files=[path],
        notes=notes,
    )
    training.recognise(index, result.obj)  # optimizer param groups, snapshots, training parts
    return index


def _tensor_info(item: FoundTensor, locate: Locate) -> TensorInfo:
    ref = item.ref
    storage = ref.storage
    recorded = item.role is not None
    role = item.role if item.role is not None else infer_role(item.name, ref.dtype)
    return TensorInfo(
        name=item.name,
        shape=ref.shape,
        dtype=ref.dtype,
        device=storage.location if storage is not None else None,
        stride=ref.stride,
        storage_offset=ref.storage_offset,
        storage_id=storage.key if storage is not None else f"?{item.name}",
        location=locate(storage.key, storage.nbytes) if storage is not None else None,
        role=role,
        role_recorded=recorded,
        requires_grad=ref.requires_grad if ref.is_parameter else None,
        layout=ref.layout,
    )
