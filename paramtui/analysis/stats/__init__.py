"""The statistics engine's front door (torch-free to import; torch arrives on first use).

from paramtui.analysis.stats import compute_stats, tensor_stats, TensorStats
"""

from paramtui.analysis.stats.compute import compute_stats, tensor_stats
from paramtui.analysis.stats.engine import StatsCancelled
from paramtui.analysis.stats.result import TensorStats, unavailable

__all__ = ["StatsCancelled", "TensorStats", "compute_stats", "tensor_stats", "unavailable"]
