"""The one table of scan kinds: KINDS, the help block and README.md agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from paramtui import open_checkpoint
from paramtui.analysis.scan import KIND_TABLE, KINDS, kinds_help, run
from paramtui.analysis.scan.checks import CHECKS
from paramtui.analysis.scan.context import ScanContext
from paramtui.analysis.scan.findings import WARNING, Finding
from paramtui.analysis.scan.kinds import SEVERITIES, _row

ROOT = Path(__file__).resolve().parents[1]
HELP_START, HELP_END = "checks (kinds for --fail-on):", "never fail."


def recorded_help_block() -> str:
    """The checks block of `paramtui scan -h` as recorded in the golden help text."""
    text = (ROOT / "tests" / "golden" / "help-scan.txt").read_text()
    start = text.index(HELP_START)
    return text[start : text.index(HELP_END, start) + len(HELP_END)]


def test_kinds_help_is_the_recorded_help_byte_for_byte() -> None:
    assert kinds_help() == recorded_help_block()


def test_kinds_come_from_the_table_once_each() -> None:
    assert tuple(k.name for k in KIND_TABLE) == KINDS
    assert len(set(KINDS)) == len(KINDS)
    assert all(k.severity in (*SEVERITIES, None) and k.doc for k in KIND_TABLE)


def test_every_kind_is_in_the_help_and_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    listed = set(re.findall(r"`(\w+)`", readme))
    assert [k for k in KINDS if k not in listed] == []
    assert all(re.search(rf"\b{k}\b", kinds_help()) for k in KINDS)


def test_rows_wrap_and_align_the_severity() -> None:
    short = _row("  odd", "warning", "a short doc")
    assert short == ["  odd            a short doc".ljust(75) + "warning"]
    long_label = _row("  " + "x" * 30, "info", "doc")
    assert long_label == ["  " + "x" * 30 + "  doc".ljust(82 - 32 - 4) + "info"]
    wrapped = _row("  w", "error", "word " * 20)
    assert len(wrapped) == 2 and wrapped[-1].endswith("error") and len(wrapped[-1]) == 82


def test_the_scan_runs_every_registered_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new check is one function registered in CHECKS: the scan calls it with the context."""
    seen: list[ScanContext] = []

    def one_more(context: ScanContext) -> list[Finding]:
        seen.append(context)
        return [Finding("all_zero", WARNING, ("a",), "registered check ran")]

    monkeypatch.setattr(run, "CHECKS", (*CHECKS, one_more))
    path = tmp_path / "t.safetensors"
    save_file({"a": torch.ones(4, 4), "b": torch.randn(4, 4)}, str(path))
    report = run.scan(open_checkpoint(str(path)))
    assert [u.names for u in seen[0].units] == [("a",), ("b",)]
    assert "registered check ran" in [f.message for f in report.findings]
