"""Duplicate tensors: identical values stored twice under different names (not tied).

Hashing every tensor would double the scan's reading, so only candidates are hashed: weights
with the same shape and dtype whose order-independent statistics (counts of zeros, NaN, Inf,
exact min and max) agree with another tensor's in a different storage. Those are rare unless
they really are copies. Names that share one storage (tied weights, views) are one unit and are
never duplicates of each other. All-zero and constant tensors are left out: they are trivially
equal to each other and have their own findings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from paramtui.analysis.scan.anomalies import is_degenerate
from paramtui.analysis.scan.context import ScanContext
from paramtui.analysis.scan.findings import WARNING, Finding, Unit, plural
from paramtui.analysis.scan.layers import is_weight_like
from paramtui.analysis.stats.engine import StatsCancelled
from paramtui.core import access
from paramtui.core.model import TensorInfo

DIGEST_SIZE = 16
CHUNK = 1 << 20  # elements


def check(context: ScanContext) -> list[Finding]:
    """The `duplicate` kind (a registered whole-model check): hash the candidates, compare."""
    found: list[Finding] = []
    for group in candidate_groups(context.units):
        hashes = {}
        for unit in group:
            context.say(unit.names[0])
            hashes[unit.names[0]] = content_hash(unit.info, context.should_cancel)
        found.extend(duplicate_findings(group, hashes))
    return found


def candidate_groups(units: Iterable[Unit]) -> list[list[Unit]]:
    """Groups of units that may hold identical values, each spanning 2+ storages."""
    groups: dict[tuple[Any, ...], list[Unit]] = {}
    for unit in units:
        if _eligible(unit):
            groups.setdefault(_signature(unit), []).append(unit)
    return [g for g in groups.values() if len({u.info.storage_id for u in g}) > 1]


def content_hash(info: TensorInfo, should_cancel: Callable[[], bool] | None = None) -> str:
    """blake2b of the tensor's bytes in logical (row-major) order; pages released after."""
    import torch

    digest = hashlib.blake2b(digest_size=DIGEST_SIZE)
    try:
        for chunk in access.iter_chunks(info, CHUNK):
            if should_cancel is not None and should_cancel():
                raise StatsCancelled(info.name)
            digest.update(chunk.view(torch.uint8).numpy().data)
    finally:
        access.release_pages(info)
    return digest.hexdigest()


def duplicate_findings(group: list[Unit], hashes: dict[str, str]) -> list[Finding]:
    """Findings for one candidate group, given the hash of each unit (keyed by first name)."""
    by_digest: dict[str, list[Unit]] = {}
    for unit in group:
        by_digest.setdefault(hashes[unit.names[0]], []).append(unit)
    return [
        _finding(same, digest)
        for digest, same in by_digest.items()
        if len({u.info.storage_id for u in same}) > 1
    ]


def _finding(units: list[Unit], digest: str) -> Finding:
    names = tuple(n for u in units for n in u.names)
    info = units[0].info
    first, others = units[0].names[0], [u.names[0] for u in units[1:]]
    listed = ", ".join(f"'{n}'" for n in others)
    return Finding(
        "duplicate",
        WARNING,
        names,
        f"'{first}' and {listed} hold identical values ({plural(info.numel, 'element')} of "
        f"{info.dtype}) but are stored separately, not tied. If they are meant to be tied "
        f"(an input embedding and an output layer), tie them to keep one copy ({info.nbytes:,} "
        "bytes each); if not, one was probably copied over the other by mistake.",
        {
            "groups": [list(u.names) for u in units],
            "blake2b": digest,
            "nbytes_each": info.nbytes,
        },
    )


def _eligible(unit: Unit) -> bool:
    return (
        is_weight_like(unit.info)
        and unit.info.numel >= 2
        and access.unviewable_reason(unit.info) is None
        and not is_degenerate(unit.stats)
    )


def _signature(unit: Unit) -> tuple[Any, ...]:
    s = unit.stats
    return (
        unit.info.shape,
        unit.info.dtype,
        s.count,
        s.zeros,
        s.nan,
        s.posinf,
        s.neginf,
        s.min,
        s.max,
    )
