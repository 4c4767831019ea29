"""Save a checkpoint state: the one front door, which picks the writer.

Every writer is atomic, lossless for what was not edited, streaming and verified before the
output replaces anything: a file (save_file: record rewrite, torch.save or safetensors), a sharded
Hugging Face folder (sharded), a DCP folder (save_dcp), renamed keys (save_renamed) or a live
model's state_dict (save_live). The CLI and the TUI both call `save`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from paramtui.core.errors import SaveRefused
from paramtui.core.state import CheckpointState, SourceState
from paramtui.io.destination import DCP, default_save_path, is_folder, output_format
from paramtui.io.report import SaveReport

if TYPE_CHECKING:
    from paramtui.core.prefix import StripPlan

__all__ = ["SaveReport", "default_save_path", "output_format", "save"]


def save(
    state: CheckpointState,
    dest: str,
    *,
    format: str | None = None,
    shard_size: int | str | None = None,
    rename: StripPlan | None = None,
    overwrite: bool = False,
    allow_untie: bool = False,
    tensors_only: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SaveReport:
    """Write `state`, edits applied, to `dest`.

    `dest` is a file whose extension gives the format (`.pth.tar` is torch; an extension that
    does not say keeps the source's format), unless `format` names one ("torch",
    "safetensors", or "dcp": a torch.distributed.checkpoint folder at `dest`). A folder (`dest`
    ending in a separator, an existing folder, or `shard_size` given: bytes or text like "2GB")
    gets a sharded Hugging Face layout. `rename` (a core.prefix StripPlan) renames the state
    dict's keys of an unedited checkpoint. Never writes over a file the state still reads."""
    options = {"overwrite": overwrite, "allow_untie": allow_untie, "tensors_only": tensors_only}
    if state.index.live is not None:  # a live nn.Module: its state_dict is what is saved
        from paramtui.io.save_live import save_live

        fmt = output_format(dest, format, state.index.format)
        return save_live(state, dest, fmt, overwrite=overwrite, progress=progress)
    if format == DCP:
        _refuse_options_for_dcp(shard_size, rename)
        from paramtui.io.save_dcp import save_dcp

        return save_dcp(state, dest, overwrite=overwrite, progress=progress)
    if shard_size is not None or is_folder(dest):
        from paramtui.io.sharded import write_sharded

        shards = _renamed(state, rename) if rename is not None else state
        return write_sharded(
            shards, dest, format=format or "safetensors", max_shard_size=shard_size,
            progress=progress, **options,
        )  # fmt: skip
    fmt = output_format(dest, format, state.index.format)
    if rename is not None:
        from paramtui.io.save_renamed import save_renamed

        _refuse_edited(state)
        return save_renamed(state.index, rename, dest, format=fmt, progress=progress, **options)
    from paramtui.io.save_file import save_file

    return save_file(state, dest, fmt, progress=progress, **options)


def _renamed(state: CheckpointState, plan: StripPlan) -> CheckpointState:
    from paramtui.core.prefix import stripped_index

    _refuse_edited(state)
    return SourceState(stripped_index(state.index, plan))


def _refuse_edited(state: CheckpointState) -> None:
    if state.edited_names() or state.grad_intents() or state.structure_changed:
        raise SaveRefused(
            "renaming the state dict's keys works on a checkpoint as its file holds it, and "
            "this one has unsaved edits. Save the edits first, then rename the saved copy."
        )


def _refuse_options_for_dcp(shard_size: int | str | None, rename: StripPlan | None) -> None:
    for option, given in (("a shard size", shard_size), ("renamed keys", rename)):
        if given is not None:
            raise SaveRefused(
                f"{option} does not apply to a DCP folder: it is written as one "
                "torch.distributed.checkpoint save. Convert in two steps (to .pth first)."
            )
