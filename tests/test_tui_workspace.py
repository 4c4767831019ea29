"""The workspace holds more than one opened checkpoint, each with its own session, statistics
and marks; the single-checkpoint API reads the primary's."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from paramtui import open_checkpoint
from paramtui.analysis.stats.compute import tensor_stats
from paramtui.edits.ops import Freeze, Zero
from paramtui.tui.views.edit_marks import marks_of
from paramtui.tui.workspace import Workspace


def _write(path: Path, scale: float) -> Path:
    gen = torch.Generator().manual_seed(3)
    save_file({"a.weight": torch.randn(4, 4, generator=gen) * scale, "b.bias": torch.ones(4)}, path)
    return path


def test_two_opened_checkpoints_keep_sessions_stats_and_marks_apart(tmp_path: Path) -> None:
    workspace = Workspace(open_checkpoint(_write(tmp_path / "one.safetensors", 1.0)))
    second = workspace.open(open_checkpoint(_write(tmp_path / "two.safetensors", 5.0)))
    first = workspace.primary
    assert len(workspace) == 2 and list(workspace) == [first, second]
    for opened in workspace:
        opened.start_session()
    assert first.session is not None and second.session is not None
    assert first.session is not second.session

    second.session.apply(Zero("a.weight"))
    second.session.apply(Freeze("b.bias"))
    second.marks = marks_of(second.session)
    assert second.is_edited("a.weight") and second.dirty
    assert not first.is_edited("a.weight") and not first.dirty
    assert first.marks.intents == {} and second.marks.intents == {"b.bias": False}

    for opened in workspace:
        info = opened.index.tensors["a.weight"]
        job = opened.stats_job(info)
        tensor = job.tensor if job.tensor is not None else _loaded(opened.index.path)
        opened.remember("a.weight", job.version, tensor_stats("a.weight", tensor))
    first_stats, second_stats = first.stats("a.weight"), second.stats("a.weight")
    assert first_stats is not None and second_stats is not None
    assert second_stats.zeros == 16 and first_stats.zeros == 0
    assert first.version("a.weight") != second.version("a.weight")


def test_the_single_checkpoint_api_reads_the_primary(tmp_path: Path) -> None:
    workspace = Workspace(open_checkpoint(_write(tmp_path / "one.safetensors", 1.0)))
    workspace.open(open_checkpoint(_write(tmp_path / "two.safetensors", 5.0)))
    primary = workspace.primary
    primary.start_session()
    assert workspace.session is primary.session
    assert workspace.index is primary.index and workspace.index.path.endswith("one.safetensors")
    assert primary.session is not None
    primary.session.apply(Zero("a.weight"))
    primary.marks = marks_of(primary.session)
    assert workspace.is_edited("a.weight") and workspace.dirty
    assert workspace.marks is primary.marks


def _loaded(path: str) -> torch.Tensor:
    from safetensors.torch import load_file

    return load_file(path)["a.weight"]
