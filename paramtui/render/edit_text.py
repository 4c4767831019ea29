"""Plain-text faces of `paramtui edit` / `convert`: the edit log with per-tensor effects, the
overall change, and the save report with its verification. Names pass through safe_text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paramtui.render.format import human_bytes, safe_text

if TYPE_CHECKING:
    from paramtui.edits.effects import EditRecord, TensorEffect
    from paramtui.io.report import SaveReport

INDENT = "    "


@dataclass(frozen=True)
class Overall:
    """Every content edit together: distinct tensors touched, element changes (summed over the
    edits), and sparsity over those tensors from the source to the final state."""

    tensors: int
    changed: int
    numel: int
    sparsity_before: float | None
    sparsity_after: float | None
    grad_intents: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def overall(records: Sequence[EditRecord], grad_intents: int = 0) -> Overall:
    first: dict[str, TensorEffect] = {}
    last: dict[str, TensorEffect] = {}
    for record in records:
        for e in record.effects:
            if e.tied_to or e.sparsity_before is None:
                continue
            first.setdefault(e.name, e)
            last[e.name] = e
    numel = sum(e.numel for e in last.values())
    return Overall(
        tensors=len(last),
        changed=sum(r.total_changed for r in records),
        numel=numel,
        sparsity_before=_weighted(first.values(), before=True),
        sparsity_after=_weighted(last.values(), before=False),
        grad_intents=grad_intents,
    )


def _weighted(effects: Iterable[TensorEffect], before: bool) -> float | None:
    zeros, total = 0.0, 0
    for e in effects:
        value = e.sparsity_before if before else e.sparsity_after
        if value is None:
            continue
        zeros += value * e.numel
        total += e.numel
    return zeros / total if total else None


def edit_lines(records: Sequence[EditRecord]) -> Iterator[str]:
    """The edit log: one numbered line per edit, then one line per tensor it touched/skipped."""
    for number, record in enumerate(records, 1):
        yield f"{number}. {safe_text(record.summary)}"
        width = max((len(safe_text(e.name)) for e in record.effects), default=0)
        for effect in record.effects:
            yield INDENT + effect_line(effect, width)
        yield from skipped_lines(record.skipped)


def skipped_lines(skipped: Sequence[tuple[str, str]]) -> Iterator[str]:
    """Skipped tensors, grouped by reason (a module often skips many for the same one)."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in skipped:
        by_reason.setdefault(reason, []).append(safe_text(name))
    for reason, names in by_reason.items():
        if len(names) == 1:
            yield f"{INDENT}skipped {names[0]}: {safe_text(reason)}"
        else:
            yield f"{INDENT}skipped {len(names)} tensors: {safe_text(reason)}"
            yield f"{INDENT * 2}{', '.join(names)}"


def effect_line(e: TensorEffect, width: int = 0) -> str:
    name = safe_text(e.name).ljust(width)
    if e.tied_to:
        return f"{name}  shares storage with {safe_text(e.tied_to)} (same change)"
    parts = []
    if e.sparsity_before is not None and e.sparsity_after is not None:
        parts.append(f"{e.changed:>12,} changed")
        parts.append(f"sparsity {percent(e.sparsity_before)} -> {percent(e.sparsity_after)}")
    if e.note:
        parts.append(safe_text(e.note))
    return f"{name}  " + "  ".join(parts)


def overall_line(total: Overall) -> str:
    text = f"overall: {total.tensors} tensor" + ("" if total.tensors == 1 else "s")
    text += f" changed, {total.changed:,} element changes"
    if total.sparsity_before is not None and total.sparsity_after is not None:
        before, after = percent(total.sparsity_before), percent(total.sparsity_after)
        text += f", sparsity {before} -> {after} over their {total.numel:,} elements"
    if total.grad_intents:
        text += f"; requires_grad recorded for {total.grad_intents} tensor(s)"
    return text


def save_lines(report: SaveReport) -> Iterator[str]:
    size = human_bytes(report.bytes_written)
    how = f"{report.format}, {report.method}, {size}"
    yield f"saved {safe_text(report.path)} ({how}) in {report.seconds:.2f} s"
    yield verification_line(report)
    for note in report.notes:
        yield f"note: {safe_text(note)}"


def verification_line(report: SaveReport) -> str:
    if not report.verified:
        return (
            f"NOT verified: the output does not match what was saved ({report.checks} tensors "
            "checked); see the notes"
        )
    edited = len(report.edited)
    if edited == 0:
        return f"verified: {report.checks} tensors, all bit-identical to the source"
    return f"verified: {report.checks} tensors, edited ones match, others bit-identical"


def percent(value: float) -> str:
    """Sparsity as a percentage: one decimal, but never rounds a non-zero to 0.0% or 100.0%."""
    text = f"{value:.1%}"
    if text == "0.0%" and value > 0:
        return "<0.1%"
    if text == "100.0%" and value < 1:
        return ">99.9%"
    return text


def shard_lines(report: SaveReport) -> Iterator[str]:
    """For a sharded save: the shard files and the index (nothing for a single file)."""
    files = report.files
    if not files:
        return
    yield (
        f"{len(files)} shard(s): {safe_text(files[0])} ... {safe_text(files[-1])}"
        if len(files) > 2
        else f"shards: {', '.join(safe_text(f) for f in files)}"
    )
    yield f"index: {safe_text(report.index_file)}"
