"""Guessing what a tensor is from its name, when the file does not say."""

from __future__ import annotations

from paramtui.core.model import BUFFER, OPTIMIZER_STATE, OTHER, PARAMETER

_BUFFER_LEAVES = {"running_mean", "running_var", "num_batches_tracked", "inv_freq", "position_ids"}
_OPTIMIZER_ROOTS = {"optimizer", "optimizers", "optimizer_states", "optim", "optimizer_state_dict"}


def infer_role(name: str) -> tuple[str, bool]:
    """(role, recorded) for a dotted name; recorded is always False here (it is a guess)."""
    parts = name.split(".")
    if (
        any(p in _OPTIMIZER_ROOTS for p in parts[:2])
        or ".state." in f".{name}."
        and "exp_avg" in name
    ):
        return OPTIMIZER_STATE, False
    if parts[-1] in _BUFFER_LEAVES or parts[-1].endswith("_mask"):
        return BUFFER, False
    if parts[-1] in {"weight", "bias"} or parts[-1].endswith(("_weight", "_bias", "_orig")):
        return PARAMETER, False
    return OTHER, False
