"""The health scan's front door (torch-free to import).

    from paramtui.analysis.scan import scan, ScanReport, KINDS, kinds_help

Names are loaded on first use (PEP 562), so reading KINDS does not import the checks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paramtui.analysis.scan.findings import Finding, Thresholds
    from paramtui.analysis.scan.kinds import ERROR, INFO, KIND_TABLE, KINDS, WARNING, kinds_help
    from paramtui.analysis.scan.run import ScanReport, scan

_HOMES = {
    "scan": "run",
    "ScanReport": "run",
    "Finding": "findings",
    "Thresholds": "findings",
    "KINDS": "kinds",
    "KIND_TABLE": "kinds",
    "kinds_help": "kinds",
    "ERROR": "kinds",
    "WARNING": "kinds",
    "INFO": "kinds",
}
__all__ = [
    "ERROR",
    "INFO",
    "KINDS",
    "KIND_TABLE",
    "WARNING",
    "Finding",
    "ScanReport",
    "Thresholds",
    "kinds_help",
    "scan",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
