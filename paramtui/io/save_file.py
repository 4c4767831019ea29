"""Save a checkpoint state to one file: atomic, lossless, streaming, verified."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import BinaryIO

from paramtui.core.errors import SaveRefused
from paramtui.core.formats.dcp import SHARDED
from paramtui.core.state import CheckpointState
from paramtui.io.atomic import atomic_output
from paramtui.io.dcp_source import DcpView, is_dcp_source
from paramtui.io.dcp_to_torch import write_torch_from_dcp
from paramtui.io.report import SaveReport
from paramtui.io.save_safetensors import check_storable, write_safetensors
from paramtui.io.save_torch import ZIP_FORMATS, save_with_torch
from paramtui.io.save_zip import rewrite_zip
from paramtui.io.verify import verified

RECORD_REWRITE = "record rewrite"


def save_file(
    state: CheckpointState,
    dest: str,
    fmt: str,
    *,
    overwrite: bool = False,
    allow_untie: bool = False,
    tensors_only: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SaveReport:
    """Write the state to the file `dest` as `fmt` ("torch" or "safetensors"): atomically,
    verified by reopening it, never over a file the state still reads."""
    _refuse_unreadable(state)
    view = DcpView(state, scratch_beside=dest) if is_dcp_source(state.index) else None
    with view if view is not None else contextlib.nullcontext():
        values = view if view is not None else state
        return _save_file(
            values, dest, fmt, overwrite, allow_untie, tensors_only, progress or (lambda _: None)
        )


def _save_file(
    session: CheckpointState,
    dest: str,
    fmt: str,
    overwrite: bool,
    allow_untie: bool,
    tensors_only: bool,
    say: Callable[[str], None],
) -> SaveReport:
    notes = (
        check_storable(session, allow_untie=allow_untie, tensors_only=tensors_only)
        if fmt == "safetensors"
        else []
    )
    start = time.perf_counter()
    result: dict[str, str | int] = {}

    def check(temp_path: str) -> None:
        say("verifying")
        rewritten = session.index.path if result.get("method") == RECORD_REWRITE else None
        result["checks"] = _verify(session, dest, temp_path, fmt, rewritten)

    with atomic_output(dest, overwrite=overwrite, check=check) as out:
        method = result["method"] = _write(session, out, fmt, notes, say)
        out.flush()
        written = os.fstat(out.fileno()).st_size
    replaced_source = _is_source(session, dest)
    if replaced_source:
        from paramtui.core.access import forget

        forget()  # later reads must map the new file, through a new index
        notes.append("saved over the source: reopen it to keep editing")
    session.mark_saved()
    edited = [n for n in session.names() if session.is_edited(n)]
    return SaveReport(
        dest,
        fmt,
        method,
        written,
        time.perf_counter() - start,
        edited,
        True,
        int(result.get("checks", 0)),
        notes,
        replaced_source,
    )


def _verify(
    session: CheckpointState, dest: str, temp_path: str, fmt: str, rewritten: str | None
) -> int:
    return verified(
        session, temp_path, dest, check_devices=fmt == "torch", rewritten_from=rewritten
    )


def _refuse_unreadable(session: CheckpointState) -> None:
    """Every tensor must be readable as plain bytes (or be a private copy) to be written."""
    from paramtui.core.access import unviewable_reason

    dcp = is_dcp_source(session.index)  # sharded DCP tensors are assembled by torch's reader
    stuck = [
        (n, unviewable_reason(session.info(n)))
        for n in session.names()
        if not session.is_edited(n) and not (dcp and session.info(n).layout == SHARDED)
    ]
    stuck = [(n, why) for n, why in stuck if why is not None]
    if stuck:
        name, why = stuck[0]
        raise SaveRefused(
            f"{len(stuck)} tensor(s) of this {session.index.format} cannot be read as plain "
            f"bytes ({name}: {why}), so paramtui cannot write them yet. Nothing was written."
        )


def _is_source(session: CheckpointState, dest: str) -> bool:
    files = session.index.files or [session.index.path]
    return any(os.path.abspath(dest) == os.path.abspath(f) for f in files)


def _write(
    session: CheckpointState, out: BinaryIO, fmt: str, notes: list[str], say: Callable[[str], None]
) -> str:
    index = session.index
    if fmt == "safetensors":
        say("writing safetensors")
        write_safetensors(session, out)
        return "safetensors writer"
    if is_dcp_source(index):
        say("writing with torch.save")
        write_torch_from_dcp(session, out)
        return "torch.save"
    if index.format in ZIP_FORMATS and not session.structure_changed:
        say("rewriting records")
        rewrite_zip(index.path, out, session.edited_storages(), session.grad_intents())
        return RECORD_REWRITE
    say("writing with torch.save")
    notes.extend(save_with_torch(session, out, out.name))
    return "torch.save"
