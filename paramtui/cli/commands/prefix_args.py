"""`--strip-prefix [PREFIX]` for `paramtui ls`, `summary` and `convert`: names without a
DataParallel/DDP `module.` (or torch.compile `_orig_mod.`) wrapper prefix.

ls and summary show a renamed index (nothing is read or written); convert writes a copy whose
state dict keys have lost the prefix (paramtui.io.save_renamed). add_view_parser registers
ls and summary, which take the same arguments.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paramtui.core.model import CheckpointIndex
    from paramtui.core.prefix import StripPlan

AUTO = "<auto>"  # --strip-prefix without a value: detect the wrapper prefix
HELP = (
    "drop a wrapper prefix shared by every name of the state dict (the model part of a "
    "training checkpoint): 'module.' (DataParallel/DDP), '_orig_mod.' (torch.compile), "
    "'model.module.'; detected when PREFIX is not given"
)
STRIP_VIEW_HELP = (
    "show names without a wrapper prefix shared by the state dict "
    "('module.', '_orig_mod.', 'model.module.'; detected when not given)"
)
ORDER_HINT = (
    "--strip-prefix takes an optional PREFIX: write it after the paths, or as --strip-prefix=PREFIX"
)


def add_strip_prefix(parser: argparse.ArgumentParser, help_text: str = HELP) -> None:
    parser.add_argument(
        "--strip-prefix",
        nargs="?",
        const=AUTO,
        default=None,
        metavar="PREFIX",
        help=help_text,
    )


def add_view_parser(commands: Any, name: str, help_text: str) -> None:
    """Register `name PATH [--json] [--strip-prefix [PREFIX]]` on the subparsers `commands`."""
    sub = commands.add_parser(
        name,
        prog=f"paramtui {name}",
        help=help_text,
        description=help_text.capitalize() + ".",
    )
    sub.add_argument("path", metavar="PATH", help="checkpoint file or model folder")
    sub.add_argument("--json", action="store_true", help="print JSON (with a schema version)")
    add_strip_prefix(sub, STRIP_VIEW_HELP)


def strip_plan(index: CheckpointIndex, value: str) -> StripPlan:
    """The renames `--strip-prefix value` asks for (UnusableInput when there is nothing)."""
    from paramtui.core.prefix import plan_strip

    return plan_strip(index, None if value == AUTO else value)


def view_index(index: CheckpointIndex, ns: argparse.Namespace) -> CheckpointIndex:
    """The index to show: renamed when --strip-prefix was given (a note goes to stderr)."""
    value = getattr(ns, "strip_prefix", None)
    if value is None:
        return index
    from paramtui.core.prefix import stripped_index

    plan = strip_plan(index, value)
    sys.stderr.write(f"paramtui: {_safe(plan.describe())}\n")
    return stripped_index(index, plan)


def _safe(text: str) -> str:
    from paramtui.render.format import safe_text

    return safe_text(text)
