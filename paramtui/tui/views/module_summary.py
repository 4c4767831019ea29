"""What a module holds, for judging it without opening the table: training state and tensors.

Pure functions of the tree node and the session's marks; nothing reads tensor bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text

from paramtui.core.model import BUFFER, TensorInfo
from paramtui.core.tree import ModuleNode
from paramtui.tui.views import fmt
from paramtui.tui.views.edit_marks import FROZEN
from paramtui.tui.views.grad_marks import can_require_grad, requires_grad_now

MAX_TENSORS = 12  # listed inline; `t` shows them all


@dataclass(frozen=True)
class TrainingState:
    parameters: int = 0
    trainable: int = 0
    frozen: int = 0
    buffers: int = 0
    with_grad: int = 0  # parameters whose gradient the file records
    grads_recorded: bool = False  # the file says, for at least one parameter, whether it has one


def training_state(tensors: list[TensorInfo], intents: Mapping[str, bool]) -> TrainingState:
    parameters = trainable = frozen = buffers = with_grad = 0
    recorded = False
    for info in tensors:
        if info.role == BUFFER:
            buffers += 1
        if not can_require_grad(info):
            continue
        parameters += 1
        now = requires_grad_now(info, intents)
        trainable += now is True
        frozen += now is False
        with_grad += info.has_grad is True
        recorded = recorded or info.has_grad is not None
    return TrainingState(parameters, trainable, frozen, buffers, with_grad, recorded)


def training_rows(node: ModuleNode, intents: Mapping[str, bool]) -> list[tuple[str, str]]:
    """`parameters 16: 12 trainable · 4 ❄ frozen`, buffers, and the gradients' roll-up."""
    state = training_state(list(node.iter_tensors()), intents)
    if not state.parameters and not state.buffers:
        return []
    unknown = state.parameters - state.trainable - state.frozen
    parts = [
        f"{n:,} {what}"
        for n, what in (
            (state.trainable, "trainable"),
            (state.frozen, f"{FROZEN} frozen"),
            (unknown, "not recorded"),
        )
        if n
    ]
    rows = [("parameters", f"{state.parameters:,}" + (f": {' · '.join(parts)}" if parts else ""))]
    if state.buffers:
        rows.append(("buffers", f"{state.buffers:,}"))
    if state.parameters:
        grads = (
            f"recorded for {state.with_grad:,} of {state.parameters:,} parameters"
            if state.grads_recorded
            else "not recorded"
        )
        rows.append(("gradients", grads))
    return rows


def tensor_table(node: ModuleNode) -> Table | None:
    """The module's first tensors, one line each: name below the module, shape, dtype, size."""
    tensors = list(node.iter_tensors())
    if not tensors:
        return None
    table = Table.grid(padding=(0, 1))
    table.add_column(overflow="ellipsis", no_wrap=True)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(style="dim", justify="right", no_wrap=True)
    prefix = len(node.path) + 1 if node.path else 0
    for info in tensors[:MAX_TENSORS]:
        shape = f"{fmt.shape(info.shape)} {info.dtype}"
        table.add_row(fmt.printable(info.name[prefix:] or info.name), shape, fmt.size(info.nbytes))
    if len(tensors) > MAX_TENSORS:
        table.add_row(Text(f"… {len(tensors) - MAX_TENSORS:,} more (t: all of them)", "dim"))
    return table
