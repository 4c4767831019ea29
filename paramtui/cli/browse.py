"""The default command, `paramtui PATH`: open the checkpoint in the terminal UI."""

from __future__ import annotations

import os

from paramtui.core.errors import UnusableInput

SYNOPSIS = "paramtui [-h] [--version] PATH"
OVERVIEW = ("paramtui PATH", ("browse the checkpoint in the terminal UI (the default)",))


def open_tui(path: str) -> int:
    if not os.path.exists(path):
        raise UnusableInput(f"{path} does not exist. Check the path and try again.")
    from paramtui.tui.app import run_app

    return run_app(path)
