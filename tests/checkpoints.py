"""Builders for test checkpoints, written at test time by the real libraries' save functions."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn


class TinyNet(nn.Module):
    """Embedding with a tied output layer, a LayerNorm, a BatchNorm (buffers), a frozen part."""

    def __init__(self, vocab: int = 11, dim: int = 6, layers: int = 12) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList(nn.Linear(dim, dim) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.bn = nn.BatchNorm1d(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.embed.weight  # tied
        for p in self.layers[0].parameters():
            p.requires_grad_(False)


def tiny_net(seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    net = TinyNet()
    with torch.no_grad():  # make buffers non-trivial
        net.bn.running_mean.uniform_(-1, 1)
        net.bn.num_batches_tracked.fill_(7)
    return net


def training_checkpoint(seed: int = 0) -> dict[str, object]:
    net = tiny_net(seed)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    loss = net.head(net.norm(net.layers[3](net.embed(torch.tensor([1, 2, 3]))))).sum()
    loss.backward()
    opt.step()
    return {
        "model": net.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "step": 120,
        "hparams": {"lr": 1e-3, "name": "tiny"},
    }


@contextlib.contextmanager
def saved_as_device(device: str) -> Iterator[None]:
    """Make torch.save record `device` for every storage, as a checkpoint saved on a GPU does."""
    registry = torch.serialization._package_registry  # type: ignore[attr-defined]

    def tagger(obj: object) -> str:
        return device

    entry = (-1, tagger, lambda obj, location: obj)
    registry.insert(0, entry)
    try:
        yield
    finally:
        registry.remove(entry)


def flatten_loaded(obj: object, prefix: str = "") -> dict[str, torch.Tensor]:
    """torch.load's result flattened to dotted names, the oracle for the index."""
    out: dict[str, torch.Tensor] = {}
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten_loaded(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(flatten_loaded(v, f"{prefix}.{i}" if prefix else str(i)))
    return out


def load_oracle(path: Path) -> dict[str, torch.Tensor]:
    devices: list[str] = []

    def keep_on_cpu(storage: object, location: str) -> object:
        devices.append(location)
        return storage

    return flatten_loaded(torch.load(path, map_location=keep_on_cpu, weights_only=True))


def write_full_model_pickle(tmp: Path) -> Path:
    """torch.save(model) of a class from a module that will not be importable afterwards."""
    pkg = tmp / "pkg_src"
    pkg.mkdir()
    (pkg / "ptui_secret_model.py").write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn
            class Secret(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.body = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
                    self.register_buffer("scale", torch.ones(2))
                    self.config = {"depth": 2, "note": "hello"}
            """
        )
    )
    sys.path.insert(0, str(pkg))
    try:
        import ptui_secret_model  # type: ignore[import-not-found]

        torch.manual_seed(0)
        model = ptui_secret_model.Secret()
        model.body[0].weight.requires_grad_(False)
        path = tmp / "full_model.pt"
        torch.save(model, path)
    finally:
        sys.path.remove(str(pkg))
        sys.modules.pop("ptui_secret_model", None)
    return path


def write_hf_sharded(folder: Path, state: dict[str, torch.Tensor], kind: str) -> Path:
    """A sharded Hugging Face folder (safetensors or bin) with its index.json and config.json."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    names = list(state)
    halves = [names[: len(names) // 2], names[len(names) // 2 :]]
    ext = "safetensors" if kind == "safetensors" else "bin"
    stem = "model" if kind == "safetensors" else "pytorch_model"
    weight_map = {}
    for i, part in enumerate(halves, 1):
        shard = f"{stem}-{i:05d}-of-00002.{ext}"
        tensors = {n: state[n].contiguous().clone() for n in part}
        if kind == "safetensors":
            save_file(tensors, folder / shard, metadata={"format": "pt"})
        else:
            torch.save(tensors, folder / shard)
        weight_map.update({n: shard for n in part})
    index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    (folder / f"{stem}.{ext}.index.json").write_text(json.dumps(index))
    (folder / "config.json").write_text(json.dumps({"model_type": "tiny", "hidden_size": 6}))
    return folder


def storage_bytes(t: torch.Tensor) -> bytes:
    """The raw bytes of the whole storage behind `t` (not only the view's elements)."""
    raw = torch.empty(0, dtype=torch.uint8).set_(t.untyped_storage())
    return raw.numpy().tobytes()


def read_location(path: str, offset: int, nbytes: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(nbytes)


def file_size(path: Path) -> int:
    return os.path.getsize(path)
