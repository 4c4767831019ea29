"""The argparse side of `paramtui edit` / `paramtui convert`, and turning it into ops.

Edits are collected in command-line order by one argparse action, so `--zero a --prune b`
zeroes before it prunes. Prune modifiers (--amount, --threshold, --structured, --norm, --global)
belong to the --prune they follow; written before any --prune, they apply to every --prune.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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

EDIT_EPILOG = (
    """PATTERN: an exact tensor name, a module path (every tensor under it), or a glob
over full names ('model.blocks.*.mlp.*'); `paramtui ls IN` lists the names.
Edits apply in the order given. Prune options belong to the --prune they follow
(before any --prune they apply to all). Freezing records requires_grad=False in OUT
(the state_dict still loads with strict=True; paramtui.apply_freeze(model, OUT)
applies it). OUT's extension picks the format: .pth/.pt/.bin/.ckpt or .safetensors;
--format dcp writes a torch.distributed.checkpoint folder at OUT instead (see DCP below).

examples:
  paramtui edit ckpt.pth out.pth --freeze model.blocks.0 --zero model.lm_head.weight
  paramtui edit ckpt.pth out.pth --prune 'model.blocks.*' --amount 0.3 --global
  paramtui edit ckpt.pth out.pth --prune model.fc.weight --amount 0.5 --structured 0
  paramtui edit ckpt.pth --prune model --threshold 1e-3 --dry-run
  paramtui edit dcp_ckpt/ out.pth --zero model.head.bias     (DCP folder -> one .pth)
  paramtui edit dcp_ckpt/ dcp_out --format dcp --freeze model.embed

"""
    + DCP_HELP
)

CONVERT_EPILOG = (
    """OUT's extension picks the format (.safetensors, or .pth/.pt/.bin/.ckpt).
A folder (OUT ending in '/', an existing folder, or --shard-size) gets a sharded
Hugging Face layout: model-0000N-of-0000M.safetensors + model.safetensors.index.json, or with
--format bin pytorch_model-0000N-of-0000M.bin + pytorch_model.bin.index.json.
safetensors cannot hold shared storages (tied weights) or non-tensor entries
(epoch, optimizer settings): paramtui refuses and says so; --untie stores copies,
--tensors-only drops the non-tensor entries.

examples:
  paramtui convert model.pth model.safetensors
  paramtui convert train.pth weights.safetensors --tensors-only --untie
  paramtui convert model.safetensors hf-folder/ --shard-size 2GB
  paramtui convert ddp.pth plain.pth --strip-prefix        (module.x -> x)
  paramtui convert dcp_ckpt/ model.pth                       (DCP folder -> one .pth)
  paramtui convert model.pth dcp_ckpt --format dcp           (any checkpoint -> DCP)

--strip-prefix [PREFIX] renames the state dict's keys (the model part of a training
checkpoint): the wrapper prefix every key shares ('module.' of DataParallel/DDP,
'_orig_mod.' of torch.compile, 'model.module.') is detected, or give it. Names stay
unique, tied weights stay tied; a .pth output is rebuilt from a weights-only load
(a file that needs code to load is refused) and verified.

"""
    + DCP_HELP
)


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


def add_parsers(commands: Any) -> None:
    """Register `edit` and `convert` on the subparsers action `commands`."""
    edit = commands.add_parser(
        "edit",
        prog="paramtui edit",
        help="freeze, zero or prune tensors and save a copy",
        description="Apply edits to IN in order and save the result to OUT (IN is never "
        "written unless OUT is IN and --force is given). Prints each edit's effect per tensor, "
        "then the save report with its verification.",
        epilog=EDIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    edit.add_argument("input", metavar="IN", help="checkpoint file or model folder")
    edit.add_argument(
        "output",
        metavar="OUT",
        nargs="?",
        help="file to write, or folder with --format dcp (optional with --dry-run)",
    )
    _add_edit_options(edit)
    _add_save_options(edit)
    edit.add_argument(
        "--format",
        choices=("torch", "safetensors", "dcp"),
        help="output format (default: from OUT's extension); dcp: a DCP folder at OUT",
    )
    edit.add_argument(
        "--dry-run", action="store_true", help="show what would change; write nothing"
    )
    edit.set_defaults(steps=None)
    convert = commands.add_parser(
        "convert",
        prog="paramtui convert",
        help="copy a checkpoint into another format (pth <-> safetensors, sharded folders)",
        description="Save IN unchanged to OUT in the format OUT's extension names, "
        "losslessly and verified.",
        epilog=CONVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument("input", metavar="IN", help="checkpoint file or model folder")
    convert.add_argument("output", metavar="OUT", help="file, or folder for shards or --format dcp")
    _add_save_options(convert)
    convert.add_argument(
        "--shard-size",
        metavar="SIZE",
        help="write a sharded folder, shards of at most SIZE (e.g. 2GB)",
    )
    convert.add_argument(
        "--format",
        choices=("safetensors", "torch", "bin", "dcp"),
        help="output format (default: from OUT's extension; shards: safetensors); "
        "dcp: a DCP folder at OUT",
    )
    from paramtui.cli_prefix import add_strip_prefix

    add_strip_prefix(convert)


def _add_edit_options(parser: argparse.ArgumentParser) -> None:
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


def _add_save_options(parser: argparse.ArgumentParser) -> None:
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
    from paramtui.cli import UsageError
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
