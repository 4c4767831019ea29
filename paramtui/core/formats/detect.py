"""Pick the reader for a path by its content, not its extension."""

from __future__ import annotations

import os

from paramtui.core.errors import UnusableInput
from paramtui.core.model import CheckpointIndex


def open_path(path: str) -> CheckpointIndex:
    if not os.path.exists(path):
        raise UnusableInput(f"{path} does not exist. Check the path and try again.")
    if os.path.isdir(path):
        return open_dir(path)
    if os.path.basename(path) == ".metadata":  # pointed at a DCP folder's metadata file
        return open_dir(os.path.dirname(path) or ".")
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise UnusableInput(f"{path} cannot be read: {exc.strerror}.") from None
    return open_file(path, head, size)


def open_dir(path: str) -> CheckpointIndex:
    from paramtui.core.formats import dcp

    if dcp.is_dcp_dir(path):
        return dcp.open_dcp(path)
    from paramtui.core.formats.hf_dir import open_hf_dir

    return open_hf_dir(path)


def open_zip(path: str, head: bytes) -> CheckpointIndex:
    from paramtui.core.formats.torch_zip import open_torch_zip

    if not _first_record_name(head).endswith("/data.pkl") and _is_pt2(path):
        from paramtui.core.formats.export_pt2 import open_pt2

        return open_pt2(path)
    index = open_torch_zip(path)
    if index.format == "torchscript":
        from paramtui.core.formats.torchscript import refine_torchscript

        index = refine_torchscript(index)
    return index


def _first_record_name(head: bytes) -> str:
    """The name in the zip's first local header, when `head` holds all of it (torch.save puts
    data.pkl first, so most checkpoints skip the directory read below)."""
    if len(head) < 30:
        return ""
    end = 30 + int.from_bytes(head[26:28], "little")
    return head[30:end].decode("utf-8", "replace") if end <= len(head) else ""


def _is_pt2(path: str) -> bool:
    from paramtui.core.formats.export_pt2 import is_pt2
    from paramtui.core.formats.zipdir import read_records

    try:
        names = [r.name for r in read_records(path)]
    except (OSError, ValueError):
        return False  # the zip reader explains what is damaged
    return is_pt2(names)


def open_file(path: str, head: bytes, size: int) -> CheckpointIndex:
    from paramtui.core.formats import safetensors

    if head.startswith(b"PK\x03\x04"):
        return open_zip(path, head)
    if head.startswith(b"GGUF"):  # 4 magic bytes; a safetensors header this long is refused
        from paramtui.core.formats.gguf import open_gguf

        return open_gguf(path)
    if safetensors.looks_like_safetensors(head):  # before pickles: a header length can start 0x80
        return safetensors.open_safetensors(path)
    if head[:1] == b"\x80":
        from paramtui.core.formats.torch_legacy import open_torch_legacy

        return open_torch_legacy(path)
    if size == 0:
        raise UnusableInput(f"{path} is empty (0 bytes); it holds no checkpoint.")
    raise UnusableInput(
        f"{path} is not a checkpoint paramtui can read: it is neither a PyTorch file "
        "(torch.save zip or legacy pickle, TorchScript, torch.export .pt2), a safetensors or "
        "GGUF file, nor a Hugging Face or torch.distributed.checkpoint folder. "
        "See `paramtui --help` for the supported formats."
    )
