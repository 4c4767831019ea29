"""Would `model.load_state_dict(...)` accept this checkpoint? Answered from the index alone.

The model's own state_dict() gives the expected keys, shapes and dtypes; the checkpoint's index
gives the saved ones (no tensor bytes are read). The checkpoint part compared is the plain
state dict, or the model part of a training checkpoint (Lightning, timm, snapshots, {model,
optimizer, ...}). Unless a prefix is given, the part's keys are compared as they are, without a
shared wrapper prefix (module., _orig_mod., model.module.) and without a shared first component
(a Lightning module's `model.`), and the reading that matches the most model keys is reported
with the prefix it strips.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from paramtui.core import prefix as prefixes
from paramtui.core import training
from paramtui.core.errors import UnusableInput
from paramtui.core.model import CheckpointIndex

_EXTRA_STATE = "_extra_state"


@dataclass(frozen=True)
class KeyMismatch:
    """A key both sides hold, with what differs."""

    key: str  # the model's key
    checkpoint_name: str  # the full name in the checkpoint
    checkpoint_shape: tuple[int, ...] | None  # None: not a tensor
    model_shape: tuple[int, ...] | None
    checkpoint_dtype: str | None
    model_dtype: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "checkpoint_name": self.checkpoint_name,
            "checkpoint_shape": _listed(self.checkpoint_shape),
            "model_shape": _listed(self.model_shape),
            "checkpoint_dtype": self.checkpoint_dtype,
            "model_dtype": self.model_dtype,
        }


@dataclass(frozen=True)
class LoadCheck:
    """The comparison. `loads_strict`: load_state_dict(strict=True) would succeed on the
    part's keys as saved (or without the prefix the caller gave); `matches_after_strip`: it
    would once the detected `prefix` is stripped. Dtype differences never stop a load (values
    are cast)."""

    path: str
    format: str
    part: str  # checkpoint root holding the compared state dict; "" = the whole file
    prefix: str  # stripped from the part's keys before comparing; "" = none
    prefix_detected: bool  # True when paramtui found `prefix`, False when the caller gave it
    num_model_keys: int
    num_checkpoint_keys: int
    matched: int
    missing: tuple[str, ...]  # in the model, not in the checkpoint
    unexpected: tuple[str, ...]  # in the checkpoint part, not in the model
    shape_mismatches: tuple[KeyMismatch, ...]
    dtype_differences: tuple[KeyMismatch, ...]
    notes: tuple[str, ...]

    @property
    def keys_match(self) -> bool:
        """Same keys and shapes once `prefix` is stripped."""
        return not (self.missing or self.unexpected or self.shape_mismatches)

    @property
    def loads_strict(self) -> bool:
        return self.keys_match and not (self.prefix and self.prefix_detected)

    @property
    def matches_after_strip(self) -> bool:
        return self.keys_match and bool(self.prefix) and self.prefix_detected

    @property
    def loads_non_strict(self) -> bool:
        """load_state_dict(strict=False) raises on shape mismatches only."""
        return not self.shape_mismatches

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "part": self.part,
            "prefix": self.prefix,
            "prefix_detected": self.prefix_detected,
            "loads_strict": self.loads_strict,
            "matches_after_strip": self.matches_after_strip,
            "loads_non_strict": self.loads_non_strict,
            "num_model_keys": self.num_model_keys,
            "num_checkpoint_keys": self.num_checkpoint_keys,
            "matched": self.matched,
            "missing": list(self.missing),
            "unexpected": list(self.unexpected),
            "shape_mismatches": [m.to_dict() for m in self.shape_mismatches],
            "dtype_differences": [m.to_dict() for m in self.dtype_differences],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class _Saved:
    name: str  # full name in the checkpoint
    shape: tuple[int, ...] | None  # None: a non-tensor entry (extra state)
    dtype: str | None


def check_load(
    model: Any,
    path: str | os.PathLike[str] | CheckpointIndex,
    *,
    prefix: str | None = None,
) -> LoadCheck:
    """Compare `model`'s state_dict keys, shapes and dtypes with checkpoint `path`.

    `model` is an nn.Module (or a mapping of its state dict). `prefix`: stripped from the
    checkpoint part's keys ("" = compare as saved); None picks the best reading."""
    index = path if isinstance(path, CheckpointIndex) else _open(path)
    expected = _expected(model)
    part, strip, saved = _best_reading(index, set(expected), prefix)
    return _compare(index, expected, (part, strip, prefix is None), saved)


def _open(path: str | os.PathLike[str]) -> CheckpointIndex:
    from paramtui.core.open import open_checkpoint

    return open_checkpoint(path)


def _expected(model: Any) -> dict[str, Any]:
    state = model.state_dict() if hasattr(model, "state_dict") else model
    if not isinstance(state, Mapping):
        raise TypeError(f"expected an nn.Module or a state dict, not {type(model).__name__}")
    return dict(state)


def _parts(index: CheckpointIndex) -> list[str]:
    layout = training.describe_layout(index)
    if layout is not None and layout.model is None:
        raise UnusableInput(
            f"{index.path} is a {layout.kind} without model weights (it holds "
            f"{', '.join(layout.optimizers + layout.other) or 'no tensors'}); there is nothing "
            "to load into a model."
        )
    parts = prefixes.state_dict_parts(index)[:1]
    if layout is None and parts != [""]:
        parts.append("")  # {"model": ...} alone, or a flat state dict of a wrapper
    return parts


def _saved_keys(index: CheckpointIndex, part: str) -> dict[str, _Saved]:
    head = part + "." if part else ""
    out = {}
    for name, info in index.tensors.items():
        if name.startswith(head):
            out[name[len(head) :]] = _Saved(name, info.shape, info.dtype)
    for name in index.metadata:
        if name.startswith(head) and name.rpartition(".")[2] == _EXTRA_STATE:
            out[name[len(head) :]] = _Saved(name, None, None)
    return out


def _candidates(keys: list[str]) -> list[str]:
    found = ["", prefixes.common_wrapper_prefix(keys)]
    firsts = {k.partition(".")[0] for k in keys}
    if len(firsts) == 1 and all("." in k for k in keys):
        found.append(firsts.pop() + ".")
    return list(dict.fromkeys(p for p in found if p is not None))


def _best_reading(
    index: CheckpointIndex, wanted: set[str], prefix: str | None
) -> tuple[str, str, dict[str, _Saved]]:
    best: tuple[int, str, str, dict[str, _Saved]] | None = None
    for part in _parts(index):
        raw = _saved_keys(index, part)
        choices = [prefixes.normalise(prefix)] if prefix is not None else _candidates(list(raw))
        for strip in choices:
            saved = _stripped(raw, strip)
            score = len(wanted & set(saved))
            if best is None or score > best[0]:
                best = (score, part, strip, saved)
    assert best is not None
    return best[1], best[2], best[3]


def _stripped(raw: dict[str, _Saved], strip: str) -> dict[str, _Saved]:
    if not strip:
        return raw
    out: dict[str, _Saved] = {}
    for key, saved in raw.items():
        new = key[len(strip) :] if key.startswith(strip) and len(key) > len(strip) else key
        out.setdefault(new, saved)
    return out


def _compare(
    index: CheckpointIndex, expected: dict[str, Any], reading: tuple[str, str, bool],
    saved: dict[str, _Saved],
) -> LoadCheck:  # fmt: skip
    part, strip, detected = reading
    missing = tuple(k for k in expected if k not in saved)
    unexpected = tuple(k for k in saved if k not in expected)
    shapes, dtypes = [], []
    for key, value in expected.items():
        if key not in saved:
            continue
        mismatch = _mismatch(key, value, saved[key])
        if not _shape_ok(value, saved[key]):
            shapes.append(mismatch)
        elif mismatch.model_dtype and mismatch.checkpoint_dtype != mismatch.model_dtype:
            dtypes.append(mismatch)
    matched = len(expected) - len(missing)
    notes = _notes(expected, saved, strip, missing)
    return LoadCheck(index.path, index.format, part, strip, detected and bool(strip),
                     len(expected), len(saved), matched, missing, unexpected, tuple(shapes),
                     tuple(dtypes), tuple(notes))  # fmt: skip


def _mismatch(key: str, value: Any, saved: _Saved) -> KeyMismatch:
    shape, dtype = _model_meta(value)
    return KeyMismatch(key, saved.name, saved.shape, shape, saved.dtype, dtype)


def _model_meta(value: Any) -> tuple[tuple[int, ...] | None, str | None]:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return None, None
    return tuple(int(d) for d in shape), str(dtype).removeprefix("torch.")


def _shape_ok(value: Any, saved: _Saved) -> bool:
    """As load_state_dict judges: extra state is anything; a tensor needs a tensor of the same
    shape (a 1-element 1-D tensor fills a 0-D one); lazy parameters take any shape."""
    shape, _ = _model_meta(value)
    if shape is None:
        return True
    if saved.shape is None:
        return False
    if type(value).__name__ in ("UninitializedParameter", "UninitializedBuffer"):
        return True
    return saved.shape == shape or (shape == () and saved.shape == (1,))


def _notes(
    expected: dict[str, Any], saved: dict[str, _Saved], strip: str, missing: tuple[str, ...]
) -> list[str]:
    notes = []
    if strip:
        notes.append(
            f"every key was read without the prefix '{strip}': strip it before load_state_dict "
            f"(torch.nn.modules.utils.consume_prefix_in_state_dict_if_present(sd, '{strip}'), "
            f"or `paramtui convert IN OUT --strip-prefix {strip}`)"
        )
    notes.extend(_tied_notes(expected, saved, missing))
    own = prefixes.common_wrapper_prefix(list(expected))
    if own and missing:
        notes.append(
            f"the model's own keys start with '{own}' (a wrapper such as DataParallel, DDP or "
            "torch.compile): check the unwrapped model (model.module) instead"
        )
    return notes


def _tied_notes(
    expected: dict[str, Any], saved: dict[str, _Saved], missing: tuple[str, ...]
) -> list[str]:
    """Missing keys whose model tensor is tied to a key the checkpoint holds."""
    owners: dict[int, str] = {}
    for key, value in expected.items():
        pointer = _data_ptr(value)
        if pointer and key in saved:
            owners.setdefault(pointer, key)
    notes = []
    for key in missing:
        owner = owners.get(_data_ptr(expected[key]) or -1)
        if owner is not None:
            notes.append(
                f"'{key}' is tied to '{owner}' in the model (writers like safetensors' "
                "save_model drop tied copies): load with strict=False and tie the weights again"
            )
    return notes


def _data_ptr(value: Any) -> int:
    if getattr(value, "is_meta", False) or not hasattr(value, "data_ptr"):
        return 0
    try:
        return int(value.data_ptr()) if value.numel() else 0
    except RuntimeError:
        return 0


def _listed(shape: tuple[int, ...] | None) -> list[int] | None:
    return None if shape is None else list(shape)
