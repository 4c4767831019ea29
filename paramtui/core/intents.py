"""How paramtui stores requires_grad intents (freeze/unfreeze) next to the tensors.

torch zip: an extra record `<archive>/paramtui/requires_grad.json` (torch.load ignores records it
does not ask for, so the state_dict still loads with strict=True). safetensors: the
`__metadata__` key `paramtui.requires_grad`. DCP folder: a file `paramtui.requires_grad.json`
beside `.metadata`. All hold {"version": 1, "requires_grad": {...}}.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import replace
from typing import Any

from paramtui.core.model import CheckpointIndex

ZIP_RECORD = "paramtui/requires_grad.json"
METADATA_KEY = "paramtui.requires_grad"
DCP_FILE = "paramtui.requires_grad.json"


def encode(intents: dict[str, bool]) -> str:
    return json.dumps({"version": 1, "requires_grad": intents}, sort_keys=True)


def decode(text: str | bytes) -> dict[str, bool]:
    """The intents in `text`; {} when it is not ours or is damaged (never an error)."""
    try:
        data = json.loads(text)
        values = data["requires_grad"]
    except (ValueError, KeyError, TypeError):
        return {}
    if not isinstance(values, dict):
        return {}
    return {str(k): bool(v) for k, v in values.items() if isinstance(v, bool)}


def recorded(session: Any) -> dict[str, bool]:
    """The requires_grad flag of every name of an edit session (or a view of one) that has one:
    what the source records, with the session's freeze/unfreeze intents applied."""
    out = {}
    for name in session.names():
        value = session.info(name).requires_grad
        if value is not None:
            out[name] = value
    return out


def read_dcp(folder: str) -> dict[str, bool]:
    """The intents recorded in a DCP folder ({} when none)."""
    with contextlib.suppress(OSError), open(os.path.join(folder, DCP_FILE), "rb") as f:
        return decode(f.read())
    return {}


def apply(index: CheckpointIndex, intents: dict[str, bool]) -> None:
    """Record the intents on the index's tensors (names it does not hold are ignored)."""
    for name, wanted in intents.items():
        info = index.tensors.get(name)
        if info is not None:
            index.tensors[name] = replace(info, requires_grad=wanted)
    if intents:
        frozen = sum(1 for v in intents.values() if not v)
        index.notes.append(
            f"trainable/frozen flags recorded by paramtui for {len(intents)} tensor(s) "
            f"({frozen} frozen)"
        )
