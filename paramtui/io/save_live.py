"""Save a live nn.Module's session: `torch.save(model.state_dict())` plus the freeze record.

Edits of a live model are already in the model, so its state_dict is what is saved (tensors keep
their devices; torch.save copies one storage at a time to the host while writing). The written
file is reopened and every tensor compared with the live one, a bounded block at a time, before
it replaces anything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from paramtui.core.errors import SaveRefused
from paramtui.io.atomic import atomic_output
from paramtui.io.report import SaveReport
from paramtui.io.save_torch import append_intents

if TYPE_CHECKING:
    import torch

    from paramtui.core.state import CheckpointState
BLOCK_ELEMS = 1 << 22
METHOD = "torch.save of the live state_dict"


def save_live(
    session: CheckpointState,
    dest: str,
    fmt: str,
    *,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SaveReport:
    import torch

    from paramtui.core.live import source_of

    source = source_of(session.index)
    assert source is not None
    if fmt != "torch":
        raise SaveRefused(
            "a live nn.Module is saved as a torch state_dict: give the file a .pth or .pt name."
        )
    say = progress or (lambda _: None)
    start = time.perf_counter()
    state = source.model.state_dict()
    checks = [0]

    def check(temp_path: str) -> None:
        say("verifying")
        checks[0] = _verify(state, temp_path)

    say("writing with torch.save")
    with atomic_output(dest, overwrite=overwrite, check=check) as out:
        torch.save(state, out)
        out.flush()
        if session.grad_intents():
            append_intents(out, out.name, session.grad_intents())
        written = os.fstat(out.fileno()).st_size
    session.mark_saved()
    edited = [n for n in session.names() if session.is_edited(n)]
    note = "the model's state_dict (gradients and optimizer state are not in it)"
    seconds = time.perf_counter() - start
    return SaveReport(dest, "torch", METHOD, written, seconds, edited, True, checks[0], [note])


def _verify(state: dict[str, Any], path: str) -> int:
    """Reopen the written file and compare each tensor with the live one; the check count."""
    from paramtui.core.access import forget, open_tensor
    from paramtui.core.open import open_checkpoint

    try:
        index = open_checkpoint(path)
        problems = []
        for name, tensor in state.items():
            got = index.tensors.get(name)
            if got is None:
                problems.append(f"{name}: missing from the written file")
            elif not _same(tensor, open_tensor(got)):
                problems.append(f"{name}: the written values differ from the live ones")
    finally:
        forget(path)
    if problems:
        raise SaveRefused("the written file did not verify: " + "; ".join(problems[:5]))
    return len(state)


def _same(live: torch.Tensor, saved: torch.Tensor) -> bool:
    """Bitwise equality, the live tensor copied to the host one block of rows at a time."""
    import torch

    if live.shape != saved.shape or live.dtype != saved.dtype:
        return False
    a, b = live.detach(), saved
    if a.dim() == 0:
        a, b = a.reshape(1), b.reshape(1)
    per = max(1, BLOCK_ELEMS // max(1, a[0].numel())) if a.shape[0] else 1
    for begin in range(0, a.shape[0], per):
        x = a[begin : begin + per].contiguous().cpu().reshape(-1).view(torch.uint8)
        y = b[begin : begin + per].contiguous().reshape(-1).view(torch.uint8)
        if not torch.equal(x, y):
            return False
    return True
