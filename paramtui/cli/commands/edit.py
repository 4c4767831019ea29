"""`paramtui edit IN OUT`: freeze, zero, prune (in the order given) and save a copy.

The options are shared with convert in paramtui.cli.commands.edit_args; run() opens the
checkpoint, applies the edits in order, saves (or not, with --dry-run) and prints the result.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from paramtui.cli.base import UsageError
from paramtui.cli.commands.edit_args import (
    DCP_HELP,
    add_edit_options,
    add_save_options,
    build_ops,
)
from paramtui.cli.commands.saving import check_output, open_index, progress, save_options

NAME = "edit"
HELP = "freeze, zero or prune tensors and save a copy"
SYNOPSIS = "paramtui edit IN OUT [--freeze|--unfreeze|--zero|--prune PATTERN ...] [--dry-run]"
OVERVIEW = (
    "paramtui edit IN OUT",
    (
        "freeze, zero, prune (in the order given) and save a copy;",
        "--dry-run shows the effect per tensor without writing",
    ),
)

EDIT_EPILOG = (
    """PATTERN: an exact tensor name, a module path (every tensor under it), or a glob
over full names ('model.blocks.*.mlp.*'); `paramtui ls IN` lists the names.
Edits apply in the order given. Prune options belong to the --prune they follow
(before any --prune they apply to all). Freezing records requires_grad=False in OUT
(the state_dict still loads with strict=True; paramtui.apply_freeze(model, OUT)
applies it). OUT's extension picks the format: .pth/.pt/.bin/.ckpt (also as in timm's
.pth.tar) or .safetensors; one that does not say keeps IN's format (torch or safetensors);
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


def add_parser(commands: Any) -> None:
    """Register `edit` on the subparsers action `commands`."""
    edit = commands.add_parser(
        NAME,
        prog="paramtui edit",
        help=HELP,
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
    add_edit_options(edit)
    add_save_options(edit)
    edit.add_argument(
        "--format",
        choices=("torch", "safetensors", "dcp"),
        help="output format (default: from OUT's extension); dcp: a DCP folder at OUT",
    )
    edit.add_argument(
        "--dry-run", action="store_true", help="show what would change; write nothing"
    )
    edit.set_defaults(steps=None)


def run(ns: argparse.Namespace) -> int:
    ops = build_ops(ns.steps)
    if not ops:
        raise UsageError(
            "no edits given. Add --freeze, --unfreeze, --zero, --prune or --make-permanent "
            "(see `paramtui edit -h`); to copy or change the format without edits, use "
            "`paramtui convert`."
        )
    if ns.output is None and not ns.dry_run:
        raise UsageError("give OUT, the file to write (or --dry-run to only show the effect).")
    say = progress(ns)
    check_output(ns)
    from paramtui.edits.session import EditSession

    session = EditSession(open_index(ns.input, say))
    records = []
    for number, op in enumerate(ops, 1):
        say(f"[{number}/{len(ops)}] {op.describe()} {op.target or '(everything)'}")
        records.append(session.apply(op))
    report = None
    if not ns.dry_run:
        from paramtui.io.save import save

        report = save(session, ns.output, format=ns.format, progress=say, **save_options(ns))
    _print_edit(ns, session, records, report)
    return 0


def _print_edit(ns: argparse.Namespace, session: Any, records: list[Any], report: Any) -> None:
    from paramtui.render import edit_text

    total = edit_text.overall(records, len(session.grad_intents()))
    if ns.json:
        from paramtui.render.json_out import edit_json, write_json

        write_json(
            edit_json(ns.input, ns.output, session, records, total, report, ns.dry_run), sys.stdout
        )
        return
    lines = list(edit_text.edit_lines(records))
    lines.append(edit_text.overall_line(total))
    if report is None:
        lines.append("dry run: nothing was written")
    else:
        lines.extend(edit_text.save_lines(report))
    sys.stdout.write("".join(line + "\n" for line in lines))
