"""The one table of the scan's finding kinds: name, severity, one-line doc.

KINDS (what --fail-on accepts) and the "checks" block of `paramtui scan -h` are generated from
it; README.md lists the same kinds (a test checks). A new check adds its kinds here, in the
order the help shows them, and registers its run function in scan.checks.
"""

from __future__ import annotations

import textwrap
from typing import NamedTuple

ERROR = "error"  # the values are broken: NaN, Inf, unreadable bytes
WARNING = "warning"  # very likely a mistake or damage worth looking at
INFO = "info"  # an observation that is usually harmless (zero biases, unit norm scales)
SEVERITIES = (ERROR, WARNING, INFO)

HELP_WIDTH = 82  # the severity column ends here
DOC_COLUMN = 17  # where a kind's doc starts
DOC_WIDTH = 56  # a doc longer than its line is wrapped to this width
PEERS_NOTE = """\
  Peers are the tensors of the same name pattern across layers
  (layers.#.attn.q_proj.weight); vectors (biases, norm scales) need 1000x.
  Zero biases, unit norm scales and zero padding rows of embeddings are
  reported as notes (info): they are usual in healthy models and never fail."""


class Kind(NamedTuple):
    name: str
    severity: str | None  # None: it depends, and the doc says on what
    doc: str


KIND_TABLE: tuple[Kind, ...] = (
    Kind("nan", ERROR, "NaN or infinite values (every tensor, optimizer state too)"),
    Kind("inf", ERROR, "NaN or infinite values (every tensor, optimizer state too)"),
    Kind("all_zero", WARNING, "a weight that is entirely zero"),
    Kind("constant", WARNING, "a weight whose values are all equal"),
    Kind("exploding", WARNING, "|max| above 1e4, or RMS / |max| 100x above its peers"),
    Kind("vanishing", WARNING, "RMS below 1e-8, or 100x below its peers"),
    Kind("dead_rows", WARNING, "rows (output channels) that are entirely zero"),
    Kind("dead_columns", WARNING, "columns (input channels) that are entirely zero"),
    Kind("duplicate", WARNING, "identical values under two names, not tied"),
    Kind(
        "dtype_mix",
        WARNING,
        "a tensor in another precision than its peers, float64 weights, optimizer state "
        "narrower than the weights",
    ),
    Kind("unreadable", ERROR, "tensor bytes missing from the file"),
    Kind("gradient_nan", ERROR, "NaN or Inf in a recorded gradient (paramtui snapshots)"),
    Kind(
        "no_gradient", WARNING, "trainable (requires_grad) but .grad is None while others have one"
    ),
    Kind(
        "frozen_with_optimizer_state",
        WARNING,
        "requires_grad=False but the optimizer holds state for it",
    ),
    Kind(
        "trainable_without_state",
        None,
        "in a param group, never stepped (no state) while others were: warning when recorded "
        "trainable, else a note",
    ),
    Kind("not_in_optimizer", INFO, "in no param group while others are (usually frozen)"),
    Kind("optimizer_unmapped", INFO, "optimizer state not tied to names: why no check ran"),
)
KINDS = tuple(kind.name for kind in KIND_TABLE)


def kinds_help() -> str:
    """The "checks (kinds for --fail-on):" block of `paramtui scan -h`, one row per kind
    (kinds with the same doc and severity share a row), then what peers and notes are."""
    rows: list[str] = ["checks (kinds for --fail-on):"]
    for names, severity, doc in _merged(KIND_TABLE):
        rows.extend(_row("  " + ", ".join(names), severity or "", doc))
    return "\n".join(rows) + "\n" + PEERS_NOTE


def _merged(table: tuple[Kind, ...]) -> list[tuple[list[str], str | None, str]]:
    merged: list[tuple[list[str], str | None, str]] = []
    for kind in table:
        if merged and merged[-1][1:] == (kind.severity, kind.doc):
            merged[-1][0].append(kind.name)
        else:
            merged.append(([kind.name], kind.severity, kind.doc))
    return merged


def _row(label: str, severity: str, doc: str) -> list[str]:
    """The label, then the doc from DOC_COLUMN (or after the label when it is longer and the
    whole row fits), the severity right-aligned on the doc's last line."""
    one_line = len(doc) + 2 + len(severity) <= HELP_WIDTH - DOC_COLUMN
    head: list[str] = []
    if len(label) < DOC_COLUMN:
        lines = _wrapped(doc, one_line)
        lines[0] = label.ljust(DOC_COLUMN) + lines[0][DOC_COLUMN:]
    elif len(label) + 2 + len(doc) + 2 + len(severity) <= HELP_WIDTH:
        lines = [f"{label}  {doc}"]
    else:
        lines, head = _wrapped(doc, one_line), [label]
    if severity:
        lines[-1] = lines[-1].ljust(HELP_WIDTH - len(severity)) + severity
    return head + lines


def _wrapped(doc: str, one_line: bool) -> list[str]:
    indent = " " * DOC_COLUMN
    if one_line:
        return [indent + doc]
    return [indent + line for line in textwrap.wrap(doc, DOC_WIDTH)]
