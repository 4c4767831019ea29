"""`paramtui stats PATH [NAME ...]`: exact statistics, quantiles and histograms of tensors.

Errors are raised (ParamtuiError and friends); paramtui.cli.main turns them into messages and
exit codes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from paramtui.cli.base import LineProgress, console
from paramtui.cli.commands.common_args import add_json_and_quiet

if TYPE_CHECKING:
    from paramtui.core.model import CheckpointIndex

NAME = "stats"
HELP = "statistics and histogram of tensors"
SYNOPSIS = "paramtui stats PATH [NAME ...] [--bins N] [--json]"
OVERVIEW = ("paramtui stats PATH", ("exact statistics, quantiles and histograms of tensors",))

STATS_EPILOG = """NAME: an exact tensor name, a module path (every tensor under it), or a glob
over full names ('model.blocks.*.weight'); all tensors when none is given.
Statistics are over finite values (NaN and Inf are counted apart); complex
tensors report their magnitude; fields without meaning for a dtype are null
in --json, with the reason in null_reasons."""


def add_parser(commands: Any) -> None:
    """Register `stats` on the subparsers action `commands`."""
    stats = commands.add_parser(
        NAME,
        prog="paramtui stats",
        help=HELP,
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
    add_json_and_quiet(stats)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def run(ns: argparse.Namespace) -> int:
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

        console().print(stats_renderable(items))
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
