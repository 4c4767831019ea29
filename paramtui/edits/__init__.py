"""Edits of a checkpoint as data (ops) applied by an EditSession with undo/redo.

Importing this package does not import torch; its functions import torch when they run.
"""

from __future__ import annotations

from paramtui.core.errors import EditRefused
from paramtui.core.select import resolve, select
from paramtui.edits.effects import EditRecord, TensorEffect
from paramtui.edits.ops import (
    Freeze,
    MakePrunePermanent,
    Op,
    Prune,
    Unfreeze,
    Zero,
)
from paramtui.edits.session import EditSession

__all__ = [
    "EditRecord",
    "EditRefused",
    "EditSession",
    "Freeze",
    "MakePrunePermanent",
    "Op",
    "Prune",
    "TensorEffect",
    "Unfreeze",
    "Zero",
    "resolve",
    "select",
]
