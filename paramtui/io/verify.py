"""After writing: reopen the output and check every tensor against the session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paramtui.core.open import open_checkpoint

if TYPE_CHECKING:
    import torch

    from paramtui.edits.session import EditSession

BLOCK_ELEMS = 4 << 20


def verify(session: EditSession, dest: str, check_devices: bool) -> tuple[int, list[str]]:
    """(tensors checked, problems). Edited tensors must hold the session's values, all others
    the source's bytes, bit for bit (NaN payloads and -0.0 included)."""
    from paramtui.core.access import open_tensor, release_pages

    out = open_checkpoint(dest)
    problems: list[str] = []
    names = session.names()
    for name in names:
        want, got = session.info(name), out.tensors.get(name)
        if got is None:
            problems.append(f"{name} is missing from the output")
            continue
        if (got.shape, got.dtype) != (want.shape, want.dtype):
            problems.append(
                f"{name}: {got.dtype}{list(got.shape)} written, "
                f"{want.dtype}{list(want.shape)} expected"
            )
            continue
        if check_devices and want.device and got.device != want.device:
            problems.append(f"{name}: device recorded as {got.device}, not {want.device}")
        if not same_bytes(session.tensor(name), open_tensor(got)):
            problems.append(f"{name}: the written values differ")
        release_pages(got)
    extra = set(out.tensors) - set(names)
    if extra:
        problems.append(f"unexpected tensors in the output: {', '.join(sorted(extra)[:5])}")
    for name, wanted in session.grad_intents().items():
        got_info = out.tensors.get(name)
        if got_info is not None and got_info.requires_grad is not wanted:
            problems.append(f"{name}: requires_grad={wanted} was not recorded")
    return len(names) - len([p for p in problems if "missing" in p]), problems


def same_bytes(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bitwise equality of two same-shaped tensors, a bounded block at a time."""
    import torch

    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dim() == 0:
        a, b = a.reshape(1), b.reshape(1)
    per = max(1, BLOCK_ELEMS // max(1, a[0].numel())) if a.shape[0] else 1
    for start in range(0, a.shape[0], per):
        x = a[start : start + per].contiguous().reshape(-1).view(torch.uint8)
        y = b[start : start + per].contiguous().reshape(-1).view(torch.uint8)
        if not torch.equal(x, y):
            return False
    return True
