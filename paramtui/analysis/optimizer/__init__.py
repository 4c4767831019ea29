"""Optimizer state mapped to parameter names, and what it says about one parameter.

    from paramtui.analysis.optimizer import map_optimizers, optimizer_summary

Torch-free to import: every name here reads the index; tensors are read on use.
"""

from paramtui.analysis.optimizer.entries import OptimizerMap, OptimizerParam
from paramtui.analysis.optimizer.map import (
    find_param,
    map_optimizer,
    map_optimizers,
    optimizer_summary,
)
from paramtui.analysis.optimizer.step import OptimizerSummary, StepSizeSummary

__all__ = [
    "OptimizerMap",
    "OptimizerParam",
    "OptimizerSummary",
    "StepSizeSummary",
    "find_param",
    "map_optimizer",
    "map_optimizers",
    "optimizer_summary",
]
