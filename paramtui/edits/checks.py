"""Which tensors an op may touch, and why not: one reason per refused tensor.

For a target naming one tensor exactly, a reason refuses the whole edit (EditRefused); for a
subtree or glob, the tensor is skipped and listed in the edit record with its reason.
"""

from __future__ import annotations

from paramtui.core.access import unviewable_reason
from paramtui.core.dtypes import dtype_info
from paramtui.core.formats.dcp import SHARDED
from paramtui.core.model import BUFFER, GRADIENT, OPTIMIZER_STATE, TensorInfo
from paramtui.core.storage import has_overlap
from paramtui.edits.ops import Freeze, Op, Prune, Unfreeze, Zero

NO_ZERO_DTYPES = frozenset({"float8_e8m0fnu"})  # a scale format: it has no zero value


def refusal(op: Op, info: TensorInfo, exact: bool, has_bytes: bool = True) -> str | None:
    """Why `op` must not touch `info` (None: it may). `exact`: the target named it alone.

    `has_bytes` is False for tensors whose content already lives in a private copy, so the
    source's readability does not matter."""
    if isinstance(op, (Freeze, Unfreeze)):
        return _grad_refusal(info)
    if isinstance(op, Zero):
        reason = _zero_refusal(info, exact)
    elif isinstance(op, Prune):
        reason = _prune_refusal(op, info, exact)
    else:
        reason = None
    if reason is None and has_overlap(info):
        reason = "it is an expanded view (stride 0): one stored value stands for many elements"
    if reason is None and has_bytes:
        reason = bytes_refusal(info)
    return reason


def _grad_refusal(info: TensorInfo) -> str | None:
    common = _role_refusal(info, "requires_grad applies to parameters only")
    if common is not None:
        return common
    if dtype_info(info.dtype).kind not in ("float", "complex"):
        return f"{info.dtype} tensors cannot require gradients"
    return None


def _zero_refusal(info: TensorInfo, exact: bool) -> str | None:
    if _is_counter(info):
        return "num_batches_tracked is a step counter, not a weight"
    if info.role == OPTIMIZER_STATE:
        return "it is optimizer state; zeroing it would corrupt the optimizer, not the model"
    if info.role == GRADIENT:
        return "it is a recorded gradient, not a weight"
    if not exact and info.role == BUFFER:
        return "it is a buffer, not a parameter (name it exactly to zero it)"
    return _dtype_refusal(info, complex_ok=True)


def _prune_refusal(op: Prune, info: TensorInfo, exact: bool) -> str | None:
    reason = _role_refusal(info, "magnitude pruning applies to parameters only")
    if reason is None and not exact and len(info.shape) < 2:
        reason = (
            "it is 1-D (a bias or norm scale): pruning a module or pattern prunes weight "
            "tensors of 2 or more dims; name it exactly to prune it"
        )
    if reason is None:
        reason = _dtype_refusal(info, complex_ok=False)
    if reason is None and info.numel == 0:
        reason = "it has no elements"
    if reason is None and op.structured_dim is not None:
        reason = _structured_refusal(op.structured_dim, info)
    return reason


def _structured_refusal(dim: int, info: TensorInfo) -> str | None:
    ndim = len(info.shape)
    if ndim < 2:
        return f"structured pruning needs a tensor of 2 or more dims; it has shape {info.shape}"
    if not -ndim <= dim < ndim:
        return f"it has no dim {dim} (shape {info.shape}); use a dim in {-ndim}..{ndim - 1}"
    return None


def _role_refusal(info: TensorInfo, what: str) -> str | None:
    if _is_counter(info):
        return "num_batches_tracked is a step counter, not a weight"
    if info.role == OPTIMIZER_STATE:
        return f"it is optimizer state; {what}"
    if info.role == GRADIENT:
        return f"it is a recorded gradient; {what}"
    if info.role == BUFFER:
        return f"it is a buffer; {what}"
    return None


def _dtype_refusal(info: TensorInfo, complex_ok: bool) -> str | None:
    kind = dtype_info(info.dtype).kind
    if kind in ("int", "uint", "bool"):
        return f"it holds {info.dtype} values (indices, counts or flags), not weights"
    if kind == "complex" and not complex_ok:
        return "complex tensors have no ordering by magnitude that torch's pruning uses"
    if kind not in ("float", "complex"):
        return f"its dtype {info.dtype} cannot be edited"
    if info.dtype in NO_ZERO_DTYPES:
        return f"{info.dtype} has no zero value"
    return None


def bytes_refusal(info: TensorInfo) -> str | None:
    if info.layout == SHARDED:  # assembled from its saved chunks when edited
        return None
    reason = unviewable_reason(info)
    return None if reason is None else f"its bytes cannot be edited: {reason}"


def _is_counter(info: TensorInfo) -> bool:
    return info.name.rpartition(".")[2] == "num_batches_tracked"
