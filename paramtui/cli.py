"""The command line: `paramtui PATH` opens the TUI; `summary`, `ls` and `demo` answer in text;
`edit` and `convert` (paramtui.cli_edit) write edited or converted copies.

stdout carries data only; progress, warnings and errors go to stderr. Under --json, errors are a
JSON document on stdout as well. Exit codes are listed in EPILOG."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from paramtui import __version__
from paramtui.cli_prefix import ORDER_HINT, add_strip_prefix, view_index
from paramtui.core.errors import ParamtuiError, UnusableInput

if TYPE_CHECKING:
    from rich.console import Console

SUBCOMMANDS = ("summary", "ls", "stats", "scan", "check-load", "demo", "edit", "convert")
DEBUG_ENV = "PARAMTUI_DEBUG"
STRIP_VIEW_HELP = (
    "show names without a wrapper prefix shared by the state dict "
    "('module.', '_orig_mod.', 'model.module.'; detected when not given)"
)

USAGE = """paramtui [-h] [--version] PATH
       paramtui summary PATH [--json] [--strip-prefix [PREFIX]]
       paramtui ls PATH [--json] [--strip-prefix [PREFIX]]
       paramtui stats PATH [NAME ...] [--bins N] [--json]
       paramtui scan PATH [--json] [--fail-on KINDS]
       paramtui check-load PATH --model MODULE:FACTORY [--prefix PREFIX] [--json]
       paramtui demo [--path]
       paramtui edit IN OUT [--freeze|--unfreeze|--zero|--prune PATTERN ...] [--dry-run]
       paramtui convert IN OUT [--shard-size SIZE] [--untie] [--tensors-only]
                               [--strip-prefix [PREFIX]]"""

EPILOG = """commands:
  paramtui PATH          browse the checkpoint in the terminal UI (the default)
  paramtui summary PATH  totals, dtypes, roles, top-level modules and metadata
  paramtui ls PATH       one line per tensor: shape, dtype, saved device, size, sharing
  paramtui stats PATH    exact statistics, quantiles and histograms of tensors
  paramtui scan PATH     whole-model health scan: NaN/Inf, dead, exploding, vanishing,
                         duplicate tensors, dtype mixes, gradients and optimizer
                         state per parameter; per-layer trends; a CI gate
  paramtui check-load PATH --model MODULE:FACTORY
                         would load_state_dict work? missing/unexpected keys, shape
                         mismatches (imports YOUR module and calls FACTORY)
  paramtui demo          build the demo checkpoint (once, cached) and browse it
  paramtui edit IN OUT   freeze, zero, prune (in the order given) and save a copy;
                         --dry-run shows the effect per tensor without writing
  paramtui convert IN OUT  pth <-> safetensors, or a sharded Hugging Face folder;
                         --strip-prefix drops a DataParallel/DDP 'module.' prefix
  Run `paramtui COMMAND -h` for a command's options. To open a file named like a
  command, give a path: `paramtui ./summary`.

formats (detected by content, whatever the extension):
  PyTorch checkpoints (.pth .pt .bin .ckpt ...), nested training checkpoints too
  legacy (pre-1.6, non-zip) PyTorch files
  safetensors files (with __metadata__)
  Hugging Face model folders: model.safetensors, sharded safetensors or
  pytorch_model*.bin with their index
  torch.distributed.checkpoint folders, TorchScript archives, torch.export .pt2,
  GGUF (with the optional gguf package: pip install 'paramtui[gguf]')

safety:
  paramtui never runs code from a file. Pickles (.pth/.bin/...) are read by a
  restricted unpickler: every class or function a file names becomes an inert
  placeholder, so full-model pickles and checkpoints with custom classes still list
  their tensors, and a malicious payload is shown, not run.

exit codes:
  0    success
  1    internal error (a bug in paramtui; rerun with PARAMTUI_DEBUG=1 for the traceback)
  2    unusable input (missing, corrupt, truncated or unsupported file), bad usage, an
       edit refused (bad pattern, integer tensor, ...) or a save refused (OUT exists
       without --force, a format that cannot hold the data, an output that did not
       verify: OUT is then left as it was)
  3    scan --fail-on: a finding of a failing kind was found
  4    check-load: the checkpoint would not load with strict=True
  130  interrupted (Ctrl+C)
  141  output pipe closed early (e.g. piped into `head`)

environment:
  PARAMTUI_CACHE   folder for the demo, the statistics cache and compiled kernels
                   (default ~/.cache/paramtui)
  PARAMTUI_DEBUG   set to 1 to show tracebacks of internal errors
  PARAMTUI_NATIVE  set to 0 to compute statistics with torch alone (no compiled kernels)"""


class UsageError(ParamtuiError):
    """Bad command-line usage (argparse's errors, raised instead of exiting)."""

    exit_code = 2

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.format_usage())


def open_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="paramtui",
        usage=USAGE,
        description="A terminal instrument for PyTorch model parameters.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", nargs="?", metavar="PATH", help="checkpoint file or model folder")
    parser.add_argument("--version", action="version", version=f"paramtui {__version__}")
    return parser


def command_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="paramtui")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (
        ("summary", "totals, dtypes, roles, top-level modules and metadata"),
        ("ls", "one line per tensor"),
    ):
        sub = commands.add_parser(
            name,
            prog=f"paramtui {name}",
            help=help_text,
            description=help_text.capitalize() + ".",
        )
        sub.add_argument("path", metavar="PATH", help="checkpoint file or model folder")
        sub.add_argument("--json", action="store_true", help="print JSON (with a schema version)")
        add_strip_prefix(sub, STRIP_VIEW_HELP)
    demo = commands.add_parser(
        "demo",
        prog="paramtui demo",
        help="build the demo checkpoint (once) and browse it",
        description="Build the demo checkpoint (a tiny transformer, trained for a few seconds; "
        "cached) and open it in the terminal UI.",
    )
    demo.add_argument("--path", action="store_true", help="only print the checkpoint's path")
    from paramtui.cli_analysis import add_parsers as add_analysis_parsers
    from paramtui.cli_check_load import add_parsers as add_check_load_parsers
    from paramtui.cli_edit_args import add_parsers

    add_parsers(commands)
    add_analysis_parsers(commands)
    add_check_load_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in args
    try:
        return _dispatch(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _pipe_closed()
    except ParamtuiError as exc:
        return _report(str(exc), exc.exit_code, wants_json, getattr(exc, "usage", ""))
    except Exception as exc:  # never a traceback unless asked for
        return _internal_error(exc, wants_json)


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
        return open_tui(ns.path)
    try:
        ns = command_parser().parse_args(args)
    except UsageError as exc:
        if "required" in str(exc) and first is not None and os.path.exists(first):
            hint = f"to open the file named '{first}', run `paramtui ./{first}`"
            raise UsageError(f"{exc} ({hint})", exc.usage) from None
        if "required" in str(exc) and "--strip-prefix" in args:
            raise UsageError(f"{exc} ({ORDER_HINT})", exc.usage) from None
        raise
    return COMMANDS[ns.command](ns)


def _first_positional(args: list[str]) -> str | None:
    for arg in args:
        if arg == "--":
            return None
        if not arg.startswith("-") or arg == "-":
            return arg
    return None


def open_tui(path: str) -> int:
    if not os.path.exists(path):
        raise UnusableInput(f"{path} does not exist. Check the path and try again.")
    from paramtui.tui.app import run_app

    return run_app(path)


def cmd_summary(ns: argparse.Namespace) -> int:
    from paramtui.analysis.summary import summarize
    from paramtui.core.open import open_checkpoint

    summary = summarize(view_index(open_checkpoint(ns.path), ns))
    if ns.json:
        from paramtui.render.json_out import summary_json, write_json

        write_json(summary_json(summary), sys.stdout)
    else:
        from paramtui.render.tables import summary_renderable

        _console().print(summary_renderable(summary))
    return 0


def cmd_ls(ns: argparse.Namespace) -> int:
    from paramtui.core.open import open_checkpoint

    index = view_index(open_checkpoint(ns.path), ns)
    if ns.json:
        from paramtui.render.json_out import ls_json, write_json

        write_json(ls_json(index), sys.stdout)
        return 0
    from rich.text import Text

    from paramtui.render.ls_text import aligned_lines, ls_rows

    lines = aligned_lines(ls_rows(index))
    _console().print(Text(next(lines), style="bold"), soft_wrap=True)
    for line in lines:
        sys.stdout.write(line + "\n")
    return 0


def cmd_demo(ns: argparse.Namespace) -> int:
    from paramtui.demo import build_demo

    path = build_demo()
    if ns.path:
        print(path)
        return 0
    return open_tui(path)


def cmd_edit(ns: argparse.Namespace) -> int:
    from paramtui.cli_edit import cmd_edit as run

    return run(ns)


def cmd_convert(ns: argparse.Namespace) -> int:
    from paramtui.cli_edit import cmd_convert as run

    return run(ns)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "summary": cmd_summary,
    "ls": cmd_ls,
    "demo": cmd_demo,
    "edit": cmd_edit,
    "convert": cmd_convert,
    "stats": lambda ns: _analysis("stats", ns),
    "scan": lambda ns: _analysis("scan", ns),
    "check-load": lambda ns: _check_load(ns),
}


def _check_load(ns: argparse.Namespace) -> int:
    from paramtui.cli_check_load import cmd_check_load

    return cmd_check_load(ns)


def _analysis(name: str, ns: argparse.Namespace) -> int:
    from paramtui.cli_analysis import COMMANDS as ANALYSIS

    return ANALYSIS[name](ns)


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _report(message: str, code: int, wants_json: bool, usage: str = "") -> int:
    from paramtui.render.format import safe_text

    if wants_json:
        from paramtui.render.json_out import error_json, write_json

        write_json(error_json(message, code), sys.stdout)
        sys.stdout.flush()
    sys.stderr.write(f"{usage}paramtui: error: {safe_text(message)}\n")
    return code


def _internal_error(exc: Exception, wants_json: bool) -> int:
    if os.environ.get(DEBUG_ENV):
        traceback.print_exc()
    message = (
        f"internal error ({type(exc).__name__}: {exc}). This is a bug in paramtui; please report "
        f"it with the command you ran. Rerun with {DEBUG_ENV}=1 to see the traceback."
    )
    return _report(message, 1, wants_json)


def _pipe_closed() -> int:
    """The reader went away (`| head`): silence the final flush instead of a second error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141
