"""What a checkpoint holds, in one result object: totals, dtypes, top-level modules, metadata."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from paramtui.core.model import CheckpointIndex, MetaEntry, TensorInfo
from paramtui.core.roots import RootCounts, count_roots, primary
from paramtui.core.tree import ModuleNode, build_tree


@dataclass(frozen=True, slots=True)
class GroupRow:
    """Tensors, elements and (logical) bytes of one dtype, module or role."""

    name: str
    tensors: int
    numel: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class Summary:
    format: str
    path: str
    files: tuple[str, ...]
    num_tensors: int
    total_numel: int  # every element of every tensor (a shared storage counted per name)
    parameter_numel: int  # the primary model's parameters, tied weights counted once
    roots: tuple[RootCounts, ...]  # each model, EMA copy, optimizer and other part, primary first
    storage_nbytes: int  # tensor bytes on disk: each shared storage counted once
    logical_nbytes: int  # sum of every tensor's own bytes
    dtypes: tuple[GroupRow, ...]  # largest first
    roles: tuple[GroupRow, ...]
    modules: tuple[GroupRow, ...]  # top-level entries of the module tree, natural order
    metadata: tuple[MetaEntry, ...]
    shared_groups: int  # storages that more than one name refers to
    devices: tuple[tuple[str | None, int], ...]  # (device as saved or None, tensors)
    file_metadata: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (lists and dicts only)."""
        data = asdict(self)
        for name in ("files", "dtypes", "roles", "modules", "metadata", "notes"):
            data[name] = list(data[name])
        data["roots"] = [r.to_dict() for r in self.roots]
        data["devices"] = [{"device": d, "tensors": n} for d, n in self.devices]
        data["file_metadata"] = dict(self.file_metadata)
        return data


def summarize(index: CheckpointIndex) -> Summary:
    tensors = list(index.tensors.values())
    tree = build_tree(tensors)
    roots = count_roots(index, tree)
    model = primary(roots)
    return Summary(
        format=index.format,
        path=index.path,
        files=tuple(index.files),
        num_tensors=len(tensors),
        total_numel=index.total_numel,
        parameter_numel=model.counts.parameters.numel if model is not None else 0,
        roots=roots,
        storage_nbytes=index.storage_nbytes,
        logical_nbytes=sum(t.nbytes for t in tensors),
        dtypes=_group_by(tensors, lambda t: t.dtype),
        roles=_group_by(tensors, lambda t: t.role),
        modules=_top_level(tree),
        metadata=tuple(index.metadata.values()),
        shared_groups=sum(1 for names in index.storage_groups().values() if len(names) > 1),
        devices=tuple(Counter(t.device for t in tensors).most_common()),
        file_metadata=tuple(index.file_metadata.items()),
        notes=tuple(index.notes),
    )


def _group_by(tensors: list[TensorInfo], key: Callable[[TensorInfo], str]) -> tuple[GroupRow, ...]:
    counts: Counter[str] = Counter()
    numel: Counter[str] = Counter()
    nbytes: Counter[str] = Counter()
    for t in tensors:
        k = key(t)
        counts[k] += 1
        numel[k] += t.numel
        nbytes[k] += t.nbytes
    rows = [GroupRow(k, counts[k], numel[k], nbytes[k]) for k in counts]
    return tuple(sorted(rows, key=lambda r: (-r.nbytes, r.name)))


def _top_level(root: ModuleNode) -> tuple[GroupRow, ...]:
    return tuple(GroupRow(n.name, n.num_tensors, n.numel, n.nbytes) for n in root.children)
