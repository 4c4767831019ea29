"""`paramtui scan` and `paramtui stats`: the health scan and tensor statistics from a shell.

Hooked into paramtui.cli like paramtui.cli_edit_args: `add_parsers(commands)` registers the
subcommands on cli's subparsers object, and COMMANDS maps their names to the functions that run
a parsed namespace. Errors are raised (ParamtuiError and friends); cli.main turns them into
messages and exit codes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from paramtui.analysis.scan.findings import KINDS

if TYPE_CHECKING:
    from paramtui.core.model import CheckpointIndex

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

STATS_EPILOG = """NAME: an exact tensor name, a module path (every tensor under it), or a glob
over full names ('model.blocks.*.weight'); all tensors when none is given.
Statistics are over finite values (NaN and Inf are counted apart); complex
tensors report their magnitude; fields without meaning for a dtype are null
in --json, with the reason in null_reasons."""


def add_parsers(commands: Any) -> None:
    """Register `scan` and `stats` on the subparsers action `commands`."""
    scan = commands.add_parser(
        "scan",
        prog="paramtui scan",
        help="check every tensor for NaN/Inf, dead or exploding weights, duplicates, ...",
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
    _common(scan)
    stats = commands.add_parser(
        "stats",
        prog="paramtui stats",
        help="statistics and histogram of tensors",
        description="Statistics of the named tensors (all when none), in one streaming pass "
        "each: count, mean, std, min, max, mean |x|, L2, zeros, NaN, Inf, quantiles, histogram.",
        epilog=STATS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stats.add_argument("path", metavar="PATH", help="checkpoint file or model folder")
    stats.add_argument("names", nargs="*", metavar="NAME", help="tensor, module or glob")
    stats.add_argument(
        "--bins", type=_positive, default=64, metavar="N", help="histogram bins (default 64)"
    )
    _common(stats)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (with a schema version)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def parse_fail_on(text: str) -> frozenset[str]:
    words = frozenset(w.strip() for w in text.split(",") if w.strip())
    unknown = sorted(words - set(KINDS) - set(FAIL_ON_WORDS))
    if not words or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown kind {', '.join(map(repr, unknown)) or repr(text)}; choose from "
            f"{', '.join(KINDS)}, or 'error' or 'any'"
        )
    return words


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def cmd_scan(ns: argparse.Namespace) -> int:
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

        _console().print(scan_renderable(report))
    if matching:
        kinds = ", ".join(sorted({f.kind for f in matching}))
        sys.stderr.write(f"paramtui: {len(matching)} finding(s) match --fail-on ({kinds})\n")
        return EXIT_FINDINGS
    return 0


def cmd_stats(ns: argparse.Namespace) -> int:
    from paramtui.core.open import open_checkpoint

    index = open_checkpoint(ns.path)
    names = select_names(index, ns.names)
    items = _compute(index, names, ns.bins, ns.quiet)
    if ns.json:
        from paramtui.render.json_out import write_json
        from paramtui.render.stats_table import stats_json

        write_json(stats_json(index.path, index.format, ns.bins, items), sys.stdout)
    else:
        from paramtui.render.stats_table import stats_renderable

        _console().print(stats_renderable(items))
    return 0


def select_names(index: CheckpointIndex, targets: list[str]) -> list[str]:
    """Names selected by each target (exact, module path or glob), in order, once each."""
    if not targets:
        return list(index.tensors)
    from paramtui.core.select import select

    chosen: dict[str, None] = {}
    for target in targets:
        for name in select(list(index.tensors), target, where=index.path).names:
            chosen[name] = None
    return list(chosen)


def _compute(
    index: CheckpointIndex, names: list[str], bins: int, quiet: bool
) -> list[tuple[Any, tuple[int, ...]]]:
    from paramtui.analysis.stats.compute import compute_stats

    total = sum(index.tensor(n).nbytes for n in names)
    items, done = [], 0
    with LineProgress.for_stderr("statistics", quiet) as say:
        for name in names:
            info = index.tensor(name)
            tick = None if say is None else _ticker(say, done, info.nbytes, total, name)
            items.append((compute_stats(info, bins=bins, progress=tick), info.shape))
            done += info.nbytes
    return items


def _ticker(
    say: Callable[[int, int, str], None], done: int, size: int, total: int, name: str
) -> Callable[[float], None]:
    return lambda fraction: say(done + int(fraction * size), total, name)


class LineProgress:
    """A one-line progress display on a terminal (rewritten in place, cleared at the end)."""

    INTERVAL = 0.1  # seconds between redraws

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream, self.label = stream, label
        self.shown = False
        self.last = 0.0

    @classmethod
    def for_stderr(cls, label: str, quiet: bool) -> _Maybe:
        """Progress on stderr when it is a terminal; nothing when piped or with --quiet."""
        isatty = getattr(sys.stderr, "isatty", None)
        live = not quiet and isatty is not None and isatty()
        return _Maybe(cls(sys.stderr, label) if live else None)

    def __call__(self, done: int, total: int, name: str) -> None:
        now = time.monotonic()
        if now - self.last < self.INTERVAL and done < total:
            return
        self.last = now
        from paramtui.render.format import human_bytes, safe_text

        share = 100 * done / total if total else 100.0
        line = f"{self.label} {share:3.0f}%  {human_bytes(done)}/{human_bytes(total)}  "
        self.stream.write("\r\x1b[K" + (line + safe_text(name))[:79])
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class _Maybe:
    """`with` wrapper yielding the progress callable (or None) and clearing its line."""

    def __init__(self, progress: LineProgress | None) -> None:
        self.progress = progress

    def __enter__(self) -> LineProgress | None:
        return self.progress

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.clear()


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "scan": cmd_scan,
    "stats": cmd_stats,
}
