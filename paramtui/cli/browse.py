"""The default command, `paramtui PATH`: open the checkpoint in the terminal UI (or, with
`--serve`, in a browser tab)."""

from __future__ import annotations

import os

from paramtui.core.errors import UnusableInput

SYNOPSIS = "paramtui [-h] [--version] [--config FILE] [--serve [--host HOST] [--port PORT]] PATH"
OVERVIEW = ("paramtui PATH", ("browse the checkpoint in the terminal UI (the default)",))


def open_tui(path: str, config_path: str | None = None) -> int:
    from paramtui.core.config import load_config

    config = load_config(config_path)  # a bad config stops here, before the file is read
    if not os.path.exists(path):
        raise UnusableInput(f"{path} does not exist. Check the path and try again.")
    from paramtui.tui.app import run_app

    return run_app(path, config)
