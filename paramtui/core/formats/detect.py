"""Pick the reader for a path by its content, not its extension."""

from __future__ import annotations

import os

from paramtui.core.errors import UnusableInput
from paramtui.core.model import CheckpointIndex


def open_path(path: str) -> CheckpointIndex:
    if not os.path.exists(path):
        raise UnusableInput(f"{path} does not exist. Check the path and try again.")
    if os.path.isdir(path):
        from paramtui.core.formats.hf_dir import open_hf_dir

        return open_hf_dir(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise UnusableInput(f"{path} cannot be read: {exc.strerror}.") from None
    return open_file(path, head, size)


def open_file(path: str, head: bytes, size: int) -> CheckpointIndex:
    from paramtui.core.formats import safetensors

    if head.startswith(b"PK\x03\x04"):
        from paramtui.core.formats.torch_zip import open_torch_zip

        return open_torch_zip(path)
    if safetensors.looks_like_safetensors(head):  # before pickles: a header length can start 0x80
        return safetensors.open_safetensors(path)
    if head[:1] == b"\x80":
        from paramtui.core.formats.torch_legacy import open_torch_legacy

        return open_torch_legacy(path)
    if size == 0:
        raise UnusableInput(f"{path} is empty (0 bytes); it holds no checkpoint.")
    raise UnusableInput(
        f"{path} is not a checkpoint paramtui can read: it is neither a PyTorch file "
        "(zip or legacy pickle), a safetensors file nor a Hugging Face model folder. "
        "See `paramtui --help` for the supported formats."
    )
