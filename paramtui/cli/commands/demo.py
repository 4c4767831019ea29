"""`paramtui demo`: build the demo checkpoint (once, cached) and browse it."""

from __future__ import annotations

import argparse
from typing import Any

from paramtui.cli.browse import open_tui

NAME = "demo"
HELP = "build the demo checkpoint (once) and browse it"
SYNOPSIS = "paramtui demo [--path] [--config FILE]"
OVERVIEW = ("paramtui demo", ("build the demo checkpoint (once, cached) and browse it",))


def add_parser(commands: Any) -> None:
    demo = commands.add_parser(
        NAME,
        prog="paramtui demo",
        help=HELP,
        description="Build the demo checkpoint (a tiny transformer, trained for a few seconds; "
        "cached) and open it in the terminal UI.",
    )
    demo.add_argument("--path", action="store_true", help="only print the checkpoint's path")
    demo.add_argument("--config", metavar="FILE", help="the config file to use")


def run(ns: argparse.Namespace) -> int:
    from paramtui.demo import build_demo

    path = build_demo()
    if ns.path:
        print(path)
        return 0
    return open_tui(path, ns.config)
