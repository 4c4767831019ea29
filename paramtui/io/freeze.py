"""Apply the trainable/frozen flags a checkpoint records to a live model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from paramtui.core.open import open_checkpoint

if TYPE_CHECKING:
    import os

    from torch import nn


@dataclass(frozen=True)
class FreezeReport:
    frozen: list[str] = field(default_factory=list)  # model parameter names set to False
    unfrozen: list[str] = field(default_factory=list)  # set to True
    unmatched: list[str] = field(default_factory=list)  # checkpoint names with no parameter
    prefix: str = ""  # what was stripped from checkpoint names to match ("model." ...)


def apply_freeze(model: nn.Module, path: str | os.PathLike[str]) -> FreezeReport:
    """Set requires_grad on `model`'s parameters as the checkpoint at `path` records it.

    Checkpoint names are matched to `model.named_parameters()` directly, or after stripping the
    one prefix that matches the most names (e.g. "model." of a training checkpoint, "module." of
    DataParallel). Names that match no parameter are reported, never guessed."""
    index = open_checkpoint(path)
    wanted = {t.name: t.requires_grad for t in index if t.requires_grad is not None}
    params = dict(model.named_parameters())
    prefix = _best_prefix(list(wanted), params)
    frozen: list[str] = []
    unfrozen: list[str] = []
    unmatched: list[str] = []
    for name, flag in wanted.items():
        target = params.get(name[len(prefix) :] if name.startswith(prefix) else name)
        if target is None:
            unmatched.append(name)
            continue
        target.requires_grad_(bool(flag))
        (unfrozen if flag else frozen).append(name[len(prefix) :])
    return FreezeReport(frozen, unfrozen, unmatched, prefix)


def _best_prefix(names: list[str], params: Mapping[str, object]) -> str:
    candidates = {""}
    for name in names:
        parts = name.split(".")
        candidates.update(".".join(parts[:k]) + "." for k in (1, 2) if len(parts) > k)
    return max(
        candidates,
        key=lambda p: (sum(1 for n in names if n.startswith(p) and n[len(p) :] in params), -len(p)),
    )
