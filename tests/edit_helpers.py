"""Builders and byte-level helpers shared by the edit tests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from paramtui.edits import EditSession

NAN_PAYLOAD = 0x7FC00123  # a quiet NaN with a payload
NEG_NAN = -0x003EDCBB  # 0xFFC12345: a negative NaN with another payload


def with_specials(t: torch.Tensor) -> torch.Tensor:
    """`t` (float32, 2-D) with NaN payloads, -0.0, +0.0 and inf written into its first rows."""
    bits = t.view(torch.int32)
    bits[0, 0] = NAN_PAYLOAD
    bits[0, 1] = NEG_NAN
    t[1, 0] = -0.0
    t[1, 1] = 0.0
    t[2, 0] = float("inf")
    return t


def special_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Tied weights, a transposed view, disjoint views of one storage, bf16/fp16, buffers."""
    g = torch.Generator().manual_seed(seed)
    w = with_specials(torch.randn(8, 6, generator=g))
    base = torch.randn(4, 5, generator=g)
    big = torch.randn(24, generator=g)
    half = torch.randn(4, 4, generator=g).bfloat16()
    half[0, 0] = -0.0
    half[0, 1] = float("nan")
    return {
        "enc.weight": w,
        "enc.bias": torch.randn(8, generator=g),
        "dec.weight": w,  # tied to enc.weight
        "proj.weight": base,
        "proj_t.weight": base.t(),  # a transposed view of proj.weight's storage
        "lstm.weight_a": big[:12].view(3, 4),  # disjoint views of one storage
        "lstm.weight_b": big[12:].view(3, 4),
        "half.weight": half,
        "half.bias": torch.randn(4, generator=g).half(),
        "norm.running_mean": torch.randn(6, generator=g),
        "norm.num_batches_tracked": torch.tensor(5),
        "mask.flags": torch.rand(5, generator=g) > 0.5,
    }


def raw(t: torch.Tensor) -> bytes:
    """The bytes of `t`'s elements in logical order (bit-exact: NaN payloads, -0.0)."""
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def snapshot(session: EditSession) -> dict[str, bytes]:
    return {name: raw(session.tensor(name)) for name in session.names()}


def fingerprint(path: Path) -> tuple[str, int, int]:
    """(sha256, size, mtime_ns) of a file."""
    st = os.stat(path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns
