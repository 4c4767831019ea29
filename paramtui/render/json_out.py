"""JSON faces of the CLI's results. Every document carries a top-level "schema" version."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from paramtui.analysis.summary import Summary
from paramtui.core.model import CheckpointIndex, TensorInfo

if TYPE_CHECKING:
    from paramtui.core.state import CheckpointState
    from paramtui.edits.effects import EditRecord
    from paramtui.edits.session import EditSession
    from paramtui.io.report import SaveReport
    from paramtui.render.edit_text import Overall

SUMMARY_SCHEMA = "paramtui.summary/2"  # 2: roots; parameter_numel is the primary model's
LS_SCHEMA = "paramtui.ls/1"
ERROR_SCHEMA = "paramtui.error/1"
EDIT_SCHEMA = "paramtui.edit/2"  # 2: one save report shape (files, index_file, replaced_source)
CONVERT_SCHEMA = "paramtui.convert/2"


def summary_json(summary: Summary) -> dict[str, Any]:
    return {"schema": SUMMARY_SCHEMA, **summary.to_dict()}


def ls_json(index: CheckpointIndex) -> dict[str, Any]:
    groups = index.storage_groups()
    return {
        "schema": LS_SCHEMA,
        "path": index.path,
        "format": index.format,
        "tensors": [tensor_json(t, groups[t.storage_id]) for t in index],
    }


def tensor_json(info: TensorInfo, storage_group: list[str]) -> dict[str, Any]:
    """One tensor; `storage_group` is every name sharing its storage (itself included)."""
    return {
        "name": info.name,
        "shape": list(info.shape),
        "dtype": info.dtype,
        "device": info.device,
        "nbytes": info.nbytes,
        "numel": info.numel,
        "stride": list(info.stride),
        "storage_offset": info.storage_offset,
        "contiguous": info.is_contiguous,
        "storage": info.storage_id,
        "shared_with": [n for n in storage_group if n != info.name],
        "role": info.role,
        "role_recorded": info.role_recorded,
        "requires_grad": info.requires_grad,
        "has_grad": info.has_grad,
        "file": info.location.path if info.location is not None else None,
    }


def error_json(message: str, exit_code: int) -> dict[str, Any]:
    return {"schema": ERROR_SCHEMA, "error": message, "exit_code": exit_code}


def write_json(document: dict[str, Any], out: IO[str]) -> None:
    """ASCII-only JSON (safe in any terminal or locale), newline-terminated. A top-level list of
    objects ("tensors") is written one object per line: readable, greppable, and fast (json's
    C encoder only runs without indent)."""
    items = document.get("tensors")
    if not isinstance(items, list) or not items:
        json.dump(document, out, indent=2)
        out.write("\n")
        return
    rest = {k: v for k, v in document.items() if k != "tensors"}
    out.write(json.dumps(rest, indent=2)[:-2] + ",\n" if rest else "{\n")
    out.write('  "tensors": [\n')
    last = len(items) - 1
    for i, item in enumerate(items):
        out.write("    " + json.dumps(item) + (",\n" if i < last else "\n"))
    out.write("  ]\n}\n")


def edit_json(
    source: str,
    dest: str | None,
    session: EditSession,
    records: Sequence[EditRecord],
    overall: Overall,
    report: SaveReport | None,
    dry_run: bool,
) -> dict[str, Any]:
    """`paramtui edit --json`: every edit with its per-tensor effects and skipped names, the
    overall change, the requires_grad intents recorded, and the save report (None: dry run)."""
    return {
        "schema": EDIT_SCHEMA,
        "source": source,
        "source_format": session.index.format,
        "dest": dest,
        "dry_run": dry_run,
        "edits": [_finite(r.to_dict()) for r in records],
        "overall": overall.to_dict(),
        "requires_grad": session.grad_intents(),
        "save": None if report is None else report.to_dict(),
    }


def convert_json(source: str, state: CheckpointState, report: SaveReport) -> dict[str, Any]:
    return {
        "schema": CONVERT_SCHEMA,
        "source": source,
        "source_format": state.index.format,
        "num_tensors": len(state.names()),
        "save": report.to_dict(),
    }


def _finite(value: Any) -> Any:
    """Strict JSON has no Infinity/NaN: such floats (an L-inf norm) become "inf", "-inf", "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
