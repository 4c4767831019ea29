"""The formats paramtui reads, in the order `detect.open_path` tries them: one line each.

A format is a name, a description (`paramtui --help` lists them in this order), a sniff that
recognises a path by its content and an opener. Format modules are imported only when a sniff
or an opener needs them, so indexing one file imports the modules of the formats tried first
at most. The order matters where two sniffs can match the same path: see the comments.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from paramtui.core.errors import UnusableInput
from paramtui.core.model import CheckpointIndex

HEAD_SIZE = 64  # bytes read to sniff a file
ZIP_MAGIC = b"PK\x03\x04"


class Probe:
    """What detection knows about a path; a file's first bytes are read once, when asked for.

    `reopen` opens another path the same way (the shards of a Hugging Face folder)."""

    def __init__(self, path: str, reopen: Callable[[str], CheckpointIndex]) -> None:
        self.path, self.reopen = path, reopen
        self.is_dir = os.path.isdir(path)

    @cached_property
    def _start(self) -> tuple[bytes, int]:
        if self.is_dir:
            return b"", 0
        try:
            size = os.path.getsize(self.path)
            with open(self.path, "rb") as f:
                return f.read(HEAD_SIZE), size
        except OSError as exc:
            raise UnusableInput(f"{self.path} cannot be read: {exc.strerror}.") from None

    @property
    def head(self) -> bytes:
        return self._start[0]

    @property
    def size(self) -> int:
        return self._start[1]


Sniff = Callable[[Probe], bool]
Opener = Callable[[Probe], CheckpointIndex]


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    sniff: Sniff
    open: Opener


def _function(spec: str) -> Any:
    """'package.module:function', imported on first use."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def folder(probe: Probe) -> bool:
    return probe.is_dir


def folder_where(check: str) -> Sniff:
    """A folder for which `check(path)` is true."""
    return lambda probe: probe.is_dir and bool(_function(check)(probe.path))


def magic(prefix: bytes) -> Sniff:
    """A file starting with `prefix`."""
    return lambda probe: not probe.is_dir and probe.head.startswith(prefix)


def head_where(check: str) -> Sniff:
    """A file for which `check(head)` is true."""
    return lambda probe: not probe.is_dir and bool(_function(check)(probe.head))


def file_where(check: str, magic: bytes = b"") -> Sniff:
    """A file starting with `magic` for which `check(path, head)` is true (the module of
    `check` is imported only for files with that magic)."""

    def sniff(probe: Probe) -> bool:
        if probe.is_dir or not probe.head.startswith(magic):
            return False
        return bool(_function(check)(probe.path, probe.head))

    return sniff


def opened_by(spec: str) -> Opener:
    """An opener that calls `function(path)`."""
    return lambda probe: _function(spec)(probe.path)


def _hf_folder(probe: Probe) -> CheckpointIndex:
    from paramtui.core.formats.hf_dir import open_hf_dir

    return open_hf_dir(probe.path, probe.reopen)


_F = "paramtui.core.formats."
FORMATS: tuple[Format, ...] = (
    # before torch zip: a .pt2 archive is a zip too
    Format(
        "torch.export",
        "torch.export .pt2 archives",
        file_where(_F + "export_pt2:looks_like_pt2", magic=ZIP_MAGIC),
        opened_by(_F + "export_pt2:open_pt2"),
    ),
    Format(
        "torch zip",
        "PyTorch checkpoints (.pth .pt .bin .ckpt ...), nested training checkpoints too, "
        "and TorchScript archives",
        magic(ZIP_MAGIC),
        opened_by(_F + "torch_zip:open_zip_checkpoint"),
    ),
    Format(
        "gguf",
        "GGUF (with the optional gguf package: pip install 'paramtui[gguf]')",
        magic(b"GGUF"),  # 4 magic bytes; a safetensors header this long is refused
        opened_by(_F + "gguf:open_gguf"),
    ),
    # before the pickles: a safetensors header length can start with 0x80
    Format(
        "safetensors",
        "safetensors files (with __metadata__)",
        head_where(_F + "safetensors:looks_like_safetensors"),
        opened_by(_F + "safetensors:open_safetensors"),
    ),
    Format(
        "torch legacy",
        "legacy (pre-1.6, non-zip) PyTorch files",
        magic(b"\x80"),
        opened_by(_F + "torch_legacy:open_torch_legacy"),
    ),
    Format(
        "dcp",
        "torch.distributed.checkpoint folders (.metadata + *.distcp)",
        folder_where(_F + "dcp:is_dcp_dir"),
        opened_by(_F + "dcp:open_dcp"),
    ),
    # the last folder format: any other folder is read as a Hugging Face folder
    Format(
        "hugging face folder",
        "Hugging Face model folders: model.safetensors, sharded safetensors or "
        "pytorch_model*.bin with their index",
        folder,
        _hf_folder,
    ),
)
