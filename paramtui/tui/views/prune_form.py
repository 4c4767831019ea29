"""The prune dialog's form as data: which scopes a node offers, text -> Prune, preview tables.

Pure functions (no widgets): the dialog reads its fields into a PruneForm, calls build_op and
renders the session's preview with preview_renderable. Building a Prune validates it (the op
refuses meaningless parameters with EditRefused), so an invalid form says why in its words."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from paramtui.core.tree import ModuleNode
from paramtui.tui.views import fmt

if TYPE_CHECKING:
    from paramtui.edits.effects import EditRecord
    from paramtui.edits.ops import Prune

Mode = Literal["amount", "threshold"]
PREVIEW_ROWS = 6  # tensors listed in the preview; the rest are summed up in one line


@dataclass(frozen=True)
class ScopeChoice:
    """One scope the dialog offers: what it prunes (`target`) and how (`scope`)."""

    key: str  # "tensor", "each", "global"
    label: str
    target: str
    scope: Literal["tensor", "global"]


@dataclass(frozen=True)
class PruneForm:
    mode: Mode
    value: str
    scope: ScopeChoice
    structured: bool = False
    dim: str = "0"
    norm: str = "1"


class FormError(ValueError):
    """The form cannot make an op; the message says what to type instead."""


def scope_choices(node: ModuleNode) -> list[ScopeChoice]:
    """A tensor: itself, then its parent module per tensor / globally; a module: its subtree."""
    choices: list[ScopeChoice] = []
    module = node.path
    if node.tensor is not None:
        choices.append(ScopeChoice("tensor", "this tensor", node.path, "tensor"))
        if node.is_leaf:
            module = node.path.rpartition(".")[0]
    where = f"'{fmt.printable(module)}'" if module else "the whole checkpoint"
    choices.append(ScopeChoice("each", f"each tensor in {where} on its own", module, "tensor"))
    choices.append(ScopeChoice("global", f"one global cut across {where}", module, "global"))
    return choices


def parse_amount(text: str) -> float:
    """'30%' or '0.3' -> 0.3."""
    text = text.strip()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise FormError(f"{text!r} is not a fraction: type 30% or 0.3.") from None
    if not math.isfinite(value):
        raise FormError("the fraction must be a finite number between 0 and 1 (or 0%..100%).")
    return value


def parse_number(text: str, what: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise FormError(f"{text.strip()!r} is not a number for the {what}.") from None


def parse_dim(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise FormError(
            f"{text.strip()!r} is not a dimension: type 0 for rows, 1 for columns."
        ) from None


def build_op(form: PruneForm) -> Prune:
    """The Prune the form describes; FormError or EditRefused when it describes none."""
    from paramtui.edits.ops import Prune

    if not form.value.strip():
        raise FormError("type a fraction (30% or 0.3) or switch to a threshold.")
    amount = parse_amount(form.value) if form.mode == "amount" else None
    threshold = parse_number(form.value, "threshold") if form.mode == "threshold" else None
    dim = parse_dim(form.dim) if form.structured else None
    norm = parse_number(form.norm, "norm") if form.structured else 1.0
    return Prune(
        form.scope.target,
        amount=amount,
        threshold=threshold,
        scope=form.scope.scope,
        structured_dim=dim,
        norm=norm,
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def preview_table(record: EditRecord, rows: int = PREVIEW_ROWS) -> Table:
    """Per tensor: elements, elements zeroed, sparsity before -> after."""
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold", expand=True)
    # Only the name gives way on a narrow screen: the numbers and the sparsity stay whole.
    table.add_column("tensor", overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("elements", justify="right", no_wrap=True)
    table.add_column("zeroed", justify="right", no_wrap=True)
    table.add_column("sparsity", justify="right", no_wrap=True)
    for effect in record.effects[:rows]:
        name = Text(fmt.printable(effect.name))
        if effect.tied_to:  # its storage is counted in its partner's row
            name.append(f" = {fmt.printable(effect.tied_to)}", style="dim")
        table.add_row(
            name,
            fmt.count(effect.numel),
            "tied" if effect.tied_to else fmt.grouped(effect.changed),
            f"{_pct(effect.sparsity_before)} → {_pct(effect.sparsity_after)}",
        )
    hidden = len(record.effects) - rows
    if hidden > 0:
        table.add_row(Text(f"… {hidden} more tensors", style="dim"), "", "", "")
    return table


def overall_text(record: EditRecord) -> Text:
    tensors = sum(1 for e in record.effects if not e.tied_to)
    text = Text("overall ", style="bold")
    text.append(f"{_pct(record.sparsity_before)} → {_pct(record.sparsity_after)}", style="bold")
    text.append(f"   {fmt.grouped(record.total_changed)} elements zeroed in {tensors} tensor")
    text.append("" if tensors == 1 else "s")
    if record.skipped:
        name, reason = record.skipped[0]
        text.append(
            f"\n{len(record.skipped)} skipped, e.g. {fmt.printable(name)}: {reason}", style="italic"
        )
    return text


def preview_renderable(record: EditRecord) -> RenderableType:
    return Group(preview_table(record), overall_text(record))


def scope_size(record: EditRecord) -> tuple[int, int]:
    """(tensors, elements) an edit reaches, tied partners counted once."""
    effects = [e for e in record.effects if not e.tied_to]
    return len(effects), sum(e.numel for e in effects)
