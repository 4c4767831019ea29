"""The format registry: detect walks its ordered table; --help lists it; hf_dir opens shards
with the opener it is given."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from paramtui.cli.overview import formats_section
from paramtui.core.formats.detect import open_path
from paramtui.core.formats.hf_dir import open_hf_dir
from paramtui.core.formats.registry import FORMATS, Probe


def first_match(path: Path) -> str:
    probe = Probe(str(path), reopen=open_path)
    return next(fmt.name for fmt in FORMATS if fmt.sniff(probe))


def test_each_file_is_recognised_by_its_own_format(tmp_path: Path) -> None:
    tensors = {"w": torch.ones(2)}
    save_file(tensors, tmp_path / "m.safetensors")
    torch.save(tensors, tmp_path / "m.pth")
    torch.save(tensors, tmp_path / "old.pth", _use_new_zipfile_serialization=False)
    (tmp_path / "hf").mkdir()
    save_file(tensors, tmp_path / "hf" / "model.safetensors")
    assert first_match(tmp_path / "m.safetensors") == "safetensors"
    assert first_match(tmp_path / "m.pth") == "torch zip"
    assert first_match(tmp_path / "old.pth") == "torch legacy"
    assert first_match(tmp_path / "hf") == "hugging face folder"


def test_folders_are_never_sniffed_as_files(tmp_path: Path) -> None:
    probe = Probe(str(tmp_path), reopen=open_path)
    assert [f.name for f in FORMATS if f.sniff(probe)] == ["hugging face folder"]
    assert probe.head == b""  # nothing was read


def test_help_lists_every_format_in_table_order() -> None:
    text = formats_section()
    starts = [text.index(fmt.description.split()[0]) for fmt in FORMATS]
    assert starts == sorted(starts)
    assert all(line.startswith("  ") and len(line) <= 80 for line in text.splitlines()[1:])


def test_hf_folder_opens_its_shards_with_the_opener_given(tmp_path: Path) -> None:
    save_file({"w": torch.ones(2)}, tmp_path / "model.safetensors")
    opened: list[str] = []

    def opener(path: str):  # type: ignore[no-untyped-def]
        opened.append(path)
        return open_path(path)

    index = open_hf_dir(str(tmp_path), opener)
    assert opened == [str(tmp_path / "model.safetensors")]
    assert list(index.tensors) == ["w"] and index.format == "hugging face folder (safetensors)"
