"""Edits as data: small frozen dataclasses that an EditSession applies, undoes and redoes.

An op only names what to do; `EditSession` decides which tensors it reaches (`core.select`)
and which of them it may touch (`edits.checks`). Invalid parameters are refused when the op is
built, so an op that exists is always meaningful.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from paramtui.core.errors import EditRefused

Scope = Literal["tensor", "global"]


@dataclass(frozen=True)
class Freeze:
    """Record the intent requires_grad=False for the parameters under `target`."""

    target: str

    def describe(self) -> str:
        return "freeze"


@dataclass(frozen=True)
class Unfreeze:
    """Record the intent requires_grad=True for the parameters under `target`."""

    target: str

    def describe(self) -> str:
        return "unfreeze"


@dataclass(frozen=True)
class Zero:
    """Set every element to zero: the named tensor, or the parameters of a subtree or glob."""

    target: str

    def describe(self) -> str:
        return "zero"


@dataclass(frozen=True)
class Prune:
    """Magnitude pruning with torch.nn.utils.prune's semantics.

    Exactly one of `amount` (the fraction of elements, or of slices along `structured_dim`, to
    prune: torch's l1_unstructured / ln_structured) or `threshold` (prune |x| < threshold).
    `scope="global"` makes one L1 cut across every selected tensor (global_unstructured).
    """

    target: str
    amount: float | None = None
    threshold: float | None = None
    scope: Scope = "tensor"
    structured_dim: int | None = None
    norm: float = 1.0

    def __post_init__(self) -> None:
        if (self.amount is None) == (self.threshold is None):
            raise EditRefused(
                "prune needs exactly one of an amount (a fraction of elements, 0..1) or a "
                "threshold (prune |x| < threshold)."
            )
        if self.amount is not None:
            _check_amount(self.amount)
        if self.threshold is not None:
            _check_threshold(self.threshold)
        if self.scope not in ("tensor", "global"):
            raise EditRefused(f"prune scope must be 'tensor' or 'global', not {self.scope!r}.")
        if self.structured_dim is not None:
            self._check_structured()

    def _check_structured(self) -> None:
        if isinstance(self.structured_dim, bool) or not isinstance(self.structured_dim, int):
            raise EditRefused(f"structured_dim must be an integer, not {self.structured_dim!r}.")
        if self.amount is None:
            raise EditRefused(
                "structured pruning removes the rows/channels with the smallest norm and needs "
                "an amount (a fraction of slices), not a threshold."
            )
        if self.scope == "global":
            raise EditRefused(
                "global pruning is unstructured (as torch's global_unstructured); drop either "
                "the global scope or the structured dimension."
            )
        if not (self.norm > 0 or math.isinf(self.norm)):
            raise EditRefused(f"the norm for structured pruning must be positive, not {self.norm}.")

    @property
    def fraction(self) -> float:
        """The amount as a float (torch reads an int amount as a count, never do that)."""
        assert self.amount is not None
        return float(self.amount)

    def describe(self) -> str:
        if self.threshold is not None:
            return f"prune |x| < {self.threshold:g}"
        pct = f"{self.fraction * 100:g}%"
        if self.structured_dim is not None:
            return f"prune {pct} (L{_norm_label(self.norm)} structured, dim {self.structured_dim})"
        return f"prune {pct} (L1, {'global' if self.scope == 'global' else 'per tensor'})"


@dataclass(frozen=True)
class MakePrunePermanent:
    """For each "<x>_orig" + "<x>_mask" pair under `target`: "<x>" = orig * mask, pair removed."""

    target: str

    def describe(self) -> str:
        return "make prune permanent"


Op = Freeze | Unfreeze | Zero | Prune | MakePrunePermanent
CONTENT_OPS = (Zero, Prune, MakePrunePermanent)


def _check_amount(amount: float) -> None:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        raise EditRefused(f"the prune amount must be a number between 0 and 1, not {amount!r}.")
    if not 0.0 <= amount <= 1.0:
        raise EditRefused(
            f"the prune amount is a fraction of the elements and must lie in [0, 1]; got {amount}."
        )


def _check_threshold(threshold: float) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise EditRefused(f"the prune threshold must be a number, not {threshold!r}.")
    if math.isnan(threshold) or threshold < 0:
        raise EditRefused(
            f"the prune threshold must be a non-negative number (prune |x| < t); got {threshold}."
        )


def _norm_label(norm: float) -> str:
    return "inf" if math.isinf(norm) else f"{norm:g}"
