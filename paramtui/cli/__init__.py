"""The command line: `paramtui PATH` opens the TUI; `paramtui COMMAND ...` runs one of the
subcommands of paramtui.cli.registry (each a module of paramtui.cli.commands).

Only the chosen command's module is imported. stdout carries data only; progress, warnings and
errors go to stderr (paramtui.cli.base). Exit codes are listed in `paramtui --help`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence

from paramtui import __version__
from paramtui.cli import overview, registry
from paramtui.cli.base import Parser, UsageError, run_reported
from paramtui.cli.browse import open_tui
from paramtui.cli.commands.prefix_args import ORDER_HINT
from paramtui.cli.serve import DEFAULT_HOST, DEFAULT_PORT, serve_app

__all__ = ["SUBCOMMANDS", "UsageError", "command_parser", "main", "open_parser", "open_tui"]

SUBCOMMANDS = registry.names()
HELP_FLAGS = ("-h", "--help")
VALUED_OPTIONS = ("--config", "--host", "--port")  # the top-level options that take a value


def open_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="paramtui",
        usage=overview.usage(),
        description="A terminal instrument for PyTorch model parameters.",
        epilog=overview.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", nargs="?", metavar="PATH", help="checkpoint file or model folder")
    parser.add_argument("--version", action="version", version=f"paramtui {__version__}")
    parser.add_argument(
        "--config", metavar="FILE", help="the config file to use (see `paramtui config --path`)"
    )
    serving = parser.add_argument_group("browser tab")
    serving.add_argument(
        "--serve",
        action="store_true",
        help="serve the app to a browser tab (textual-serve)",
    )
    serving.add_argument(
        "--host", default=DEFAULT_HOST, help=f"the address to serve on (default {DEFAULT_HOST})"
    )
    serving.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT})"
    )
    return parser


def command_parser(names: Iterable[str] = SUBCOMMANDS) -> argparse.ArgumentParser:
    """The parser of the subcommands `names` (all by default), in the registry's order."""
    wanted = set(names)
    parser = Parser(prog="paramtui")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in registry.COMMANDS:
        if command.name in wanted:
            command.load().add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_reported(_dispatch, sys.argv[1:] if argv is None else argv)


def _dispatch(args: list[str]) -> int:
    first = _first_positional(args)
    if first not in SUBCOMMANDS:
        ns = open_parser().parse_args(args)
        if ns.path is None:
            raise UsageError(
                "no checkpoint given. Run `paramtui PATH` to browse a checkpoint, or "
                "`paramtui demo` to try the demo model.",
                open_parser().format_usage(),
            )
        if ns.serve:
            return serve_app(ns.path, ns.host, ns.port, ns.config)
        return open_tui(ns.path, ns.config)
    try:
        ns = command_parser(_parsers_needed(args, first)).parse_args(args)
    except UsageError as exc:
        if "required" in str(exc) and first is not None and os.path.exists(first):
            hint = f"to open the file named '{first}', run `paramtui ./{first}`"
            raise UsageError(f"{exc} ({hint})", exc.usage) from None
        if "required" in str(exc) and "--strip-prefix" in args:
            raise UsageError(f"{exc} ({ORDER_HINT})", exc.usage) from None
        raise
    return registry.find(ns.command).load().run(ns)


def _parsers_needed(args: list[str], command: str) -> tuple[str, ...]:
    """Only the command given, unless -h before it asks for the list of every command."""
    before = args[: args.index(command)]
    return SUBCOMMANDS if any(flag in before for flag in HELP_FLAGS) else (command,)


def _first_positional(args: list[str]) -> str | None:
    after_option = False
    for arg in args:
        if arg == "--":
            return None
        if (not arg.startswith("-") or arg == "-") and not after_option:
            return arg
        after_option = arg in VALUED_OPTIONS
    return None
