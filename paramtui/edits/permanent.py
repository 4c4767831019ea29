"""MakePrunePermanent: turn torch.nn.utils.prune's "<x>_orig" + "<x>_mask" into "<x>".

This is what `prune.remove` does on a live module: `<x> = <x>_orig * <x>_mask` in orig's
dtype and shape; both entries leave the state dict, and "<x>" takes orig's place in the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from paramtui.core import storage
from paramtui.core.dtypes import dtype_info
from paramtui.core.errors import EditRefused
from paramtui.core.model import PARAMETER, TensorInfo
from paramtui.core.select import select
from paramtui.edits.change import Change, Outcome, SessionState
from paramtui.edits.checks import bytes_refusal
from paramtui.edits.effects import TensorEffect
from paramtui.edits.ops import MakePrunePermanent

if TYPE_CHECKING:
    import torch

ORIG, MASK = "_orig", "_mask"
NEW_STORAGE = "paramtui-new:"  # storage ids of tensors an edit creates


def execute_permanent(state: SessionState, op: MakePrunePermanent) -> Outcome:
    selection = select(state.names(), op.target, state.where)
    names = state.names()
    bases = pruned_bases(selection.names, set(names))
    if not bases:
        raise EditRefused(
            f"'{selection.label}' holds no pruned tensors: make-permanent needs a pair "
            "'<x>_orig' + '<x>_mask', as torch.nn.utils.prune leaves in a state_dict."
        )
    change = Change()
    effects: list[TensorEffect] = []
    skipped: list[tuple[str, str]] = []
    order = list(names)
    for base in bases:
        reason = _refusal(state, base, set(names))
        if reason is not None:
            if selection.exact or len(bases) == 1:
                raise EditRefused(f"cannot make the pruning of '{base}' permanent: {reason}.")
            skipped.append((base + ORIG, reason))
            continue
        effects.append(_combine(state, base, change))
        order[order.index(base + ORIG)] = base
        order.remove(base + MASK)
    if not effects:
        reasons = "; ".join(f"'{name}': {reason}" for name, reason in skipped[:3])
        raise EditRefused(f"no pruning under '{selection.label}' can be made permanent: {reasons}.")
    change.names = tuple(order)
    return Outcome(change, effects, skipped, selection.label)


def pruned_bases(selected: Sequence[str], present: set[str]) -> list[str]:
    """ "<x>" for each selected name that is half of a present "<x>_orig" + "<x>_mask" pair."""
    bases: dict[str, None] = {}
    for name in selected:
        for suffix in (ORIG, MASK):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and base + ORIG in present and base + MASK in present:
                bases[base] = None
    return list(bases)


def _refusal(state: SessionState, base: str, present: set[str]) -> str | None:
    if base in present:
        return f"'{base}' already exists beside '{base}{ORIG}' and '{base}{MASK}'"
    orig, mask = state.info(base + ORIG), state.info(base + MASK)
    if orig.shape != mask.shape:
        return f"the mask's shape {mask.shape} differs from the weight's {orig.shape}"
    if dtype_info(orig.dtype).kind not in ("float", "complex"):
        return f"'{orig.name}' holds {orig.dtype} values, not weights"
    for info in (orig, mask):
        reason = bytes_refusal(info) if _pristine(state, info) else None
        if reason is not None:
            return f"'{info.name}': {reason}"
    return None


def _pristine(state: SessionState, info: TensorInfo) -> bool:
    return state.copy_of(info.storage_id) is None


def _combine(state: SessionState, base: str, change: Change) -> TensorEffect:
    orig_info = state.info(base + ORIG)
    orig = state.tensor(orig_info.name)
    product = _product(orig, state.tensor(base + MASK))
    info = TensorInfo(
        name=base,
        shape=orig_info.shape,
        dtype=orig_info.dtype,
        device=orig_info.device,
        stride=storage.contiguous_stride(orig_info.shape),
        storage_offset=0,
        storage_id=NEW_STORAGE + base,
        location=None,
        role=PARAMETER,
        requires_grad=state.requires_grad(orig_info.name),
    )
    change.copies[info.storage_id] = storage.to_bytes(product)
    change.new_infos[base] = info
    return TensorEffect(
        base,
        storage.count_changed(orig, product),
        storage.sparsity(orig),
        storage.sparsity(product),
        f"= {base}{ORIG} * {base}{MASK}; both removed",
        info.numel,
    )


def _product(orig: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """orig * mask in orig's dtype, as prune.remove computes it (fp8 through float32)."""
    if orig.is_floating_point() and orig.dtype.itemsize == 1:
        return (orig.float() * mask.float()).to(orig.dtype)
    if mask.dtype not in (orig.dtype, _bool()):
        mask = mask.to(orig.dtype)
    return (orig * mask).to(orig.dtype).contiguous()


def _bool() -> torch.dtype:
    import torch

    return torch.bool
