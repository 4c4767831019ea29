"""Write a .safetensors file from an edit session, streaming tensor by tensor.

safetensors holds a flat map of contiguous tensors plus string metadata. What it cannot hold is
refused with the exact names and the lossless alternative, never dropped silently: non-tensor
entries (unless tensors_only), shared storages such as tied weights (unless allow_untie: each
name then gets its own copy), and dtypes it has no code for.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from paramtui.core import intents
from paramtui.core.dtypes import SAFETENSORS_DTYPES, dtype_info
from paramtui.core.errors import SaveRefused

if TYPE_CHECKING:
    import torch

    from paramtui.core.state import CheckpointState

CODES = {name: code for code, name in SAFETENSORS_DTYPES.items()}
BLOCK_ELEMS = 4 << 20


def check_storable(session: CheckpointState, *, allow_untie: bool, tensors_only: bool) -> list[str]:
    """Raise SaveRefused for what safetensors cannot hold; return notes on what changes form."""
    index, names = session.index, session.names()
    problems, notes = [], []
    if index.metadata and not tensors_only:
        shown = ", ".join(list(index.metadata)[:4])
        problems.append(
            f"it holds {len(index.metadata)} non-tensor entries ({shown}, ...) that safetensors "
            "cannot store: save as .pth to keep them, or drop them explicitly (--tensors-only)"
        )
    bad = [n for n in names if session.info(n).dtype not in CODES]
    if bad:
        kinds = sorted({session.info(n).dtype for n in bad})
        problems.append(
            f"safetensors has no dtype for {', '.join(kinds)} ({_some(bad)}): save as .pth"
        )
    tied = _shared_groups(session, names)
    if tied and not allow_untie:
        pairs = "; ".join(" = ".join(group[:3]) for group in tied[:3])
        problems.append(
            f"{len(tied)} group(s) of tensors share storage ({pairs}); safetensors stores every "
            "tensor separately: save as .pth to keep them shared, or store copies (--untie)"
        )
    if problems:
        raise SaveRefused("cannot save as safetensors: " + "; and ".join(problems) + ".")
    if tied:
        notes.append(f"{len(tied)} shared storage group(s) stored as separate copies")
    strided = [n for n in names if not session.info(n).is_contiguous]
    if strided:
        notes.append(f"{len(strided)} non-contiguous tensor(s) stored contiguous (same values)")
    if index.metadata:
        notes.append(f"{len(index.metadata)} non-tensor entries dropped (--tensors-only)")
    return notes


def write_safetensors(session: CheckpointState, out: BinaryIO) -> None:
    names = session.names()
    header: dict[str, object] = {}
    metadata = dict(session.index.file_metadata) if session.index.format == "safetensors" else {}
    metadata.pop(intents.METADATA_KEY, None)
    grad = {**intents.recorded(session), **session.grad_intents()}
    if grad:
        metadata[intents.METADATA_KEY] = intents.encode(grad)
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name in names:
        info = session.info(name)
        size = info.numel * dtype_info(info.dtype).itemsize
        header[name] = {
            "dtype": CODES[info.dtype],
            "shape": list(info.shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    out.write(struct.pack("<Q", len(raw)))
    out.write(raw)
    for name in names:
        for block in _blocks(session.tensor(name)):
            out.write(block)
        release_if_mapped(session, name)


def release_if_mapped(session: CheckpointState, name: str) -> None:
    """Drop the page-cache pages of an unedited tensor we just streamed (keeps RSS flat)."""
    from paramtui.core.access import release_pages

    info = session.info(name)
    if not session.is_edited(name) and info.location is not None:
        release_pages(info)


def _blocks(tensor: torch.Tensor) -> Iterator[memoryview]:
    """The tensor's bytes in logical order, a bounded block at a time."""
    if tensor.dim() == 0 or tensor.is_contiguous():
        flat = tensor.reshape(-1)
        for start in range(0, flat.numel(), BLOCK_ELEMS):
            yield _bytes(flat[start : start + BLOCK_ELEMS])
        return
    per = max(1, BLOCK_ELEMS // max(1, tensor[0].numel()))
    for start in range(0, tensor.shape[0], per):
        yield _bytes(tensor[start : start + per].contiguous().reshape(-1))


def _bytes(flat: torch.Tensor) -> memoryview:
    import torch

    return memoryview(flat.contiguous().view(torch.uint8).numpy())  # type: ignore[arg-type]


def _shared_groups(session: CheckpointState, names: list[str]) -> list[list[str]]:
    present = set(names)
    return [
        [n for n in group if n in present]
        for group in session.index.storage_groups().values()
        if sum(1 for n in group if n in present) > 1
    ]


def _some(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
