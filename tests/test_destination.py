"""Save names and formats: multi-part extensions (timm's `.pth.tar`) keep their format, and an
extension that does not say keeps the source's format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from paramtui import open_checkpoint
from paramtui.core.errors import SaveRefused
from paramtui.io.destination import default_save_path, output_format, split_extension
from paramtui.tui.views.save_text import format_hint


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paramtui", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def timm_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))
    path = tmp_path / "last.pth.tar"
    torch.save({"epoch": 1, "arch": "mlp", "state_dict": model.state_dict()}, path)
    return path


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("last.pth.tar", ("last", ".pth.tar")),
        ("model.pt.gz", ("model", ".pt.gz")),
        ("model.v2.pth", ("model.v2", ".pth")),
        ("weights.safetensors", ("weights", ".safetensors")),
        ("archive.tar", ("archive", ".tar")),
        ("dir.pth/x.tar", ("dir.pth/x", ".tar")),
    ],
)
def test_split_extension_keeps_a_checkpoint_extension_before_the_last(
    name: str, parts: tuple[str, str]
) -> None:
    assert split_extension(name) == parts


def test_the_default_name_of_a_pth_tar_keeps_its_extension(timm_file: Path) -> None:
    first = default_save_path(str(timm_file))
    assert first == str(timm_file.parent / "last.edited.pth.tar")
    Path(first).write_bytes(b"")
    assert default_save_path(str(timm_file)) == str(timm_file.parent / "last.edited.2.pth.tar")


def test_the_format_follows_the_extension_then_the_source() -> None:
    assert output_format("out.pth.tar") == "torch"
    assert output_format("out.safetensors.part") == "safetensors"
    assert output_format("out.tar", source_format="torch zip") == "torch"
    assert output_format("out.weights", source_format="safetensors") == "safetensors"
    assert output_format("out.tar", source_format="hugging face folder (torch)") == "torch"
    assert output_format("out.pth", source_format="safetensors") == "torch"  # the name says
    for source in (None, "gguf"):
        with pytest.raises(SaveRefused, match="cannot tell the format"):
            output_format("out.tar", source_format=source)


def test_the_save_dialog_accepts_its_own_default_name(timm_file: Path) -> None:
    default = default_save_path(str(timm_file))
    assert str(format_hint(default, str(timm_file), source_format="torch zip")) == "→ torch zip"
    hint = str(format_hint(str(timm_file.parent / "out.tar"), str(timm_file), False, "torch zip"))
    assert hint.startswith("→ torch zip") and "as the source" in hint


def test_edit_a_pth_tar_into_a_pth_tar(timm_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pth.tar"
    proc = _cli("edit", timm_file, out, "--zero", "state_dict.0.bias")
    assert proc.returncode == 0, proc.stderr
    saved = torch.load(out, weights_only=True)
    assert saved["epoch"] == 1 and not saved["state_dict"]["0.bias"].any()
    assert open_checkpoint(out).format == "torch zip"


def test_an_extension_that_does_not_say_keeps_a_safetensors_source(tmp_path: Path) -> None:
    source = tmp_path / "model.safetensors"
    save_file({"w": torch.ones(3), "b": torch.zeros(2)}, str(source))
    out = tmp_path / "model.weights"
    proc = _cli("edit", source, out, "--zero", "w")
    assert proc.returncode == 0, proc.stderr
    assert open_checkpoint(out).format == "safetensors"
