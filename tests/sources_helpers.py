"""Builders for the tests of tensors stored in pieces: GGUF files of block-quantized tensors
(written with the gguf package's writer) and sharded DCP folders (written by
torch.distributed.checkpoint in one process). Plain module: no fixtures here."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.metadata import (
    ChunkStorageMetadata,
    MetadataIndex,
    TensorProperties,
)
from torch.distributed.checkpoint.planner import TensorWriteData, WriteItem, WriteItemType

# ---------------------------------------------------------------- GGUF


def gguf_lib() -> Any:
    return pytest.importorskip("gguf")


def k_blocks(kind: str, rows: int, row_len: int, seed: int) -> np.ndarray:
    """Random Q4_K / Q6_K blocks with sane float16 scales (the gguf package cannot quantize
    K types, but dequantizes them): [rows, bytes per row] uint8."""
    gguf = gguf_lib()
    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[kind]]
    raw = np.random.default_rng(seed).integers(0, 256, (rows * row_len // block, size), np.uint8)
    half = np.frombuffer(np.array([0.01, 0.003], np.float16).tobytes(), np.uint8)
    if kind == "Q6_K":
        raw[:, -2:] = half[:2]  # d is the block's last field
    else:
        raw[:, :4] = half  # d, dmin lead the block
    return raw.reshape(rows, -1)


def write_gguf(path: Path) -> None:
    """A GGUF file of quantized tensors: Q8_0, Q4_0 (3-D), Q4_K, Q6_K, a Q8_0 tensor with one
    NaN block, and a Q8_0 row longer than one statistics chunk."""
    gguf = gguf_lib()
    from gguf.quants import quantize

    rng = np.random.default_rng(0)
    q = gguf.GGMLQuantizationType
    dense = rng.standard_normal((16, 96)).astype(np.float32) * 0.2 + 0.05
    nan_block = quantize(dense, q.Q8_0)
    nan_block[0, :2] = np.frombuffer(np.float16(np.nan).tobytes(), np.uint8)  # 32 NaN values
    wide = rng.standard_normal((1, 9216 * 32)).astype(np.float32)
    tensors = {
        "blk.0.q8.weight": (quantize(dense, q.Q8_0), q.Q8_0),
        "blk.0.q4.weight": (quantize(dense.reshape(2, 8, 96), q.Q4_0), q.Q4_0),
        "blk.0.q4k.weight": (k_blocks("Q4_K", 6, 512, 1), q.Q4_K),
        "blk.0.q6k.weight": (k_blocks("Q6_K", 3, 256, 2), q.Q6_K),
        "blk.0.nan.weight": (nan_block, q.Q8_0),
        "wide.weight": (quantize(wide, q.Q8_0), q.Q8_0),
    }
    write_raw_gguf(path, tensors)


def write_raw_gguf(path: Path, tensors: dict[str, tuple[np.ndarray, Any]]) -> None:
    """name -> (raw blocks, GGML type), written by GGUFWriter."""
    writer = gguf_lib().GGUFWriter(str(path), "llama")
    for name, (raw, kind) in tensors.items():
        writer.add_tensor(name, raw, raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_undecodable_gguf(path: Path) -> None:
    """A GGUF file whose one tensor 'w' (2 x 256 values) is Q8_K, which the gguf package can
    store but not dequantize (the test is skipped where a newer version can)."""
    gguf = gguf_lib()
    q8k = gguf.GGMLQuantizationType.Q8_K
    size = gguf.GGML_QUANT_SIZES[q8k][1]
    try:
        gguf.quants.dequantize(np.zeros((1, size), np.uint8), q8k)
        pytest.skip("this gguf version dequantizes Q8_K")
    except NotImplementedError:
        pass
    write_raw_gguf(path, {"w": (np.zeros((2, size), np.uint8), q8k)})


def oracle(path: Path, name: str) -> torch.Tensor:
    """The gguf package's own dequantization of the whole tensor, in PyTorch's shape order."""
    gguf = gguf_lib()
    t = next(t for t in gguf.GGUFReader(str(path)).tensors if t.name == name)
    values = np.ascontiguousarray(gguf.quants.dequantize(t.data, t.tensor_type))
    return torch.from_numpy(values).reshape(tuple(reversed(t.shape.tolist())))


# ---------------------------------------------------------------- sharded DCP


class Tiles(torch.Tensor):
    """A tensor that DCP saves as a grid of tiles, as a DTensor sharded over a mesh is saved:
    `cuts` lists, per dim, where its tiles start."""

    @staticmethod
    def __new__(cls, t: torch.Tensor, cuts: list[list[int]]):  # type: ignore[no-untyped-def]
        obj = torch.Tensor._make_subclass(cls, t)
        ends = [[*c[1:], n] for c, n in zip(cuts, t.shape, strict=True)]
        bounds = [list(zip(c, e, strict=True)) for c, e in zip(cuts, ends, strict=True)]
        obj.full = t
        obj.tiles = {
            tuple(a for a, _ in tile): tuple(b - a for a, b in tile)
            for tile in itertools.product(*bounds)
        }
        return obj

    def __create_write_items__(self, fqn, obj):  # type: ignore[no-untyped-def]
        return [
            WriteItem(
                index=MetadataIndex(fqn, offsets),
                type=WriteItemType.SHARD,
                tensor_data=TensorWriteData(
                    chunk=ChunkStorageMetadata(
                        offsets=torch.Size(offsets), sizes=torch.Size(sizes)
                    ),
                    properties=TensorProperties.create_from_tensor(self.full),
                    size=self.full.size(),
                ),
            )
            for offsets, sizes in self.tiles.items()
        ]

    def __get_tensor_shard__(self, index):  # type: ignore[no-untyped-def]
        sizes = self.tiles[tuple(index.offset)]
        return self.full[tuple(slice(o, o + s) for o, s in zip(index.offset, sizes, strict=True))]


CUTS = {
    "rows": [[0, 4, 8], [0]],
    "grid": [[0, 13, 20], [0, 10, 11]],
    "half": [[0], [0, 5]],
    "wide": [[0, 2], [0], [0, 3]],
    "count": [[0, 1, 5], [0]],
}


def sharded_state() -> dict[str, torch.Tensor]:
    """float32 (with a NaN, an Inf and a zero), bfloat16, 3-D float64 and int64 tensors."""
    g = torch.Generator().manual_seed(3)
    w = torch.randn(37, 29, generator=g) * 0.5 + 0.1
    w[3, 4], w[30, 20], w[10, 0] = float("nan"), float("inf"), 0.0
    return {
        "rows": torch.randn(11, 7, generator=g),
        "grid": w,
        "half": (torch.randn(9, 12, generator=g) * 3).to(torch.bfloat16),
        "wide": torch.randn(5, 4, 6, generator=g, dtype=torch.float64),
        "count": torch.randint(-50, 50, (10, 3), generator=g),
    }


def save_dcp(state: dict[str, Any], folder: Path, **writer_options: Any) -> Path:
    writer = dcp.FileSystemWriter(str(folder), **writer_options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "assuming a single process"
        dcp.save(state, storage_writer=writer)
    return folder


def write_sharded(folder: Path, one_file: bool = True) -> dict[str, torch.Tensor]:
    """sharded_state() saved in the tiles of CUTS; returns the whole tensors."""
    state = sharded_state()
    tiled = {name: Tiles(t, CUTS[name]) for name, t in state.items()}
    save_dcp(tiled, folder, single_file_per_rank=one_file)
    return state
