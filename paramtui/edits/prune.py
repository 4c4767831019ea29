"""Pruning masks, computed by torch.nn.utils.prune's own methods so the cut is torch's.

Every function takes tensors already converted for computing (`storage.values`: float32 for
fp8/fp16/bf16, else the tensor's own dtype) and returns bool masks of the elements to KEEP.
Memory: each mask needs a few temporaries the size of the tensor (the float copy, |x|, topk's
values and int64 indices, the mask); global pruning concatenates every selected tensor, as
torch's global_unstructured does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from paramtui.edits.ops import Prune

if TYPE_CHECKING:
    import torch


def keep_mask(op: Prune, x: torch.Tensor) -> torch.Tensor:
    """The elements of `x` that survive `op` applied to `x` alone."""
    if op.threshold is not None:
        return threshold_keep(x, op.threshold)
    if op.structured_dim is not None:
        return structured_keep(x, op.fraction, op.norm, op.structured_dim)
    return l1_keep(x, op.fraction)


def threshold_keep(x: torch.Tensor, threshold: float) -> torch.Tensor:
    """Keep |x| >= threshold (NaN is kept: it is not smaller than anything)."""
    return ~(x.abs() < threshold)


def l1_keep(x: torch.Tensor, amount: float) -> torch.Tensor:
    """prune.l1_unstructured: the round(amount * numel) smallest |x| are pruned."""
    import torch
    from torch.nn.utils import prune

    x = x.contiguous()
    method = prune.L1Unstructured(amount=float(amount))
    mask: torch.Tensor = method.compute_mask(  # type: ignore[no-untyped-call]
        x, default_mask=torch.ones_like(x, dtype=torch.bool)
    )
    return mask


def structured_keep(x: torch.Tensor, amount: float, norm: float, dim: int) -> torch.Tensor:
    """prune.ln_structured: the slices along `dim` with the smallest Ln norm are pruned."""
    import torch
    from torch.nn.utils import prune

    x = x.contiguous()
    method = prune.LnStructured(amount=float(amount), n=norm, dim=dim)
    mask: torch.Tensor = method.compute_mask(  # type: ignore[no-untyped-call]
        x, default_mask=torch.ones_like(x)
    )
    return mask != 0


def global_keep(xs: Sequence[torch.Tensor], amount: float) -> list[torch.Tensor]:
    """prune.global_unstructured with L1Unstructured: one cut over all of `xs` concatenated
    in order (torch.nn.utils.parameters_to_vector), split back into one mask per tensor."""
    import torch

    flat = torch.cat([x.reshape(-1) for x in xs])
    mask = l1_keep(flat, amount)
    out: list[torch.Tensor] = []
    start = 0
    for x in xs:
        out.append(mask[start : start + x.numel()].view(x.shape))
        start += x.numel()
    return out
