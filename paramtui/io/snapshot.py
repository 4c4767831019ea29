"""`paramtui.snapshot(model, path, optimizer)`: one ordinary torch checkpoint holding the
state_dict plus what a state_dict drops — gradients, requires_grad flags, parameter-vs-buffer
roles, optimizer state keyed by parameter name and each tensor's device.

It loads with plain `torch.load(path, weights_only=True)`. Tensors are saved where they live
(torch.save copies one storage at a time to the host while writing), nothing is detached from
the training graph or changed. paramtui recognises the layout (core.training) and shows it in
full.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from paramtui.core.live import optimizer_by_name
from paramtui.core.training import SNAPSHOT_GRADS, SNAPSHOT_KEY, SNAPSHOT_MODEL
from paramtui.io.atomic import atomic_output

if TYPE_CHECKING:
    import torch
    from torch import nn

VERSION = 1


def snapshot(
    model: nn.Module,
    path: str | os.PathLike[str],
    optimizer: torch.optim.Optimizer | None = None,
    *,
    overwrite: bool = False,
) -> str:
    """Write the snapshot atomically to `path` and return the path.

    Refuses to replace an existing file unless `overwrite=True` (SaveRefused)."""
    import torch

    dest = os.fspath(path)
    payload = snapshot_dict(model, optimizer)
    with atomic_output(dest, overwrite=overwrite, check=_check) as f:
        torch.save(payload, f)
    return dest


def snapshot_dict(
    model: nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> dict[str, Any]:
    """The snapshot's content (references to the live tensors, nothing copied)."""
    state = model.state_dict()
    params = dict(model.named_parameters(remove_duplicate=False))
    owned = {*params, *(n for n, _ in model.named_buffers(remove_duplicate=False))}
    out: dict[str, Any] = {
        SNAPSHOT_KEY: VERSION,
        SNAPSHOT_MODEL: state,
        SNAPSHOT_GRADS: {n: p.grad for n, p in params.items() if p.grad is not None},
        "requires_grad": {n: p.requires_grad for n, p in params.items()},
        "roles": {n: "parameter" if n in params else "buffer" for n in state if n in owned},
        "devices": {n: str(t.device) for n, t in state.items() if hasattr(t, "device")},
    }
    if optimizer is not None:
        out["optimizer"] = optimizer_by_name(model, optimizer)
        out["optimizer_class"] = type(optimizer).__name__
    return out


def _check(temp_path: str) -> None:
    """The written file must index as a snapshot before it replaces anything."""
    from paramtui.core.errors import SaveRefused
    from paramtui.core.open import open_checkpoint
    from paramtui.core.training import is_snapshot

    if not is_snapshot(open_checkpoint(temp_path)):
        raise SaveRefused(f"the snapshot written to {temp_path} did not read back; nothing saved.")
