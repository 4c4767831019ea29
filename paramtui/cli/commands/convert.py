"""`paramtui convert IN OUT`: pth <-> safetensors, a sharded Hugging Face folder or DCP.

run() saves IN unchanged (or with a wrapper prefix stripped) through io.save, which picks the
writer from OUT and the options, and prints the save report.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from paramtui.cli.base import UsageError
from paramtui.cli.commands.edit_args import DCP_HELP, add_save_options
from paramtui.cli.commands.prefix_args import add_strip_prefix, strip_plan
from paramtui.cli.commands.saving import check_output, open_index, progress, save_options
from paramtui.core.state import SourceState
from paramtui.io.destination import is_folder
from paramtui.io.save import save

if TYPE_CHECKING:
    from paramtui.io.report import SaveReport

NAME = "convert"
HELP = "copy a checkpoint into another format (pth <-> safetensors, sharded folders)"
SYNOPSIS = """paramtui convert IN OUT [--shard-size SIZE] [--untie] [--tensors-only]
                        [--strip-prefix [PREFIX]]"""
OVERVIEW = (
    "paramtui convert IN OUT",
    (
        "pth <-> safetensors, or a sharded Hugging Face folder;",
        "--strip-prefix drops a DataParallel/DDP 'module.' prefix",
    ),
)

CONVERT_EPILOG = (
    """OUT's extension picks the format (.safetensors, or .pth/.pt/.bin/.ckpt, also as in
.pth.tar); one that does not say keeps IN's format.
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


def add_parser(commands: Any) -> None:
    """Register `convert` on the subparsers action `commands`."""
    convert = commands.add_parser(
        NAME,
        prog="paramtui convert",
        help=HELP,
        description="Save IN unchanged to OUT in the format OUT's extension names, "
        "losslessly and verified.",
        epilog=CONVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument("input", metavar="IN", help="checkpoint file or model folder")
    convert.add_argument("output", metavar="OUT", help="file, or folder for shards or --format dcp")
    add_save_options(convert)
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
    add_strip_prefix(convert)


def run(ns: argparse.Namespace) -> int:
    say = progress(ns)
    fmt = {"bin": "torch"}.get(ns.format, ns.format)
    shard_size = ns.shard_size or None
    _refuse_with_dcp(ns, fmt)
    if fmt == "dcp" or (shard_size is None and not is_folder(ns.output)):
        check_output(ns)  # a sharded folder is checked file by file when it is written
    state = SourceState(open_index(ns.input, say))
    plan = _strip_plan(ns, state.index, say)
    report = save(
        state, ns.output, format=fmt, shard_size=shard_size, rename=plan, progress=say,
        **save_options(ns),
    )  # fmt: skip
    _print_convert(ns, state, report)
    return 0


def _strip_plan(ns: argparse.Namespace, index: Any, say: Callable[[str], None]) -> Any:
    """The renames of --strip-prefix (None without it)."""
    if getattr(ns, "strip_prefix", None) is None:
        return None
    plan = strip_plan(index, ns.strip_prefix)
    say(plan.describe())
    return plan


def _refuse_with_dcp(ns: argparse.Namespace, fmt: str | None) -> None:
    if fmt != "dcp":
        return
    for flag, given in (
        ("--shard-size", ns.shard_size),
        ("--strip-prefix", getattr(ns, "strip_prefix", None)),
    ):
        if given is not None:
            raise UsageError(
                f"{flag} does not apply to --format dcp: a DCP folder is written as one "
                "torch.distributed.checkpoint save. Convert in two steps (to .pth first)."
            )


def _print_convert(ns: argparse.Namespace, state: SourceState, report: SaveReport) -> None:
    from paramtui.render import edit_text

    if ns.json:
        from paramtui.render.json_out import convert_json, write_json

        write_json(convert_json(ns.input, state, report), sys.stdout)
        return
    lines = list(edit_text.save_lines(report))
    lines.extend(edit_text.shard_lines(report))
    sys.stdout.write("".join(line + "\n" for line in lines))
