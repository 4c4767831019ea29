"""The subcommands, in the order `paramtui --help` lists them: one registration line each.

A command is a module of paramtui.cli.commands that declares NAME, HELP (argparse's one-line
help), SYNOPSIS (its lines of the top-level usage block), OVERVIEW (its entry in the top-level
commands list), add_parser(commands) and run(namespace). Only the module of the command being
run is imported; `paramtui --help` imports them all.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from typing import Any, Protocol, cast


class CommandModule(Protocol):
    NAME: str
    HELP: str
    SYNOPSIS: str
    OVERVIEW: tuple[str, tuple[str, ...]]  # (invocation, description lines)

    def add_parser(self, commands: Any) -> None: ...

    def run(self, ns: argparse.Namespace) -> int: ...


@dataclass(frozen=True)
class Command:
    name: str
    module: str

    def load(self) -> CommandModule:
        return cast(CommandModule, importlib.import_module(self.module))


COMMANDS: tuple[Command, ...] = (
    Command("summary", "paramtui.cli.commands.summary"),
    Command("ls", "paramtui.cli.commands.ls"),
    Command("stats", "paramtui.cli.commands.stats"),
    Command("scan", "paramtui.cli.commands.scan"),
    Command("check-load", "paramtui.cli.commands.check_load"),
    Command("demo", "paramtui.cli.commands.demo"),
    Command("edit", "paramtui.cli.commands.edit"),
    Command("convert", "paramtui.cli.commands.convert"),
    Command("config", "paramtui.cli.commands.config"),
    Command("doctor", "paramtui.cli.commands.doctor"),
    Command("completion", "paramtui.cli.commands.completion"),
)


def names() -> tuple[str, ...]:
    return tuple(command.name for command in COMMANDS)


def find(name: str) -> Command:
    for command in COMMANDS:
        if command.name == name:
            return command
    raise KeyError(name)
