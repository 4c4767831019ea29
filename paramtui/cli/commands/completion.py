"""`paramtui completion bash|zsh|fish`: print a shell completion script for paramtui."""

from __future__ import annotations

import argparse
from typing import Any

from paramtui.cli import command_parser, open_parser, registry
from paramtui.cli.completion import SHELLS, script, words_of

NAME = "completion"
HELP = "print a shell completion script (bash, zsh or fish)"
SYNOPSIS = "paramtui completion {bash,zsh,fish}"
OVERVIEW = ("paramtui completion SHELL", ("print a completion script for bash, zsh or fish",))


def add_parser(commands: Any) -> None:
    completion = commands.add_parser(
        NAME,
        prog="paramtui completion",
        help=HELP,
        description="Print a completion script for SHELL on stdout. "
        "bash: `source <(paramtui completion bash)` in ~/.bashrc; "
        "zsh: `source <(paramtui completion zsh)` in ~/.zshrc; "
        "fish: `paramtui completion fish > ~/.config/fish/completions/paramtui.fish`.",
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell to complete in")


def run(ns: argparse.Namespace) -> int:
    subparsers = next(
        action
        for action in command_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    commands = {
        command.name: (command.load().HELP, words_of(subparsers.choices[command.name]))
        for command in registry.COMMANDS
    }
    print(script(ns.shell, words_of(open_parser()), commands), end="")
    return 0
