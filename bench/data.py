"""Benchmark inputs, generated once into bench/data/ (git-ignored) and reused."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

DATA = Path(__file__).parent / "data"
GIB = 1 << 30


def llama_like_shapes(total_bytes: int, itemsize: int) -> list[tuple[str, tuple[int, ...]]]:
    """Names and shapes of a llama-style model scaled to about `total_bytes`."""
    dim, ffn, vocab, layers = 2048, 5632, 32000, 20
    shapes = [("model.embed_tokens.weight", (vocab, dim))]
    for i in range(layers):
        p = f"model.layers.{i}"
        shapes += [
            (f"{p}.self_attn.q_proj.weight", (dim, dim)),
            (f"{p}.self_attn.k_proj.weight", (dim // 4, dim)),
            (f"{p}.self_attn.v_proj.weight", (dim // 4, dim)),
            (f"{p}.self_attn.o_proj.weight", (dim, dim)),
            (f"{p}.mlp.gate_proj.weight", (ffn, dim)),
            (f"{p}.mlp.up_proj.weight", (ffn, dim)),
            (f"{p}.mlp.down_proj.weight", (dim, ffn)),
            (f"{p}.input_layernorm.weight", (dim,)),
            (f"{p}.post_attention_layernorm.weight", (dim,)),
        ]
    shapes += [("model.norm.weight", (dim,)), ("lm_head.weight", (vocab, dim))]
    size = sum(_numel(s) for _, s in shapes) * itemsize
    assert abs(size - total_bytes) / total_bytes < 0.3, size
    return shapes


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def write_safetensors_header_only(
    path: Path, tensors: list[tuple[str, tuple[int, ...]]], code: str = "BF16", itemsize: int = 2
) -> None:
    """A valid safetensors file whose data region is a sparse hole (headers are what we time)."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in tensors:
        size = _numel(shape) * itemsize
        header[name] = {
            "dtype": code,
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        f.truncate(8 + len(raw) + offset)


def sharded_safetensors_folder(total_bytes: int = 2 * GIB, shards: int = 4) -> Path:
    folder = DATA / "sharded-2g"
    index_path = folder / "model.safetensors.index.json"
    if index_path.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    shapes = llama_like_shapes(total_bytes, 2)
    per_shard = -(-len(shapes) // shards)
    weight_map = {}
    for i in range(shards):
        part = shapes[i * per_shard : (i + 1) * per_shard]
        shard = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors_header_only(folder / shard, part)
        weight_map.update({name: shard for name, _ in part})
    index_path.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return folder


def big_pth(total_bytes: int = 2 * GIB) -> Path:
    """A real 2 GiB torch.save checkpoint (bf16 zeros) written by torch itself."""
    path = DATA / "model-2g.pth"
    if path.exists():
        return path
    import torch

    DATA.mkdir(parents=True, exist_ok=True)
    state = {
        name: torch.zeros(shape, dtype=torch.bfloat16)
        for name, shape in llama_like_shapes(total_bytes, 2)
    }
    torch.save(state, str(path) + ".tmp")
    os.replace(str(path) + ".tmp", path)
    return path


def many_tensor_header(count: int = 50_000) -> Path:
    """An MoE-sized safetensors header: `count` small tensors (data region sparse)."""
    path = DATA / f"moe-{count}.safetensors"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    experts = count // (48 * 3) + 1
    names = [
        (f"model.layers.{layer}.mlp.experts.{e}.{w}.weight", (256, 128))
        for layer in range(48)
        for e in range(experts)
        for w in ("gate_proj", "up_proj", "down_proj")
    ][:count]
    write_safetensors_header_only(path, names)
    return path
