"""paramtui: a terminal instrument for PyTorch model parameters.

Exports are lazy (PEP 562) so `import paramtui` stays fast and imports neither torch nor textual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "open_checkpoint",
    "compute_stats",
    "build_tree",
    "EditSession",
    "Freeze",
    "Unfreeze",
    "Zero",
    "Prune",
    "MakePrunePermanent",
    "save",
    "apply_freeze",
    "snapshot",
    "map_optimizers",
    "scan",
    "check_load",
    "browse",
    "index_from_module",
]

if TYPE_CHECKING:
    from paramtui.analysis.check_load import check_load
    from paramtui.analysis.optimizer.map import map_optimizers
    from paramtui.analysis.scan.run import scan
    from paramtui.analysis.stats.compute import compute_stats
    from paramtui.core.live import index_from_module
    from paramtui.core.open import open_checkpoint
    from paramtui.core.tree import build_tree
    from paramtui.edits.ops import Freeze, MakePrunePermanent, Prune, Unfreeze, Zero
    from paramtui.edits.session import EditSession
    from paramtui.io.freeze import apply_freeze
    from paramtui.io.save import save
    from paramtui.io.snapshot import snapshot
    from paramtui.tui.live import browse

_EXPORTS = {
    "open_checkpoint": "paramtui.core.open",
    "compute_stats": "paramtui.analysis.stats.compute",
    "build_tree": "paramtui.core.tree",
    "EditSession": "paramtui.edits.session",
    "Freeze": "paramtui.edits.ops",
    "Unfreeze": "paramtui.edits.ops",
    "Zero": "paramtui.edits.ops",
    "Prune": "paramtui.edits.ops",
    "MakePrunePermanent": "paramtui.edits.ops",
    "save": "paramtui.io.save",
    "apply_freeze": "paramtui.io.freeze",
    "snapshot": "paramtui.io.snapshot",
    "map_optimizers": "paramtui.analysis.optimizer.map",
    "scan": "paramtui.analysis.scan.run",
    "check_load": "paramtui.analysis.check_load",
    "browse": "paramtui.tui.live",
    "index_from_module": "paramtui.core.live",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'paramtui' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
