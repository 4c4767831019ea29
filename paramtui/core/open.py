"""The one entry point for reading a checkpoint's index."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator

from paramtui.core.formats.detect import open_path
from paramtui.core.model import CheckpointIndex


def open_checkpoint(path: str | os.PathLike[str]) -> CheckpointIndex:
    """Index a checkpoint (file or Hugging Face folder) without reading tensor bytes.

    Pickles are read by a restricted unpickler that never imports or runs anything the file
    names: unknown classes and functions become inert placeholders.
    """
    with _collector_paused():
        return open_path(os.fspath(path))


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """An index is tens of thousands of new objects that all stay alive; the cycle collector
    would keep walking them while they are made (a quarter of the time on a 50,000-tensor
    header). Reference counting still frees everything meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
