"""The one entry point for reading a checkpoint's index."""

from __future__ import annotations

import os

from paramtui.core.formats.detect import open_path
from paramtui.core.model import CheckpointIndex


def open_checkpoint(path: str | os.PathLike[str]) -> CheckpointIndex:
    """Index a checkpoint (file or Hugging Face folder) without reading tensor bytes.

    Pickles are read by a restricted unpickler that never imports or runs anything the file
    names: unknown classes and functions become inert placeholders.
    """
    return open_path(os.fspath(path))
