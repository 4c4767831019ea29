"""`paramtui scan PATH`: the whole-model health scan from a shell, and a CI gate (--fail-on).

Errors are raised (ParamtuiError and friends); paramtui.cli.main turns them into messages and
exit codes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from paramtui.analysis.scan.kinds import KINDS, kinds_help
from paramtui.cli.base import LineProgress, console
from paramtui.cli.commands.common_args import add_json_and_quiet

NAME = "scan"
HELP = "check every tensor for NaN/Inf, dead or exploding weights, duplicates, ..."
SYNOPSIS = "paramtui scan PATH [--json] [--fail-on KINDS]"
OVERVIEW = (
    "paramtui scan PATH",
    (
        "whole-model health scan: NaN/Inf, dead, exploding, vanishing,",
        "duplicate tensors, dtype mixes, gradients and optimizer",
        "state per parameter; per-layer trends; a CI gate",
    ),
)

EXIT_FINDINGS = 3  # --fail-on matched a warning or an error
FAIL_ON_WORDS = ("any", "error")

SCAN_EPILOG = f"""{kinds_help()}

--fail-on KINDS: comma-separated kinds, or 'error' (every error), or 'any'
  (every warning or error). Example: --fail-on nan,inf,exploding

exit codes:
  0    no warning or error of the --fail-on kinds (always 0 without --fail-on)
  1    internal error (a bug in paramtui)
  2    unusable input (missing, corrupt or unsupported file) or bad usage
  {EXIT_FINDINGS}    a warning or error of a --fail-on kind was found
  130  interrupted (Ctrl+C)"""


def add_parser(commands: Any) -> None:
    """Register `scan` on the subparsers action `commands`."""
    scan = commands.add_parser(
        NAME,
        prog="paramtui scan",
        help=HELP,
        description="Compute the statistics of every tensor and report anomalies, each with "
        "an explanation, then the per-layer trends. Progress goes to stderr on a terminal.",
        epilog=SCAN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scan.add_argument("path", metavar="PATH", help="checkpoint file or model folder")
    scan.add_argument(
        "--fail-on",
        metavar="KINDS",
        type=parse_fail_on,
        default=frozenset(),
        help=f"exit with {EXIT_FINDINGS} if a warning or error of these kinds is found",
    )
    add_json_and_quiet(scan)


def parse_fail_on(text: str) -> frozenset[str]:
    words = frozenset(w.strip() for w in text.split(",") if w.strip())
    unknown = sorted(words - set(KINDS) - set(FAIL_ON_WORDS))
    if not words or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown kind {', '.join(map(repr, unknown)) or repr(text)}; choose from "
            f"{', '.join(KINDS)}, or 'error' or 'any'"
        )
    return words


def run(ns: argparse.Namespace) -> int:
    from paramtui.analysis.scan.run import scan
    from paramtui.core.open import open_checkpoint

    index = open_checkpoint(ns.path)
    with LineProgress.for_stderr("scanning", ns.quiet) as progress:
        report = scan(index, progress=progress)
    matching = report.matching(ns.fail_on) if ns.fail_on else []
    if ns.json:
        from paramtui.render.json_out import write_json
        from paramtui.render.scan import scan_json

        write_json(scan_json(report, ns.fail_on, matching), sys.stdout)
    else:
        from paramtui.render.scan import scan_renderable

        console().print(scan_renderable(report))
    if matching:
        kinds = ", ".join(sorted({f.kind for f in matching}))
        sys.stderr.write(f"paramtui: {len(matching)} finding(s) match --fail-on ({kinds})\n")
        return EXIT_FINDINGS
    return 0
