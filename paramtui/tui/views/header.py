"""The header's line about the open checkpoint: format, tensors, parameters, bytes."""

from __future__ import annotations

from paramtui.core.model import CheckpointIndex
from paramtui.core.tree import ModuleNode
from paramtui.tui.views import fmt


def summary_line(index: CheckpointIndex, tree: ModuleNode | None = None) -> str:
    """`safetensors · 12 tensors · 1.2M params · 4.6 MiB on disk` for the header. The count is
    the module tree's root's (core.roots.model_tree: the primary model's parameters, tied
    weights once), so it appears once the tree is built; shared storages count once in bytes."""
    params = f"{fmt.count(tree.headline)} params · " if tree is not None else ""
    where = "in memory" if index.live is not None else "on disk"
    return (
        f"{index.format} · {fmt.grouped(len(index.tensors))} tensors · {params}"
        f"{fmt.size(index.storage_nbytes)} {where}"
    )
