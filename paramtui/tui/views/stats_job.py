"""One tensor's statistics to compute, as the workers receive it (data only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paramtui.core.model import TensorInfo


@dataclass(frozen=True)
class StatsJob:
    """One tensor's statistics to compute: `tensor` is its edited value (None: the file's)."""

    info: TensorInfo
    version: int
    tensor: Any = None  # torch.Tensor; typed loosely so this module does not import torch
    bins: int = 64  # histogram bins (the detail pane's sparkline; the histogram view asks more)
