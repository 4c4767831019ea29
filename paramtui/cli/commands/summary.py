"""`paramtui summary PATH`: totals, dtypes, roles, top-level modules and metadata."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from paramtui.cli.base import console
from paramtui.cli.commands.prefix_args import add_view_parser, view_index

NAME = "summary"
HELP = "totals, dtypes, roles, top-level modules and metadata"
SYNOPSIS = "paramtui summary PATH [--json] [--strip-prefix [PREFIX]]"
OVERVIEW = ("paramtui summary PATH", ("totals, dtypes, roles, top-level modules and metadata",))


def add_parser(commands: Any) -> None:
    add_view_parser(commands, NAME, HELP)


def run(ns: argparse.Namespace) -> int:
    from paramtui.analysis.summary import summarize
    from paramtui.core.open import open_checkpoint

    summary = summarize(view_index(open_checkpoint(ns.path), ns))
    if ns.json:
        from paramtui.render.json_out import summary_json, write_json

        write_json(summary_json(summary), sys.stdout)
    else:
        from paramtui.render.tables import summary_renderable

        console().print(summary_renderable(summary))
    return 0
