"""Save a checkpoint with renamed state dict keys (a stripped wrapper prefix, core.prefix).

safetensors output goes through the ordinary save path on a renamed index (the writer streams
each tensor from its unchanged location). torch output is the source loaded with torch's
weights-only rules (mmap'd, saved devices kept), the state dict parts rebuilt with the new keys
(order and `_metadata` kept, so load_state_dict sees the same module versions), and torch.save;
tensors that shared a storage still share it. A source that weights_only refuses is refused:
rebuilding it would mean running code from it. Every output is verified against the renamed
index before it replaces anything.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from paramtui.core import intents, training
from paramtui.core.errors import SaveRefused
from paramtui.core.model import CheckpointIndex
from paramtui.core.prefix import StripPlan, stripped_index
from paramtui.core.state import SourceState
from paramtui.io.atomic import atomic_output
from paramtui.io.destination import output_format
from paramtui.io.report import SaveReport
from paramtui.io.save_file import save_file
from paramtui.io.save_torch import (
    ZIP_FORMATS,
    append_intents,
    load_weights_only,
    locate,
    tag_devices,
)

Say = Callable[[str], None]


def save_renamed(
    index: CheckpointIndex,
    plan: StripPlan,
    dest: str,
    *,
    format: str | None = None,
    overwrite: bool = False,
    allow_untie: bool = False,
    tensors_only: bool = False,
    progress: Say | None = None,
) -> SaveReport:
    """Write `index`'s checkpoint to `dest` with the plan's names; returns the save report."""
    if training.is_snapshot(index):
        raise SaveRefused(
            f"{index.path} is a paramtui snapshot, whose gradients, flags and optimizer state "
            "are keyed by the same names: renaming only its state dict would split them. Take "
            "the snapshot of the unwrapped model (model.module) instead."
        )
    fmt = output_format(dest, format)
    session = SourceState(stripped_index(index, plan))
    say = progress or (lambda _: None)
    if fmt == "safetensors":
        report = save_file(session, dest, fmt, overwrite=overwrite, allow_untie=allow_untie,
                           tensors_only=tensors_only, progress=say)  # fmt: skip
        return dataclasses.replace(report, notes=[plan.describe(), *report.notes])
    return _save_torch(index, plan, session, dest, overwrite, say)


def _save_torch(
    index: CheckpointIndex,
    plan: StripPlan,
    session: SourceState,
    dest: str,
    overwrite: bool,
    say: Say,
) -> SaveReport:
    import torch

    from paramtui.io.verify import verified

    start = time.perf_counter()
    obj, devices = _load(index, session, plan)
    result: dict[str, int] = {}

    def check(temp_path: str) -> None:
        say("verifying")
        result["checks"] = verified(session, temp_path, dest, check_devices=True)

    say("writing with torch.save")
    with atomic_output(dest, overwrite=overwrite, check=check) as out:
        with tag_devices(devices):
            torch.save(obj, out)
        out.flush()
        flags = intents.recorded(session)
        if flags:
            append_intents(out, out.name, flags)
        written = os.fstat(out.fileno()).st_size
    notes = [plan.describe()]
    return SaveReport(dest, "torch", "torch.save", written, time.perf_counter() - start, [],
                      True, result.get("checks", 0), notes)  # fmt: skip


def _load(index: CheckpointIndex, session: Any, plan: StripPlan) -> tuple[Any, dict[int, str]]:
    """The renamed object to save and each storage's saved device."""
    way_out = (
        "Save to .safetensors instead (its tensors are copied as they are), or load the file "
        "yourself and re-save its state_dict."
    )
    obj, devices = load_weights_only(index, session, way_out)
    if index.format not in ZIP_FORMATS and index.format != "torch legacy":
        return obj, devices  # already the session's tensors under their new names
    return rename_in_object(obj, plan.renames), devices


def rename_in_object(obj: Any, renames: dict[str, str]) -> Any:
    """`obj` with its dict keys renamed so that its flattened names follow `renames`.

    Each renamed tensor's key is found in its container (a dict key may hold dots: state dict
    keys do); the part cut from it must be the same for the whole container, which is then
    rebuilt by strip_keys. A cut that would cross a nesting level is refused."""
    cuts: dict[str, str] = {}  # container path ("" = obj) -> the prefix cut from its keys
    for old, new in renames.items():
        container, key = locate(obj, old)
        head = old[: len(old) - len(str(key))]
        tail = new[len(head) :]
        if not isinstance(key, str) or not new.startswith(head) or not key.endswith(tail):
            raise SaveRefused(_crossing(old, new))
        cut = key[: len(key) - len(tail)]
        if cuts.setdefault(head, cut) != cut:
            raise SaveRefused(_crossing(old, new))
    for head in sorted(cuts, key=len, reverse=True):  # inner containers first
        if not head:
            obj = strip_keys(obj, cuts[head])
            continue
        parent, key = locate(obj, head[:-1])
        parent[key] = strip_keys(parent[key], cuts[head])
    return obj


def _crossing(old: str, new: str) -> str:
    return (
        f"renaming '{old}' to '{new}' would move it out of the dict that holds it, which "
        "changes the checkpoint's structure; nothing was written. Strip a prefix that lies "
        "inside the state dict's keys (e.g. 'module.')."
    )


def strip_keys(state: Any, prefix: str) -> Any:
    """A copy of the mapping `state` with `prefix` stripped from its keys, in the same order;
    an OrderedDict's `_metadata` (module versions) is renamed alike."""
    out = type(state)() if isinstance(state, OrderedDict) else {}
    for key, value in state.items():
        out[_strip(key, prefix)] = value
    meta = getattr(state, "_metadata", None)
    if isinstance(meta, dict):
        renamed: OrderedDict[str, Any] = OrderedDict()
        for key, value in meta.items():
            new = "" if key == prefix[:-1] else _strip(key, prefix)
            renamed[new] = value  # the wrapper's own "" entry gives way to the inner module's
        out._metadata = renamed  # type: ignore[attr-defined]
    return out


def _strip(key: Any, prefix: str) -> Any:
    if isinstance(key, str) and key.startswith(prefix) and len(key) > len(prefix):
        return key[len(prefix) :]
    return key
