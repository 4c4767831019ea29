"""Where a save goes and in which format: from the name the user gave, or asked for by name."""

from __future__ import annotations

import os

from paramtui.core.errors import SaveRefused

TORCH_EXTENSIONS = (".pth", ".pt", ".bin", ".ckpt")
DCP = "dcp"  # a torch.distributed.checkpoint folder: only when asked for by name
FORMATS = ("torch", "safetensors", DCP)


def output_format(dest: str, format: str | None = None) -> str:
    """The output format ("torch", "safetensors" or "dcp"): `format` if given, else from `dest`'s
    extension (a DCP folder is written only when asked for by name: no extension tells it)."""
    if format in FORMATS:
        return format
    if format is not None:
        raise SaveRefused(
            f"unknown output format {format!r}: use 'torch', 'safetensors' or 'dcp' (a "
            "torch.distributed.checkpoint folder)."
        )
    ext = os.path.splitext(dest)[1].lower()
    if ext == ".safetensors":
        return "safetensors"
    if ext in TORCH_EXTENSIONS:
        return "torch"
    raise SaveRefused(
        f"cannot tell the format of {dest} from its extension: end it with .safetensors or one "
        f"of {', '.join(TORCH_EXTENSIONS)}, or ask for a DCP folder (--format dcp)."
    )


def default_save_path(source: str) -> str:
    """`<stem>.edited<ext>` next to the source (a folder gets `<name>.edited.safetensors`, a
    DCP folder `<name>.edited.pth`, which keeps its non-tensor entries)."""
    source = source.rstrip("/")
    if os.path.isdir(source):
        dcp = os.path.isfile(os.path.join(source, ".metadata"))
        stem, ext = source, ".pth" if dcp else ".safetensors"
    else:
        stem, ext = os.path.splitext(source)
    candidate, n = f"{stem}.edited{ext}", 2
    while os.path.exists(candidate):
        candidate, n = f"{stem}.edited.{n}{ext}", n + 1
    return candidate


def is_folder(dest: str) -> bool:
    """A destination named as a folder (a trailing separator) or an existing folder."""
    return dest.endswith(("/", os.sep)) or os.path.isdir(dest)
