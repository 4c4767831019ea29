"""Where a save goes and in which format: from the name the user gave, asked for by name, or
(for a name whose extension does not say, like timm's `.pth.tar`) the source's own format."""

from __future__ import annotations

import os

from paramtui.core.errors import SaveRefused

TORCH_EXTENSIONS = (".pth", ".pt", ".bin", ".ckpt")
SAFETENSORS_EXTENSION = ".safetensors"
DCP = "dcp"  # a torch.distributed.checkpoint folder: only when asked for by name
FORMATS = ("torch", "safetensors", DCP)
_KNOWN = (*TORCH_EXTENSIONS, SAFETENSORS_EXTENSION)


def split_extension(path: str) -> tuple[str, str]:
    """`last.pth.tar` -> (`last`, `.pth.tar`): a checkpoint extension before the last one is
    part of the extension (timm's `.pth.tar`, `.pt.gz`-style names); else os.path.splitext."""
    stem, ext = os.path.splitext(path)
    inner_stem, inner = os.path.splitext(stem)
    if inner.lower() in _KNOWN and inner_stem and not inner_stem.endswith(os.sep):
        return inner_stem, inner + ext
    return stem, ext


def output_format(dest: str, format: str | None = None, source_format: str | None = None) -> str:
    """The output format ("torch", "safetensors" or "dcp"): `format` if given, else from `dest`'s
    extension (`.pth.tar` is torch: its first part says so), else the source's own format
    (`source_format`: the index's, e.g. "torch zip"). A DCP folder is written only when asked
    for by name: no extension tells it."""
    if format in FORMATS:
        return format
    if format is not None:
        raise SaveRefused(
            f"unknown output format {format!r}: use 'torch', 'safetensors' or 'dcp' (a "
            "torch.distributed.checkpoint folder)."
        )
    found = output_format_of_name(dest) or writable_format(source_format)
    if found is None:
        raise SaveRefused(
            f"cannot tell the format of {dest} from its extension: end it with .safetensors or "
            f"one of {', '.join(TORCH_EXTENSIONS)} (also as in .pth.tar), or ask for a DCP "
            "folder (--format dcp)."
        )
    return found


def writable_format(source_format: str | None) -> str | None:
    """The output format that keeps a source's format ("torch zip" -> torch), or None (GGUF:
    not writable)."""
    if source_format is None:
        return None
    name = source_format.lower()
    if SAFETENSORS_EXTENSION[1:] in name:
        return "safetensors"
    return "torch" if name.startswith("torch") or "(torch" in name else None


def output_format_of_name(dest: str) -> str | None:
    """The format `dest`'s extension tells (`.pth.tar`: torch), or None."""
    for part in split_extension(dest)[1].lower().split(".")[1:]:
        if "." + part == SAFETENSORS_EXTENSION:
            return "safetensors"
        if "." + part in TORCH_EXTENSIONS:
            return "torch"
    return None


PREFERRED_EXTENSIONS = {"safetensors": ".safetensors", "pth": ".pth"}  # config's [save] format


def default_save_path(source: str, preferred: str | None = None) -> str:
    """`<stem>.edited<ext>` next to the source (`last.edited.pth.tar` for `last.pth.tar`; a
    folder gets `<name>.edited.safetensors`, a DCP folder `<name>.edited.pth`, which keeps its
    non-tensor entries). `preferred` ("safetensors" or "pth") replaces the extension."""
    source = source.rstrip("/")
    if os.path.isdir(source):
        dcp = os.path.isfile(os.path.join(source, ".metadata"))
        stem, ext = source, ".pth" if dcp else ".safetensors"
    else:
        stem, ext = split_extension(source)
    ext = PREFERRED_EXTENSIONS.get(preferred or "", ext)
    candidate, n = f"{stem}.edited{ext}", 2
    while os.path.exists(candidate):
        candidate, n = f"{stem}.edited.{n}{ext}", n + 1
    return candidate


def is_folder(dest: str) -> bool:
    """A destination named as a folder (a trailing separator) or an existing folder."""
    return dest.endswith(("/", os.sep)) or os.path.isdir(dest)
