"""`paramtui scan PATH`: the whole-model health scan from a shell, and a CI gate (--fail-on).

Errors are raised (ParamtuiError and friends); paramtui.cli.main turns them into messages and
exit codes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

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

SCAN_EPILOG = f"""checks (kinds for --fail-on):
  nan, inf       NaN or infinite values (every tensor, optimizer state too)  error
  all_zero       a weight that is entirely zero                            warning
  constant       a weight whose values are all equal                       warning
  exploding      |max| above 1e4, or RMS / |max| 100x above its peers      warning
  vanishing      RMS below 1e-8, or 100x below its peers                   warning
  dead_rows      rows (output channels) that are entirely zero             warning
  dead_columns   columns (input channels) that are entirely zero           warning
  duplicate      identical values under two names, not tied                warning
  dtype_mix      a tensor in another precision than its peers, float64
                 weights, optimizer state narrower than the weights        warning
  unreadable     tensor bytes missing from the file                          error
  gradient_nan   NaN or Inf in a recorded gradient (paramtui snapshots)      error
  no_gradient    trainable (requires_grad) but .grad is None while others
                 have one                                                  warning
  frozen_with_optimizer_state
                 requires_grad=False but the optimizer holds state for it  warning
  trainable_without_state
                 in a param group, never stepped (no state) while others
                 were: warning when recorded trainable, else a note
  not_in_optimizer  in no param group while others are (usually frozen)       info
  optimizer_unmapped  optimizer state not tied to names: why no check ran     info
  Peers are the tensors of the same name pattern across layers
  (layers.#.attn.q_proj.weight); vectors (biases, norm scales) need 1000x.
  Zero biases, unit norm scales and zero padding rows of embeddings are
  reported as notes (info): they are usual in healthy models and never fail.

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
    from paramtui.analysis.scan.findings import KINDS

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
