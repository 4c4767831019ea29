"""What `paramtui edit` and `paramtui convert` share: opening the checkpoint, refusing an
existing OUT early, the save options and progress messages on stderr."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypedDict

from paramtui.core.errors import SaveRefused

if TYPE_CHECKING:
    from paramtui.core.model import CheckpointIndex


class SaveOptions(TypedDict):
    overwrite: bool
    allow_untie: bool
    tensors_only: bool


def save_options(ns: argparse.Namespace) -> SaveOptions:
    return {"overwrite": ns.force, "allow_untie": ns.untie, "tensors_only": ns.tensors_only}


def open_index(path: str, say: Callable[[str], None]) -> CheckpointIndex:
    from paramtui.core.open import open_checkpoint

    index = open_checkpoint(path)
    say(f"opened {path} ({index.format}, {len(index)} tensors)")
    return index


def check_output(ns: argparse.Namespace) -> None:
    """Refuse an existing OUT before any work (save() checks again when it writes)."""
    out = ns.output
    if out is not None and getattr(ns, "format", None) == "dcp" and not getattr(ns, "dry_run", 0):
        from paramtui.io.atomic import check_folder_destination

        check_folder_destination(out, overwrite=ns.force)  # an empty folder is fine
        return
    if out is None or not os.path.exists(out) or ns.force:
        return
    if getattr(ns, "dry_run", False):
        progress(ns)(f"note: {out} exists; the real run needs --force to replace it")
        return
    same = os.path.exists(ns.input) and os.path.samefile(out, ns.input)
    raise SaveRefused(
        f"{out} already exists{' (it is the input file)' if same else ''}. Choose a new name, "
        "or add --force to replace it; it is replaced atomically once the new file is "
        "complete and the input is never modified in place."
    )


def progress(ns: argparse.Namespace) -> Callable[[str], None]:
    if ns.quiet:
        return lambda _: None

    def say(message: str) -> None:
        from paramtui.render.format import safe_text

        sys.stderr.write(f"paramtui: {safe_text(message)}\n")
        sys.stderr.flush()

    return say
