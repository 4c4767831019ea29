"""`paramtui config`: where the config file is, an example of one, and the binding ids a keymap
can name. With no option it checks the file and says what it sets."""

from __future__ import annotations

import argparse
from typing import Any

NAME = "config"
HELP = "the config file: its path, an example, a check, the keymap's binding ids"
SYNOPSIS = "paramtui config [--path | --example | --keys] [--config FILE]"
OVERVIEW = (
    "paramtui config",
    ("the config file (keymap, theme, split width, save format): --path, --example, --keys",),
)


def add_parser(commands: Any) -> None:
    config = commands.add_parser(
        NAME,
        prog="paramtui config",
        help=HELP,
        description="Show where paramtui reads its config file ($XDG_CONFIG_HOME/paramtui/"
        "config.toml, else ~/.config/paramtui/config.toml), print an example of one, or list "
        "the binding ids its [keymap] can name. Without an option: check the file and print "
        "what it sets.",
    )
    which = config.add_mutually_exclusive_group()
    which.add_argument("--path", action="store_true", help="print the config file's path")
    which.add_argument("--example", action="store_true", help="print an example config file")
    which.add_argument("--keys", action="store_true", help="list the binding ids and their keys")
    config.add_argument("--config", metavar="FILE", help="check this file instead")


def run(ns: argparse.Namespace) -> int:
    from paramtui.core.config import EXAMPLE, default_path, load_config

    if ns.path:
        print(ns.config or default_path())
    elif ns.example:
        print(EXAMPLE, end="")
    elif ns.keys:
        _print_keys()
    else:
        config = load_config(ns.config)
        print(f"# {config.path or f'{default_path()} (not there: the defaults)'}")
        for name in ("theme", "detail_width", "save_format"):
            print(f"{name} = {getattr(config, name)!r}")
        for binding_id, keys in sorted(config.keymap.items()):
            print(f"keymap {binding_id} = {keys!r}")
    return 0


def _print_keys() -> None:
    import paramtui.tui.app  # noqa: F401  (imports every screen and widget that has bindings)
    from paramtui.tui.bindings import binding_rows

    for row in binding_rows():
        print(f"{row.id:<28} {row.key:<22} {row.description}")
