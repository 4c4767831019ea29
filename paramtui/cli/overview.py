"""The top-level `paramtui --help`: its usage block and epilog, generated from the command
registry and the format registry, plus the sections that belong to paramtui as a whole."""

from __future__ import annotations

import textwrap

from paramtui.cli import browse, registry
from paramtui.core.formats.registry import FORMATS

USAGE_INDENT = " " * len("usage: ")
COLUMN = 25  # where command descriptions start in the commands list
WIDTH = 88  # a long invocation keeps its description on its line while it ends before this

COMMANDS_TAIL = """  Run `paramtui COMMAND -h` for a command's options. To open a file named like a
  command, give a path: `paramtui ./summary`."""

SAFETY = """safety:
  paramtui never runs code from a file. Pickles (.pth/.bin/...) are read by a
  restricted unpickler: every class or function a file names becomes an inert
  placeholder, so full-model pickles and checkpoints with custom classes still list
  their tensors, and a malicious payload is shown, not run."""

EXIT_CODES = """exit codes:
  0    success
  1    internal error (a bug in paramtui; rerun with PARAMTUI_DEBUG=1 for the traceback)
  2    unusable input (missing, corrupt, truncated or unsupported file), bad usage, an
       edit refused (bad pattern, integer tensor, ...) or a save refused (OUT exists
       without --force, a format that cannot hold the data, an output that did not
       verify: OUT is then left as it was)
  3    scan --fail-on: a finding of a failing kind was found
  4    check-load: the checkpoint would not load with strict=True
  130  interrupted (Ctrl+C)
  141  output pipe closed early (e.g. piped into `head`)"""

ENVIRONMENT = """environment:
  PARAMTUI_CACHE   folder for the demo, the statistics cache and compiled kernels
                   (default ~/.cache/paramtui)
  PARAMTUI_DEBUG   set to 1 to show tracebacks of internal errors
  PARAMTUI_NATIVE  set to 0 to compute statistics with torch alone (no compiled kernels)"""


def usage() -> str:
    synopses = [browse.SYNOPSIS] + [c.load().SYNOPSIS for c in registry.COMMANDS]
    return f"\n{USAGE_INDENT}".join("\n".join(synopses).splitlines())


def epilog() -> str:
    return "\n\n".join((commands_section(), formats_section(), SAFETY, EXIT_CODES, ENVIRONMENT))


def commands_section() -> str:
    entries = [browse.OVERVIEW] + [c.load().OVERVIEW for c in registry.COMMANDS]
    lines = ["commands:"]
    for invocation, description in entries:
        lines.extend(entry_lines(invocation, description))
    return "\n".join(lines) + "\n" + COMMANDS_TAIL


def entry_lines(invocation: str, description: tuple[str, ...]) -> list[str]:
    """An invocation and its description, the description at COMMAND_COLUMN (or after the
    invocation when that reaches past it, or on the next line when the line would get long)."""
    label = f"  {invocation}"
    first, rest = description[0], description[1:]
    if len(label) + 2 <= COLUMN:
        head = [label.ljust(COLUMN) + first]
    elif len(label) + 2 + len(first) < WIDTH:
        head = [f"{label}  {first}"]
    else:
        head = [label, " " * COLUMN + first]
    return head + [" " * COLUMN + line for line in rest]


def formats_section() -> str:
    """The formats' descriptions, in the order detection tries them, wrapped at 80 columns."""
    lines = ["formats (detected by content, whatever the extension):"]
    for fmt in FORMATS:
        lines.extend(
            textwrap.wrap(fmt.description, 80, initial_indent="  ", subsequent_indent="  ")
        )
    return "\n".join(lines)
