"""`paramtui ls PATH`: one line per tensor (shape, dtype, saved device, size, sharing)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from paramtui.cli.base import console
from paramtui.cli.commands.prefix_args import add_view_parser, view_index

NAME = "ls"
HELP = "one line per tensor"
SYNOPSIS = "paramtui ls PATH [--json] [--strip-prefix [PREFIX]]"
OVERVIEW = ("paramtui ls PATH", ("one line per tensor: shape, dtype, saved device, size, sharing",))


def add_parser(commands: Any) -> None:
    add_view_parser(commands, NAME, HELP)


def run(ns: argparse.Namespace) -> int:
    from paramtui.core.open import open_checkpoint

    index = view_index(open_checkpoint(ns.path), ns)
    if ns.json:
        from paramtui.render.json_out import ls_json, write_json

        write_json(ls_json(index), sys.stdout)
        return 0
    from rich.text import Text

    from paramtui.render.ls_text import aligned_lines, ls_rows

    lines = aligned_lines(ls_rows(index))
    console().print(Text(next(lines), style="bold"), soft_wrap=True)
    for line in lines:
        sys.stdout.write(line + "\n")
    return 0
