"""Save an edit session: atomic, lossless, streaming, verified."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, BinaryIO, cast

from paramtui.core.errors import SaveRefused
from paramtui.core.formats.dcp import SHARDED
from paramtui.io.atomic import atomic_output
from paramtui.io.dcp_source import DcpView, is_dcp_source
from paramtui.io.dcp_to_torch import write_torch_from_dcp
from paramtui.io.save_safetensors import check_storable, write_safetensors
from paramtui.io.save_torch import ZIP_FORMATS, save_with_torch
from paramtui.io.save_zip import rewrite_zip
from paramtui.io.verify import verified

if TYPE_CHECKING:
    from paramtui.edits.session import EditSession

TORCH_EXTENSIONS = (".pth", ".pt", ".bin", ".ckpt")
RECORD_REWRITE = "record rewrite"
DCP = "dcp"  # a torch.distributed.checkpoint folder: only when asked for by name
FORMATS = ("torch", "safetensors", DCP)


@dataclass(frozen=True)
class SaveReport:
    path: str
    format: str  # "torch", "safetensors" or "dcp" (then `path` is a folder)
    method: str  # "record rewrite", "torch.save", "safetensors writer", or DCP's save
    bytes_written: int
    seconds: float
    edited: list[str]
    verified: bool
    checks: int
    notes: list[str] = field(default_factory=list)
    replaced_source: bool = False  # the session's source was overwritten: reopen to go on

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def output_format(dest: str, format: str | None = None) -> str:
    """The output format ("torch", "safetensors" or "dcp"): `format` if given, else from `dest`'s
    extension (a DCP folder is written only when asked for by name: no extension tells it)."""
    if format in FORMATS:
        return format
    if format is not None:
        raise SaveRefused(
            f"unknown output format {format!r}: use 'torch', 'safetensors' or 'dcp' (a "
            "torch.distributed.checkpoint folder)."
        )
    ext = os.path.splitext(dest)[1].lower()
    if ext == ".safetensors":
        return "safetensors"
    if ext in TORCH_EXTENSIONS:
        return "torch"
    raise SaveRefused(
        f"cannot tell the format of {dest} from its extension: end it with .safetensors or one "
        f"of {', '.join(TORCH_EXTENSIONS)}, or ask for a DCP folder (--format dcp)."
    )


def default_save_path(source: str) -> str:
    """`<stem>.edited<ext>` next to the source (a folder gets `<name>.edited.safetensors`, a
    DCP folder `<name>.edited.pth`, which keeps its non-tensor entries)."""
    source = source.rstrip("/")
    if os.path.isdir(source):
        dcp = os.path.isfile(os.path.join(source, ".metadata"))
        stem, ext = source, ".pth" if dcp else ".safetensors"
    else:
        stem, ext = os.path.splitext(source)
    candidate, n = f"{stem}.edited{ext}", 2
    while os.path.exists(candidate):
        candidate, n = f"{stem}.edited.{n}{ext}", n + 1
    return candidate


def save(
    session: EditSession,
    dest: str,
    *,
    format: str | None = None,
    overwrite: bool = False,
    allow_untie: bool = False,
    tensors_only: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SaveReport:
    """Write the session's checkpoint, edits applied, to `dest` (a file; a folder for "dcp"):
    atomically, verified by reopening it, never over a file the session still reads."""
    fmt = output_format(dest, format)
    if session.index.live is not None:  # a live nn.Module: its state_dict is what is saved
        from paramtui.io.save_live import save_live

        return save_live(session, dest, fmt, overwrite=overwrite, progress=progress)
    if fmt == DCP:
        from paramtui.io.save_dcp import save_dcp

        return save_dcp(session, dest, overwrite=overwrite, progress=progress)
    _refuse_unreadable(session)
    view = DcpView(session, scratch_beside=dest) if is_dcp_source(session.index) else None
    with view if view is not None else contextlib.nullcontext():
        values = cast("EditSession", view) if view is not None else session
        return _save_file(
            values, dest, fmt, overwrite, allow_untie, tensors_only, progress or (lambda _: None)
        )


def _save_file(
    session: EditSession,
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
    session: EditSession, dest: str, temp_path: str, fmt: str, rewritten: str | None
) -> int:
    return verified(
        session, temp_path, dest, check_devices=fmt == "torch", rewritten_from=rewritten
    )


def _refuse_unreadable(session: EditSession) -> None:
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


def _is_source(session: EditSession, dest: str) -> bool:
    files = session.index.files or [session.index.path]
    return any(os.path.abspath(dest) == os.path.abspath(f) for f in files)


def _write(
    session: EditSession, out: BinaryIO, fmt: str, notes: list[str], say: Callable[[str], None]
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
