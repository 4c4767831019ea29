"""The faces of a LoadCheck: plain text lines for people, JSON ("paramtui.check_load/1")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from paramtui.analysis.check_load import KeyMismatch, LoadCheck
from paramtui.render.format import format_shape, safe_text

CHECK_LOAD_SCHEMA = "paramtui.check_load/1"
LISTED = 20  # names listed per section before "... and N more"


def check_load_json(result: LoadCheck, model: str) -> dict[str, Any]:
    return {"schema": CHECK_LOAD_SCHEMA, "model": model, **result.to_dict()}


def check_load_lines(result: LoadCheck, model: str) -> Iterator[str]:
    where = f" (tensors under '{result.part}.')" if result.part else ""
    yield safe_text(f"checkpoint: {result.path}{where}, {result.format}")
    yield safe_text(f"model:      {model}")
    yield (
        f"keys: {result.num_model_keys:,} in the model, {result.num_checkpoint_keys:,} in the "
        f"checkpoint, {result.matched:,} in both"
    )
    yield from _section("missing (in the model, not in the checkpoint)", result.missing)
    yield from _section("unexpected (in the checkpoint, not in the model)", result.unexpected)
    yield from _mismatches("shape mismatches (checkpoint -> model)", result.shape_mismatches)
    yield from _mismatches("dtype differences (values are cast on load)", result.dtype_differences,
                           dtypes=True)  # fmt: skip
    for note in result.notes:
        yield safe_text(f"note: {note}")
    yield verdict(result)


def verdict(result: LoadCheck) -> str:
    if result.loads_strict:
        return "verdict: load_state_dict(strict=True) would succeed"
    if result.matches_after_strip:
        return (
            f"verdict: load_state_dict(strict=True) would succeed once '{safe_text(result.prefix)}'"
            " is stripped from the keys; as saved it would fail"
        )
    problems = [
        f"{len(result.missing):,} missing" if result.missing else "",
        f"{len(result.unexpected):,} unexpected" if result.unexpected else "",
        f"{len(result.shape_mismatches):,} shape mismatches" if result.shape_mismatches else "",
    ]
    listed = ", ".join(p for p in problems if p)
    if not result.loads_non_strict:
        strict_false = "strict=False fails too (shapes)"
    elif result.matched:
        strict_false = f"strict=False would load the {result.matched:,} matching keys"
    else:
        strict_false = "strict=False would load nothing"
    return f"verdict: load_state_dict(strict=True) would fail ({listed}); {strict_false}"


def _section(title: str, names: tuple[str, ...]) -> Iterator[str]:
    if not names:
        return
    yield f"{title}: {len(names):,}"
    for name in names[:LISTED]:
        yield "  " + safe_text(name)
    if len(names) > LISTED:
        yield f"  ... and {len(names) - LISTED:,} more (all of them in --json)"


def _mismatches(
    title: str, items: tuple[KeyMismatch, ...], *, dtypes: bool = False
) -> Iterator[str]:
    if not items:
        return
    yield f"{title}: {len(items):,}"
    for item in items[:LISTED]:
        if dtypes:
            change = f"{item.checkpoint_dtype} -> {item.model_dtype}"
        else:
            change = f"{_shape(item.checkpoint_shape)} -> {_shape(item.model_shape)}"
        yield f"  {safe_text(item.key)}: {change}"
    if len(items) > LISTED:
        yield f"  ... and {len(items) - LISTED:,} more (all of them in --json)"


def _shape(shape: tuple[int, ...] | None) -> str:
    return "not a tensor" if shape is None else format_shape(shape)
