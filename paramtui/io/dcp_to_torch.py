"""Write a DCP source as one ordinary torch checkpoint (.pth): the nested state dict, rebuilt.

The nesting comes from the DCP metadata (io.dcp_source.nest), so `torch.load` gives back the
dict that was passed to `dcp.save` ({"model": {...}, "optim": {...}, "epoch": 3}), with the
session's edits applied. Sharded tensors come from the view's scratch files (mapped, so memory
holds none of them whole); non-tensor entries are loaded with torch's weights-only rules and
refused, with the way out, when they need code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from paramtui.io.dcp_source import (
    load_payload,
    metadata_order,
    nest,
    nesting,
    path_of,
    payloads,
    recorded_intents,
)
from paramtui.io.save_torch import append_intents

if TYPE_CHECKING:
    from paramtui.core.state import CheckpointState


def write_torch_from_dcp(session: CheckpointState, out: BinaryIO) -> None:
    """torch.save the DCP source of `session` (a DcpView with a scratch folder) into `out`."""
    import torch

    folder = session.index.path
    paths = nesting(folder)
    order = metadata_order(folder)
    entries: list[tuple[str, Any]] = [(n, session.tensor(n)) for n in session.names()]
    entries += [(fqn, load_payload(p)) for fqn, p in payloads(folder).items()]
    entries.sort(key=lambda item: order.get(item[0], len(order)))
    torch.save(nest((path_of(name, paths), value) for name, value in entries), out)
    out.flush()
    wanted = recorded_intents(session)
    if wanted:
        append_intents(out, out.name, wanted)
