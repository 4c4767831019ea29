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
    names = sorted(result.stubbed)
    note = stub_note(names)
    notes = [note] if note else []
    index = CheckpointIndex(
        path=path,
        format=kind,
        tensors=tensors,
        metadata={m.name: m for m in meta},
        files=[path],
        notes=notes,
        unimported=names,
    )
    training.recognise(index, result.obj)  # optimizer param groups, snapshots, training parts
    return index


# Globals a file names that are not news: TorchScript's own module classes, and torch's
# rebuild helpers that weights-only loading accepts (a sparse tensor's layout, for one).
EXPECTED_PREFIXES = ("__torch__.", "torch._utils._rebuild_", "torch._tensor._rebuild_")
EXPECTED_NAMES = frozenset({"torch.serialization._get_layout", "torch.nn.parameter.Parameter"})
SHOWN_NAMES = 3


def is_expected_global(name: str) -> bool:
    return name in EXPECTED_NAMES or name.startswith(EXPECTED_PREFIXES)


def stub_note(names: list[str]) -> str | None:
    """One short line about the globals read as stubs: none if all are expected."""
    news = [name for name in names if not is_expected_global(name)]
    if not news:
        return None
    shown = ", ".join(news[:SHOWN_NAMES])
    more = f" +{len(news) - SHOWN_NAMES} more" if len(news) > SHOWN_NAMES else ""
    return f"not imported (no code run): {shown}{more}"


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
