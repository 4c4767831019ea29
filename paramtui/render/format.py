"""Human-friendly numbers and safe display of names: sizes, counts, shapes."""

from __future__ import annotations

import unicodedata

_BYTE_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")
_COUNT_UNITS = ("K", "M", "B", "T")


def human_bytes(n: int) -> str:
    """1536 -> '1.5 KiB'; below 1 KiB the exact count ('512 B')."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in _BYTE_UNITS:
        value /= 1024
        if value < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{_short(value)} {unit}"
    raise AssertionError("unreachable")


def human_count(n: int) -> str:
    """1_300_000 -> '1.3M'; below 1000 the exact count."""
    if n < 1000:
        return str(n)
    value = float(n)
    for unit in _COUNT_UNITS:
        value /= 1000
        if value < 1000 or unit == _COUNT_UNITS[-1]:
            return f"{_short(value)}{unit}"
    raise AssertionError("unreachable")


def _short(value: float) -> str:
    """One decimal below 100, none above ('1.2', '42.0', '512')."""
    if round(value, 1) < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def format_shape(shape: tuple[int, ...] | list[int]) -> str:
    """(4096, 4096) -> '4096×4096'; a scalar -> '()'."""
    return "×".join(str(d) for d in shape) if shape else "()"


def safe_text(text: str) -> str:
    """`text` with control and format characters (ANSI escapes, bidi overrides, newlines) shown
    as escapes, so a hostile tensor name cannot restyle or rearrange the terminal."""
    if text.isprintable():
        return text
    return "".join(_escape_char(c) for c in text)


def _escape_char(c: str) -> str:
    if c == " " or unicodedata.category(c) not in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}:
        return c
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
