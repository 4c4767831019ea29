"""Guessing what a tensor is from its name and dtype, when the file does not record it."""

from __future__ import annotations

from paramtui.core.dtypes import dtype_info
from paramtui.core.model import BUFFER, OPTIMIZER_STATE, OTHER, PARAMETER

_BUFFER_LEAVES = {"running_mean", "running_var", "num_batches_tracked", "inv_freq", "position_ids"}
_OPTIMIZER_ROOTS = {
    "optimizer",
    "optimizers",
    "optimizer_states",
    "optim",
    "optimizer_state_dict",
    "optimizer_state",
}
_LEARNABLE_KINDS = {"float", "complex", "quantized"}


def infer_role(name: str, dtype: str | None = None) -> str:
    """A best guess; callers mark it as inferred (TensorInfo.role_recorded stays False)."""
    first, _, rest = name.partition(".")
    if first in _OPTIMIZER_ROOTS or rest.partition(".")[0] in _OPTIMIZER_ROOTS:
        return OPTIMIZER_STATE
    leaf = name.rpartition(".")[2]
    if leaf in _BUFFER_LEAVES or leaf.endswith("_mask"):
        return BUFFER
    if dtype is not None and dtype_info(dtype).kind not in _LEARNABLE_KINDS:
        return BUFFER if rest else OTHER
    if not rest and leaf not in {"weight", "bias"}:
        return OTHER
    return PARAMETER
