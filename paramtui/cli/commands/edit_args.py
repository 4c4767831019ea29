"""The argparse parts `paramtui edit` and `paramtui convert` share, and turning edits into ops.

Edits are collected in command-line order by one argparse action, so `--zero a --prune b`
zeroes before it prunes. Prune modifiers (--amount, --threshold, --structured, --norm, --global)
belong to the --prune they follow; written before any --prune, they apply to every --prune.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from paramtui.cli.base import UsageError

if TYPE_CHECKING:
    from paramtui.edits.ops import Op

EDIT_FLAGS = ("--freeze", "--unfreeze", "--zero", "--prune", "--make-permanent")
PRUNE_MODIFIERS = {
    "--amount": "amount",
    "--threshold": "threshold",
    "--structured": "structured_dim",
    "--norm": "norm",
    "--global": "scope",
}

DCP_HELP = """DCP (torch.distributed.checkpoint folders, .metadata + *.distcp):
  from a DCP folder: OUT .pth gets the nested state dict dcp.save was given (sharded
  tensors assembled, non-tensor entries loaded with weights-only rules); .safetensors
  the tensors (with --tensors-only when the folder holds other entries).
  to a DCP folder (--format dcp): written by torch's own dcp.save in this process (no
  process group), loadable with dcp.load; non-tensor entries of a DCP source are
  copied byte for byte; requires_grad flags go to paramtui.requires_grad.json in it.
  OUT must be a new or empty folder, or (with --force) a DCP folder, which is replaced
  only once the new one is complete and verified."""


class _Step(argparse.Action):
    """Append (option, value) to `namespace.steps`, keeping the command-line order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        steps = list(getattr(namespace, "steps", None) or [])
        value = "global" if self.option_strings[0] == "--global" else values
        steps.append((self.option_strings[0], value))
        namespace.steps = steps


def add_edit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("edits (repeatable, applied in order)")
    helps = {
        "--freeze": "record requires_grad=False for the parameters under PATTERN",
        "--unfreeze": "record requires_grad=True for the parameters under PATTERN",
        "--zero": "set to zero (a subtree or glob: its float parameters)",
        "--prune": "prune by magnitude (with --amount or --threshold)",
        "--make-permanent": "turn <x>_orig + <x>_mask pairs into <x> = orig * mask",
    }
    for flag in EDIT_FLAGS:
        group.add_argument(flag, action=_Step, dest="steps", metavar="PATTERN", help=helps[flag])
    prune = parser.add_argument_group("prune options")
    prune.add_argument(
        "--amount",
        action=_Step,
        dest="steps",
        type=float,
        metavar="P",
        help="prune the smallest fraction P (0..1) of elements (L1)",
    )
    prune.add_argument(
        "--threshold",
        action=_Step,
        dest="steps",
        type=float,
        metavar="T",
        help="prune elements with |x| < T",
    )
    prune.add_argument(
        "--structured",
        action=_Step,
        dest="steps",
        type=int,
        metavar="DIM",
        help="prune whole slices along DIM by their Ln norm (needs --amount)",
    )
    prune.add_argument(
        "--norm",
        action=_Step,
        dest="steps",
        type=float,
        metavar="N",
        help="the norm for --structured (default 1; 'inf' allowed)",
    )
    prune.add_argument(
        "--global",
        action=_Step,
        dest="steps",
        nargs=0,
        help="one cut across every tensor the pattern selects",
    )


def add_save_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("saving")
    group.add_argument(
        "--force",
        action="store_true",
        help="overwrite OUT if it exists (also OUT == IN, replaced atomically)",
    )
    group.add_argument(
        "--untie",
        action="store_true",
        help="safetensors: store separate copies of tensors that share storage",
    )
    group.add_argument(
        "--tensors-only",
        action="store_true",
        help="safetensors/shards: drop non-tensor entries (epoch, optimizer settings, ...)",
    )
    group.add_argument("--json", action="store_true", help="print JSON (with a schema version)")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def build_ops(steps: Sequence[tuple[str, Any]] | None) -> list[Op]:
    """The ops in command-line order; prune modifiers merged into their --prune."""
    from paramtui.edits.ops import Freeze, MakePrunePermanent, Prune, Unfreeze, Zero

    simple = {
        "--freeze": Freeze,
        "--unfreeze": Unfreeze,
        "--zero": Zero,
        "--make-permanent": MakePrunePermanent,
    }
    defaults: dict[str, Any] = {}
    items: list[Any] = []  # ops, and dicts of prune arguments still being filled
    current: dict[str, Any] | None = None
    for flag, value in steps or []:
        if flag in PRUNE_MODIFIERS:
            into = current if current is not None else defaults
            key = PRUNE_MODIFIERS[flag]
            if key in into:
                raise UsageError(f"{flag} is given twice for one --prune.")
            into[key] = value
        elif flag == "--prune":
            current = {"target": value}
            items.append(current)
        else:
            items.append(simple[flag](value))
    if defaults and current is None:
        flags = [f for f, k in PRUNE_MODIFIERS.items() if k in defaults]
        verb = "applies" if len(flags) == 1 else "apply"
        raise UsageError(f"{', '.join(flags)} {verb} to --prune only, and no --prune was given.")
    return [Prune(**{**defaults, **i}) if isinstance(i, dict) else i for i in items]
