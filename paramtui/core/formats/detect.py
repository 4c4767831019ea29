"""Pick the reader for a path by its content, not its extension: the first format of
paramtui.core.formats.registry whose sniff recognises it."""

from __future__ import annotations

import os

from paramtui.core.errors import UnusableInput
from paramtui.core.formats.registry import FORMATS, Probe
from paramtui.core.model import CheckpointIndex


def open_path(path: str) -> CheckpointIndex:
    if not os.path.exists(path):
        raise UnusableInput(f"{path} does not exist. Check the path and try again.")
    if os.path.basename(path) == ".metadata":  # pointed at a DCP folder's metadata file
        return open_path(os.path.dirname(path) or ".")
    probe = Probe(path, reopen=open_path)
    for fmt in FORMATS:
        if fmt.sniff(probe):
            return fmt.open(probe)
    if probe.size == 0:
        raise UnusableInput(f"{path} is empty (0 bytes); it holds no checkpoint.")
    raise UnusableInput(
        f"{path} is not a checkpoint paramtui can read: it is neither a PyTorch file "
        "(torch.save zip or legacy pickle, TorchScript, torch.export .pt2), a safetensors or "
        "GGUF file, nor a Hugging Face or torch.distributed.checkpoint folder. "
        "See `paramtui --help` for the supported formats."
    )
