"""Exact text for tensor values, per dtype, and what kind of value each cell holds.

float64 prints its shortest round-trip repr (up to 17 significant digits); float32 prints 9
significant digits, which is enough to tell any two float32 values apart; 16- and 8-bit floats
are converted to float32 (exactly: every bf16/fp16/fp8 value is a float32 value) and printed
the same way. Integers print as integers, bools as True/False, complex numbers as a+bj. NaN and
the infinities print as words so they stand out without colour. torch is never imported here:
the values arrive as Python numbers (`tensor.tolist()`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from paramtui.core.dtypes import dtype_info

NORMAL, ZERO, NAN, INF = "normal", "zero", "nan", "inf"  # cell kinds: how a value is styled

Formatter = Callable[[Any], str]


def real_text(x: float, wide: bool) -> str:
    """One float: 17 significant digits at most for float64 (`wide`), 9 otherwise."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    if wide:
        return repr(x)
    return f"{x:.9g}"


def complex_text(z: complex, wide: bool) -> str:
    """`a+bj` with each part printed like a real of the same width."""
    imag = real_text(z.imag, wide)
    sign = "" if imag.startswith(("-", "+")) else "+"
    return f"{real_text(z.real, wide)}{sign}{imag}j"


def formatter(dtype: str) -> Formatter:
    """The function that prints one Python value of a tensor of `dtype`."""
    kind = dtype_info(dtype).kind
    wide = dtype in ("float64", "complex128")
    if kind == "float":
        return lambda x: real_text(float(x), wide)
    if kind == "complex":
        return lambda z: complex_text(complex(z), wide)
    if kind == "bool":
        return lambda b: "True" if b else "False"
    return lambda i: str(int(i))


def value_kind(value: Any) -> str:
    """NAN, INF, ZERO or NORMAL (a complex number is NaN/Inf when either part is)."""
    if isinstance(value, complex):
        parts = (value.real, value.imag)
        if any(math.isnan(p) for p in parts):
            return NAN
        if any(math.isinf(p) for p in parts):
            return INF
        return ZERO if value == 0 else NORMAL
    if isinstance(value, float):
        if math.isnan(value):
            return NAN
        if math.isinf(value):
            return INF
    return ZERO if not value else NORMAL


def exact_text(value: Any, dtype: str) -> str:
    """The value written out in full: Python's shortest repr of the exact (float64) value,
    which for 32-bit and narrower floats is the exact decimal whenever it has at most 17
    significant digits."""
    kind = dtype_info(dtype).kind
    if kind == "float":
        return real_text(float(value), wide=True)
    if kind == "complex":
        return complex_text(complex(value), wide=True)
    return formatter(dtype)(value)


def bits_text(bits: int, itemsize: int) -> str:
    """A raw bit pattern as fixed-width hex: 0x3f80 for a bf16 1.0."""
    mask = (1 << (8 * itemsize)) - 1
    return f"0x{bits & mask:0{2 * itemsize}x}"
