"""`paramtui edit` and `paramtui convert`: the edit session and the save path from a shell.

The options are defined in paramtui.cli_edit_args; these functions run a parsed command: open
the checkpoint, apply the edits in order, save (or not, with --dry-run) and print the result.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any, TypedDict

from paramtui.cli_edit_args import add_parsers, build_ops
from paramtui.core.errors import SaveRefused

__all__ = ["add_parsers", "build_ops", "cmd_convert", "cmd_edit"]


def cmd_edit(ns: argparse.Namespace) -> int:
    from paramtui.cli import UsageError

    ops = build_ops(ns.steps)
    if not ops:
        raise UsageError(
            "no edits given. Add --freeze, --unfreeze, --zero, --prune or --make-permanent "
            "(see `paramtui edit -h`); to copy or change the format without edits, use "
            "`paramtui convert`."
        )
    if ns.output is None and not ns.dry_run:
        raise UsageError("give OUT, the file to write (or --dry-run to only show the effect).")
    say = _progress(ns)
    _check_output(ns)
    session = _open_session(ns.input, say)
    records = []
    for number, op in enumerate(ops, 1):
        say(f"[{number}/{len(ops)}] {op.describe()} {op.target or '(everything)'}")
        records.append(session.apply(op))
    report = None
    if not ns.dry_run:
        from paramtui.io.save import save

        report = save(session, ns.output, format=ns.format, progress=say, **_save_options(ns))
    _print_edit(ns, session, records, report)
    return 0


def cmd_convert(ns: argparse.Namespace) -> int:
    say = _progress(ns)
    out = ns.output
    fmt = {"bin": "torch"}.get(ns.format, ns.format)
    _refuse_with_dcp(ns, fmt)
    folder = out.endswith(("/", os.sep)) or os.path.isdir(out)
    sharded = fmt != "dcp" and (bool(ns.shard_size) or folder)
    if not sharded:
        _check_output(ns)
    session = _open_session(ns.input, say)
    plan = _strip_plan(ns, session.index, say)
    if plan is not None and sharded:  # shards are written from the session's (new) names
        from paramtui.core.prefix import stripped_index
        from paramtui.edits.session import EditSession

        session = EditSession(stripped_index(session.index, plan))
    report: Any
    if sharded:
        from paramtui.io.sharded import DEFAULT_SHARD_SIZE, parse_size, write_sharded

        size = parse_size(ns.shard_size) if ns.shard_size else DEFAULT_SHARD_SIZE
        report = write_sharded(
            session,
            out,
            format=fmt or "safetensors",
            max_shard_size=size,
            progress=say,
            **_save_options(ns),
        )
    elif plan is not None:
        from paramtui.io.save_renamed import save_renamed

        report = save_renamed(
            session.index, plan, out, format=fmt, progress=say, **_save_options(ns)
        )
    else:
        from paramtui.io.save import save

        report = save(session, out, format=fmt, progress=say, **_save_options(ns))
    _print_convert(ns, session, report)
    return 0


def _strip_plan(ns: argparse.Namespace, index: Any, say: Callable[[str], None]) -> Any:
    """The renames of --strip-prefix (None without it)."""
    if getattr(ns, "strip_prefix", None) is None:
        return None
    from paramtui.cli_prefix import strip_plan

    plan = strip_plan(index, ns.strip_prefix)
    say(plan.describe())
    return plan


def _refuse_with_dcp(ns: argparse.Namespace, fmt: str | None) -> None:
    from paramtui.cli import UsageError

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


class _SaveOptions(TypedDict):
    overwrite: bool
    allow_untie: bool
    tensors_only: bool


def _save_options(ns: argparse.Namespace) -> _SaveOptions:
    return {"overwrite": ns.force, "allow_untie": ns.untie, "tensors_only": ns.tensors_only}


def _open_session(path: str, say: Callable[[str], None]) -> Any:
    from paramtui.core.open import open_checkpoint
    from paramtui.edits.session import EditSession

    index = open_checkpoint(path)
    say(f"opened {path} ({index.format}, {len(index)} tensors)")
    return EditSession(index)


def _check_output(ns: argparse.Namespace) -> None:
    """Refuse an existing OUT before any work (save() checks again when it writes)."""
    out = ns.output
    if out is not None and getattr(ns, "format", None) == "dcp" and not getattr(ns, "dry_run", 0):
        from paramtui.io.atomic import check_folder_destination

        check_folder_destination(out, overwrite=ns.force)  # an empty folder is fine
        return
    if out is None or not os.path.exists(out) or ns.force:
        return
    if getattr(ns, "dry_run", False):
        _progress(ns)(f"note: {out} exists; the real run needs --force to replace it")
        return
    same = os.path.exists(ns.input) and os.path.samefile(out, ns.input)
    raise SaveRefused(
        f"{out} already exists{' (it is the input file)' if same else ''}. Choose a new name, "
        "or add --force to replace it; it is replaced atomically once the new file is "
        "complete and the input is never modified in place."
    )


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


def _print_convert(ns: argparse.Namespace, session: Any, report: Any) -> None:
    from paramtui.render import edit_text

    if ns.json:
        from paramtui.render.json_out import convert_json, write_json

        write_json(convert_json(ns.input, session, report), sys.stdout)
        return
    lines = list(edit_text.save_lines(report))
    lines.extend(edit_text.shard_lines(report))
    sys.stdout.write("".join(line + "\n" for line in lines))


def _progress(ns: argparse.Namespace) -> Callable[[str], None]:
    if ns.quiet:
        return lambda _: None

    def say(message: str) -> None:
        from paramtui.render.format import safe_text

        sys.stderr.write(f"paramtui: {safe_text(message)}\n")
        sys.stderr.flush()

    return say
