"""After writing (and before the output replaces anything): reopen it and check every tensor.

Metadata (names, shapes, dtypes, strides, devices, requires_grad intents) is compared for every
tensor through a fresh index of the output. Contents are compared bit for bit (NaN payloads and
-0.0 included): edited tensors against the session's values, all others against the source.
A record-level rewrite is checked record by record with plain reads, so neither file is mapped
and memory stays flat; other outputs tensor by tensor, releasing pages as it goes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, BinaryIO

from paramtui.core.errors import SaveRefused
from paramtui.core.formats.zipdir import read_records
from paramtui.core.open import open_checkpoint

if TYPE_CHECKING:
    import torch

    from paramtui.core.model import TensorInfo
    from paramtui.core.state import CheckpointState

BLOCK = 8 << 20
BLOCK_ELEMS = 4 << 20


def verified(
    session: CheckpointState,
    written: str,
    dest: str,
    *,
    check_devices: bool,
    rewritten_from: str | None = None,
    more: Callable[[], list[str]] | None = None,
) -> int:
    """verify() the `written` file or folder, then forget its mappings; how many tensors were
    checked. Any problem (from verify or from `more`) raises SaveRefused: `dest` stays as it
    was."""
    from paramtui.core.access import forget

    try:
        checks, problems = verify(
            session, written, check_devices=check_devices, rewritten_from=rewritten_from
        )
        if more is not None:
            problems += more()
    finally:
        files = (
            [os.path.join(written, n) for n in os.listdir(written)]
            if os.path.isdir(written)
            else [written]
        )
        for path in files:
            forget(path)
    if problems:
        raise SaveRefused(
            f"the written checkpoint did not verify, so {dest} was not replaced: "
            + "; ".join(problems[:5])
        )
    return checks


def _files_of(path: str) -> list[str]:
    if not os.path.isdir(path):
        return [path]
    return [os.path.join(path, name) for name in os.listdir(path)]


def verify(
    session: CheckpointState, dest: str, *, check_devices: bool, rewritten_from: str | None = None
) -> tuple[int, list[str]]:
    """(tensors checked, problems). `dest` is a file, or a DCP folder (its requires_grad
    intents are read from paramtui's file beside `.metadata`)."""
    out = open_checkpoint(dest)  # a DCP folder's recorded intents are applied on opening
    names = session.names()
    problems = _check_metadata(session, out.tensors, names, check_devices)
    if rewritten_from is not None:
        problems += _check_records(rewritten_from, dest, session.edited_storages())
    else:
        problems += _check_tensors(session, out.tensors, names)
    return len(names), problems


def _check_metadata(
    session: CheckpointState,
    written: Mapping[str, TensorInfo],
    names: list[str],
    check_devices: bool,
) -> list[str]:
    problems = []
    for name in names:
        want, got = session.info(name), written.get(name)
        if got is None:
            problems.append(f"{name} is missing from the output")
            continue
        if (got.shape, got.dtype) != (want.shape, want.dtype):
            problems.append(f"{name}: wrong shape or dtype in the output")
        if check_devices and want.device and got.device != want.device:
            problems.append(f"{name}: device recorded as {got.device}, not {want.device}")
        intent = session.requires_grad(name)
        if intent is not None and got.requires_grad is not intent:
            problems.append(f"{name}: requires_grad={intent} was not recorded")
    extra = set(written) - set(names)
    if extra:
        problems.append(f"unexpected tensors in the output: {', '.join(sorted(extra)[:5])}")
    return problems


def _check_records(source: str, dest: str, edited: dict[str, torch.Tensor]) -> list[str]:
    before = {r.name: r for r in read_records(source)}
    problems = []
    with open(source, "rb") as src, open(dest, "rb") as out:
        for record in read_records(dest):
            key = record.name.partition("/data/")[2] if "/data/" in record.name else None
            old = before.pop(record.name, None)
            if key is not None and key in edited:
                data = (
                    edited[key].reshape(-1).numpy().tobytes()
                    if edited[key].numel() < BLOCK
                    else None
                )
                same = (
                    _same_as_tensor(out, record.data_offset, record.size, edited[key])
                    if data is None
                    else _read(out, record.data_offset, record.size) == data
                )
            elif old is not None:
                same = (
                    _same_ranges(src, old.data_offset, out, record.data_offset, record.size)
                    and old.size == record.size
                )
            else:
                continue  # a record we added (the requires_grad intents)
            if not same:
                problems.append(f"record {record.name} differs from what was meant to be written")
    problems += [
        f"record {name} is missing from the output"
        for name in before
        if not name.endswith("paramtui/requires_grad.json")
    ]
    return problems


def _read(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def _same_ranges(a: BinaryIO, a_off: int, b: BinaryIO, b_off: int, size: int) -> bool:
    for start in range(0, size, BLOCK):
        n = min(BLOCK, size - start)
        if _read(a, a_off + start, n) != _read(b, b_off + start, n):
            return False
    return True


def _same_as_tensor(f: BinaryIO, offset: int, size: int, data: torch.Tensor) -> bool:
    flat = data.reshape(-1)
    if flat.numel() != size:
        return False
    for start in range(0, size, BLOCK):
        n = min(BLOCK, size - start)
        if _read(f, offset + start, n) != flat[start : start + n].numpy().tobytes():
            return False
    return True


def _check_tensors(
    session: CheckpointState, written: Mapping[str, TensorInfo], names: list[str]
) -> list[str]:
    from paramtui.core.access import open_tensor, release_pages

    problems = []
    for name in names:
        got = written.get(name)
        if got is None:
            continue
        if not same_bytes(session.tensor(name), open_tensor(got)):
            problems.append(f"{name}: the written values differ")
        release_pages(got)
        info = session.info(name)
        if not session.is_edited(name) and info.location is not None:
            release_pages(info)
    return problems


def same_bytes(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bitwise equality of two same-shaped tensors, a bounded block at a time."""
    import torch

    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dim() == 0:
        a, b = a.reshape(1), b.reshape(1)
    per = max(1, BLOCK_ELEMS // max(1, a[0].numel())) if a.shape[0] else 1
    for start in range(0, a.shape[0], per):
        x = a[start : start + per].contiguous().reshape(-1).view(torch.uint8)
        y = b[start : start + per].contiguous().reshape(-1).view(torch.uint8)
        if not torch.equal(x, y):
            return False
    return True
