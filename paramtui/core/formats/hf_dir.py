"""Hugging Face model folders: one file or shards named by an index's weight_map.

Preference follows transformers: safetensors over .bin. An index is honoured as written (no
globbing): every tensor is taken from the shard the index names for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from paramtui.core.errors import UnusableInput
from paramtui.core.model import CheckpointIndex, TensorInfo

_SINGLE = [("model.safetensors", "safetensors"), ("pytorch_model.bin", "torch")]
_INDEXES = [
    ("model.safetensors.index.json", "safetensors"),
    ("pytorch_model.bin.index.json", "torch"),
]


OpenFile = Callable[[str], CheckpointIndex]


def open_hf_dir(path: str, open_file: OpenFile) -> CheckpointIndex:
    """The folder's model, each file (or shard) opened by `open_file` (detect.open_path)."""
    for name, kind in _INDEXES:
        index_path = os.path.join(path, name)
        if os.path.isfile(index_path):
            index = _open_sharded(path, index_path, kind, open_file)
            break
    else:
        for name, kind in _SINGLE:
            file_path = os.path.join(path, name)
            if os.path.isfile(file_path):
                index = open_file(file_path)
                index.format = f"hugging face folder ({kind})"
                index.path = path
                break
        else:
            raise UnusableInput(
                f"{path} is a folder but holds no model.safetensors, pytorch_model.bin or their "
                "sharded index (*.index.json). Point paramtui at a checkpoint file or a Hugging "
                "Face model folder."
            )
    index.file_metadata.update(_config_entries(path))
    return index


def _open_sharded(folder: str, index_path: str, kind: str, open_file: OpenFile) -> CheckpointIndex:
    weight_map, meta = _read_index(index_path)
    shards: dict[str, list[str]] = {}
    for tensor_name, shard in weight_map.items():
        shards.setdefault(shard, []).append(tensor_name)
    tensors: dict[str, TensorInfo] = {}
    notes: list[str] = []
    for shard, names in shards.items():
        shard_path = _shard_path(folder, index_path, shard)
        found = open_file(shard_path).tensors
        for name in names:
            info = found.get(name)
            if info is None:
                raise UnusableInput(
                    f"{index_path} says '{name}' is in {shard}, but that shard does not hold it. "
                    "The folder is incomplete or its index is stale."
                )
            tensors[name] = _prefixed_storage(info, shard)
        extra = len(found) - len(names)
        if extra > 0:
            notes.append(f"{shard} holds {extra} tensor(s) the index does not list; not shown")
    ordered = {name: tensors[name] for name in weight_map}
    return CheckpointIndex(
        path=folder,
        format=f"hugging face folder ({kind}, {len(shards)} shards)",
        tensors=ordered,
        file_metadata={k: str(v) for k, v in meta.items()},
        files=[_shard_path(folder, index_path, s) for s in shards],
        notes=notes,
    )


def _read_index(index_path: str) -> tuple[dict[str, str], dict[str, object]]:
    try:
        with open(index_path, encoding="utf-8") as f:
            data = json.load(f)
        weight_map = data["weight_map"]
        if not isinstance(weight_map, dict):
            raise TypeError("weight_map is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UnusableInput(
            f'{index_path} is not a valid shard index ({exc}); it needs a "weight_map" object '
            "mapping tensor names to shard files."
        ) from None
    meta = data.get("metadata") or {}
    return {str(k): str(v) for k, v in weight_map.items()}, meta if isinstance(meta, dict) else {}


def _shard_path(folder: str, index_path: str, shard: str) -> str:
    resolved = os.path.normpath(os.path.join(folder, shard))
    if os.path.dirname(resolved) != os.path.normpath(folder) or not os.path.isfile(resolved):
        raise UnusableInput(
            f"{index_path} names the shard '{shard}', which is not a file in {folder}. "
            "Download the missing shard or fix the index."
        )
    return resolved


def _prefixed_storage(info: TensorInfo, shard: str) -> TensorInfo:
    from dataclasses import replace

    return replace(info, storage_id=f"{shard}:{info.storage_id}")


def _config_entries(folder: str) -> dict[str, str]:
    """config.json's scalar settings as "config.<key>" (e.g. tie_word_embeddings)."""
    config_path = os.path.join(folder, "config.json")
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(config, dict):
        return {}
    return {
        f"config.{k}": json.dumps(v)
        for k, v in config.items()
        if isinstance(v, (int, float, str, bool)) or v is None
    }
