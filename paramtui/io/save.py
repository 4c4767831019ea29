"""Save an edit session: atomic, lossless, streaming, verified."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from paramtui.core.errors import SaveRefused
from paramtui.io.atomic import atomic_output
from paramtui.io.save_safetensors import check_storable, write_safetensors
from paramtui.io.save_torch import ZIP_FORMATS, save_with_torch
from paramtui.io.save_zip import rewrite_zip
from paramtui.io.verify import verify

if TYPE_CHECKING:
    from paramtui.edits.session import EditSession

TORCH_EXTENSIONS = (".pth", ".pt", ".bin", ".ckpt")
RECORD_REWRITE = "record rewrite"


@dataclass(frozen=True)
class SaveReport:
    path: str
    format: str  # "torch" or "safetensors"
    method: str  # how it was written: "record rewrite", "torch.save", "safetensors writer"
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
    if format in ("torch", "safetensors"):
        return format
    if format is not None:
        raise SaveRefused(f"unknown output format {format!r}: use 'torch' or 'safetensors'.")
    ext = os.path.splitext(dest)[1].lower()
    if ext == ".safetensors":
        return "safetensors"
    if ext in TORCH_EXTENSIONS:
        return "torch"
    raise SaveRefused(
        f"cannot tell the format of {dest} from its extension: end it with .safetensors or one "
        f"of {', '.join(TORCH_EXTENSIONS)}."
    )


def default_save_path(source: str) -> str:
    """`<stem>.edited<ext>` next to the source (a folder gets `<name>.edited.safetensors`)."""
    source = source.rstrip("/")
    if os.path.isdir(source):
        stem, ext = source, ".safetensors"
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
    fmt = output_format(dest, format)
    if session.index.live is not None:  # a live nn.Module: its state_dict is what is saved
        from paramtui.io.save_live import save_live

        return save_live(session, dest, fmt, overwrite=overwrite, progress=progress)
    _refuse_unreadable(session)
    notes = (
        check_storable(session, allow_untie=allow_untie, tensors_only=tensors_only)
        if fmt == "safetensors"
        else []
    )
    say = progress or (lambda _: None)
    start = time.perf_counter()
    result: dict[str, str | int] = {}

    def check(temp_path: str) -> None:
        say("verifying")
        rewritten = session.index.path if result.get("method") == RECORD_REWRITE else None
        from paramtui.core.access import forget

        try:
            checks, problems = verify(
                session, temp_path, check_devices=fmt == "torch", rewritten_from=rewritten
            )
        finally:
            forget(temp_path)
        if problems:
            raise SaveRefused(
                f"the written file did not verify, so {dest} was not replaced: "
                + "; ".join(problems[:5])
            )
        result["checks"] = checks

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


def _refuse_unreadable(session: EditSession) -> None:
    """Every tensor must be readable as plain bytes (or be a private copy) to be written."""
    from paramtui.core.access import unviewable_reason

    stuck = [
        (n, unviewable_reason(session.info(n))) for n in session.names() if not session.is_edited(n)
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
    if index.format in ZIP_FORMATS and not session.structure_changed:
        say("rewriting records")
        rewrite_zip(index.path, out, session.edited_storages(), session.grad_intents())
        return RECORD_REWRITE
    say("writing with torch.save")
    notes.extend(save_with_torch(session, out, out.name))
    return "torch.save"
