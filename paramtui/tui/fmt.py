"""Short human formats for the TUI (counts, sizes, numbers, shapes).

A private stand-in until paramtui.render.format lands; the TUI only needs a handful."""

from __future__ import annotations

import math

_COUNT_UNITS = ("", "K", "M", "B", "T")
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def count(n: int) -> str:
    """1234567 -> '1.2M'; small numbers stay exact."""
    value = float(n)
    for unit in _COUNT_UNITS:
        if abs(value) < 1000 or unit == _COUNT_UNITS[-1]:
            return f"{n}" if unit == "" else f"{value:.1f}{unit}"
        value /= 1000
    raise AssertionError("unreachable")


def size(nbytes: int) -> str:
    """Binary units: 50_462_720 -> '48.1 MiB'."""
    value = float(nbytes)
    for unit in _BYTE_UNITS:
        if abs(value) < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{nbytes} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def grouped(n: int) -> str:
    """1234567 -> '1,234,567'."""
    return f"{n:,}"


def number(x: float | None) -> str:
    """A statistic, compact but precise enough to compare: 6 significant digits."""
    if x is None:
        return "n/a"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:.6g}"


def shape(dims: tuple[int, ...]) -> str:
    """(768, 3072) -> '768×3072'; a scalar -> 'scalar'."""
    return "×".join(str(d) for d in dims) if dims else "scalar"


def percent(part: float, whole: float) -> str:
    if whole <= 0:
        return "n/a"
    share = 100.0 * part / whole
    return f"{share:.1f}%" if share >= 0.1 or share == 0 else "<0.1%"


def printable(text: str) -> str:
    """Names are data: show control characters as escapes so one name stays on one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
