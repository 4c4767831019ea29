"""Options that several commands share."""

from __future__ import annotations

import argparse


def add_json_and_quiet(parser: argparse.ArgumentParser) -> None:
    """--json and -q/--quiet, for the commands that report progress on stderr."""
    parser.add_argument("--json", action="store_true", help="print JSON (with a schema version)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
