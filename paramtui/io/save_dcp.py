"""Save an edit session as a new torch.distributed.checkpoint (DCP) folder.

The folder is written by torch's own `dcp.save` in this one process, without a process group:
one `__0_0.distcp` file plus `.metadata`, which `dcp.load` reads into the same nested state dict
as the source. For a DCP source the state dict holds a placeholder (a meta tensor) per tensor and
a planner hands torch each tensor only when its writer asks for it: sharded source tensors are
assembled one at a time and the source's pages are released as it goes. Non-tensor entries of a
DCP source are copied byte for byte, never unpickled. Other sources are loaded with torch's
weights-only rules (mmap'd), edited tensors swapped in. The folder is written beside the
destination, reopened and verified, then renamed into place (io.atomic.atomic_folder).
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from paramtui.core.errors import SaveRefused
from paramtui.io.atomic import atomic_folder
from paramtui.io.dcp_source import (
    DcpView,
    Payload,
    folder_bytes,
    is_dcp_source,
    nest,
    nesting,
    path_of,
    payloads,
    recorded_intents,
    write_intents,
)
from paramtui.io.report import SaveReport
from paramtui.io.save_safetensors import release_if_mapped

if TYPE_CHECKING:
    from paramtui.core.state import CheckpointState
METHOD = "torch.distributed.checkpoint.save"
_WAY_OUT = "Save it as .pth or .safetensors instead."


def save_dcp(
    session: CheckpointState,
    dest: str,
    *,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SaveReport:
    """Write the session's checkpoint, edits applied, as a new DCP folder at `dest`."""
    say = progress or (lambda _: None)
    start = time.perf_counter()
    _refuse_inside(session, dest)
    dcp = is_dcp_source(session.index)
    view = DcpView(session, scratch_beside=dest) if dcp else None
    values = view if view is not None else session
    state, lazy, notes = _dcp_state(values) if dcp else _loaded_state(session)
    checks = [0]

    def check(folder: str) -> None:
        say("verifying")
        checks[0] = _verify(values, folder, dest)

    with (
        view if view is not None else contextlib.nullcontext(),
        atomic_folder(dest, overwrite=overwrite, check=check) as tmp,
    ):
        say("writing with torch.distributed.checkpoint")
        _write(values, state, lazy, tmp)
        write_intents(tmp, recorded_intents(session))
    replaced = os.path.abspath(dest) == os.path.abspath(session.index.path)
    if replaced:
        from paramtui.core.access import forget

        forget()
        notes.append("saved over the source: reopen it to keep editing")
    session.mark_saved()
    edited = session.edited_names()
    elapsed = time.perf_counter() - start
    return SaveReport(
        dest, "dcp", METHOD, folder_bytes(dest), elapsed, edited, True, checks[0], notes, replaced
    )


def _refuse_inside(session: CheckpointState, dest: str) -> None:
    """Replacing a folder deletes what it holds: never the source (unless it is the folder)."""
    target = os.path.abspath(dest)
    if target == os.path.abspath(session.index.path):
        return  # the source DCP folder itself: replaced like a file, when overwriting
    for path in session.index.files or [session.index.path]:
        inside = os.path.abspath(path)
        if os.path.commonpath([target, inside]) == target:
            raise SaveRefused(
                f"{dest} holds the checkpoint being saved ({path}); writing a DCP folder there "
                "would delete it. Nothing was written: choose another folder."
            )


def _dcp_state(values: CheckpointState) -> tuple[dict[str, Any], set[str], list[str]]:
    """The nested state of a DCP source: a meta placeholder per tensor, payloads as they are."""
    import torch

    folder = values.index.path
    paths = nesting(folder)
    entries: list[tuple[tuple[str | int, ...], Any]] = []
    for name in values.names():
        info = values.info(name)
        dtype = getattr(torch, info.dtype, None)
        if not isinstance(dtype, torch.dtype):
            raise SaveRefused(f"'{name}' has the dtype {info.dtype}, unknown to torch. {_WAY_OUT}")
        entries.append((path_of(name, paths), torch.empty(info.shape, dtype=dtype, device="meta")))
    for fqn, payload in payloads(folder).items():
        if payload.transforms:
            raise SaveRefused(
                f"the entry '{fqn}' of {folder} is stored transformed "
                f"({', '.join(map(str, payload.transforms))}); paramtui copies non-tensor entries "
                f"byte for byte and cannot yet. Nothing was written. {_WAY_OUT}"
            )
        entries.append((path_of(fqn, paths), payload))
    return nest(entries), set(values.names()), []


def _loaded_state(session: CheckpointState) -> tuple[dict[str, Any], set[str], list[str]]:
    """The state of a non-DCP source: loaded weights-only (mmap'd), edits swapped in."""
    from paramtui.io.save_torch import ZIP_FORMATS, load_weights_only, locate

    index = session.index
    pickled = index.format in ZIP_FORMATS or index.format == "torch legacy"
    if pickled and session.structure_changed:
        raise SaveRefused(
            "edits that add or remove names (making a prune permanent) are saved to a DCP "
            "folder only from a DCP source. Nothing was written. Save as .pth first, then "
            "convert that file to DCP."
        )
    obj, _ = load_weights_only(index, session, _WAY_OUT)
    if not isinstance(obj, dict):
        raise SaveRefused(
            f"{index.path} holds a {type(obj).__name__} at the top level; a DCP checkpoint "
            f"holds a dict of entries. Nothing was written. {_WAY_OUT}"
        )
    if pickled:
        for name in session.edited_names():
            container, key = locate(obj, name)
            container[key] = session.tensor(name)
    return obj, set(), _loaded_notes(session, obj, pickled)


def _loaded_notes(session: CheckpointState, obj: dict[str, Any], pickled: bool) -> list[str]:
    """What a DCP folder cannot carry over from this source (said, never silently dropped)."""
    notes = []
    if not pickled and session.index.file_metadata:
        shown = ", ".join(list(session.index.file_metadata)[:3])
        notes.append(f"the source's file metadata ({shown}) is not part of a DCP state dict")
    if _has_versions(obj):
        notes.append("state dict `_metadata` (module versions) is not kept: DCP stores items")
    devices = sorted({i.device for i in session.index.tensors.values() if i.device} - {"cpu"})
    if devices:
        notes.append(f"DCP records no devices: the saved devices ({', '.join(devices)}) are gone")
    tied = [g for g in session.index.storage_groups().values() if len(g) > 1]
    if tied:
        notes.append(f"{len(tied)} shared storage group(s) written as separate tensors")
    return notes


def _has_versions(obj: Any, depth: int = 0) -> bool:
    if getattr(obj, "_metadata", None) is not None:
        return True
    children = obj.values() if isinstance(obj, dict) and depth < 2 else ()
    return any(_has_versions(child, depth + 1) for child in children)


def _write(values: CheckpointState, state: dict[str, Any], lazy: set[str], folder: str) -> None:
    from torch.distributed.checkpoint.filesystem import FileSystemWriter
    from torch.distributed.checkpoint.state_dict_saver import save

    writer = FileSystemWriter(folder, sync_files=True, thread_count=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "assuming a single process"
            save(state, storage_writer=writer, planner=_planner(values, lazy), no_dist=True)
    except SaveRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - torch wraps whatever failed in CheckpointException
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise SaveRefused(
            f"torch's DCP writer failed ({type(exc).__name__}: {lines[-1][:200] if lines else ''})"
            f". Nothing was written. {_WAY_OUT}"
        ) from None


def _planner(values: CheckpointState, lazy: set[str]) -> Any:
    """A DefaultSavePlanner that fetches each lazy tensor when torch writes it."""
    from torch.distributed.checkpoint.default_planner import DefaultSavePlanner

    class LazySavePlanner(DefaultSavePlanner):
        last: str | None = None

        def lookup_object(self, index: Any) -> Any:
            if index.fqn not in lazy:
                return super().lookup_object(index)
            if self.last is not None:
                release_if_mapped(values, self.last)  # written by now; pages come back if read
            self.last = index.fqn
            return values.tensor(index.fqn)

        def transform_object(self, write_item: Any, obj: Any) -> Any:
            if isinstance(obj, Payload):
                return io.BytesIO(obj.read())
            return super().transform_object(write_item, obj)

    return LazySavePlanner()


def _verify(values: CheckpointState, folder: str, dest: str) -> int:
    from paramtui.io.verify import verified

    source = values.index.path
    more = (lambda: _payload_problems(source, folder)) if is_dcp_source(values.index) else None
    return verified(values, folder, dest, check_devices=False, more=more)


def _payload_problems(source: str, folder: str) -> list[str]:
    """Every non-tensor entry must be in the output with the same bytes."""
    written = payloads(folder)
    problems = []
    for fqn, payload in payloads(source).items():
        got = written.get(fqn)
        if got is None:
            problems.append(f"the non-tensor entry '{fqn}' is missing from the output")
        elif got.read() != payload.read():
            problems.append(f"the non-tensor entry '{fqn}' changed")
    return problems
