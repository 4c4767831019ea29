"""`paramtui --serve PATH`: the same app in a browser tab, through textual-serve.

Each browser tab starts `python -m paramtui PATH` of its own behind a websocket. The server
binds to 127.0.0.1 unless told otherwise: whoever reaches the port drives the app (and can save
files as the user who started it), so another host gets a warning first."""

from __future__ import annotations

import ipaddress
import os
import shlex
import sys
from typing import TYPE_CHECKING, Any

from paramtui.core.errors import UnusableInput

if TYPE_CHECKING:
    from textual_serve.server import Server

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def serve_app(path: str, host: str, port: int, config_path: str | None = None) -> int:
    from paramtui.core.config import load_config

    load_config(config_path)  # a bad config is reported here, not in every browser tab
    if not os.path.exists(path):
        raise UnusableInput(f"{path} does not exist. Check the path and try again.")
    if not is_loopback(host):
        sys.stderr.write(
            f"paramtui: warning: serving on {host}: anyone who can reach port {port} of this "
            "machine gets the app, with your files and permissions. Use the default host "
            "(127.0.0.1) and an SSH tunnel to keep it private.\n"
        )
    server = _server(app_command(path, config_path), host, port)
    server.serve()
    return 0


def app_command(path: str, config_path: str | None) -> str:
    """The shell command each browser tab runs."""
    args = [sys.executable, "-m", "paramtui"]
    if config_path is not None:
        args += ["--config", os.path.abspath(config_path)]
    return shlex.join([*args, os.path.abspath(path)])


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _server(command: str, host: str, port: int) -> Server:
    from rich.console import Console

    try:
        from textual_serve.server import Server
    except ImportError:
        raise UnusableInput(
            "--serve needs the textual-serve package: pip install 'paramtui[serve]' "
            "(or pip install textual-serve into this environment)."
        ) from None

    class PrintedServer(Server):
        """textual-serve with its log on stderr and paramtui's one line with the URL."""

        async def on_startup(self, app: Any) -> None:
            print(f"paramtui: serving at {self.public_url} (Ctrl+C stops)", flush=True)

    server = PrintedServer(command, host=host, port=port, title="paramtui")
    server.console = Console(stderr=True)
    return server
