"""The optimizer worker's body: what the optimizer knows about one tensor, posted as a message.

The summary reads the file's optimizer state (edits in this session do not change it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message_pump import MessagePump

from paramtui.tui.messages import OptimizerSummarised
from paramtui.tui.workspace import Opened

if TYPE_CHECKING:
    from paramtui.analysis.optimizer.map import OptimizerMap


def run_optimizer(
    opened: Opened, name: str, target: MessagePump, should_cancel: Callable[[], bool]
) -> None:
    """Summarise `name` (a parameter, or one of its state tensors) and post the result."""
    from paramtui.analysis.optimizer.map import optimizer_summary

    try:
        maps = opened.optimizer_maps()
        summary = optimizer_summary(opened.index, name, should_cancel=should_cancel, maps=maps)
    except Exception as exc:  # noqa: BLE001 - a damaged optimizer must not break browsing
        if not should_cancel():
            unreadable = f"optimizer state unreadable: {exc}"
            target.post_message(OptimizerSummarised(name, None, unreadable))
        return
    if should_cancel():
        return
    note: str | None = None
    if summary is None:
        note = next((_ambiguous(m.ambiguous) for m in maps if _covers(m, name)), None)
    target.post_message(OptimizerSummarised(name, summary, note))


def _covers(omap: OptimizerMap, name: str) -> bool:
    """An ambiguous map whose model holds tensor `name` (or whose state it is)."""
    if omap.ambiguous is None:
        return False
    if not omap.model:  # no model root, or the weights at the top level
        return True
    return name.startswith((f"{omap.model}.", f"{omap.optimizer}."))


def _ambiguous(reason: str | None) -> str:
    return f"state not tied to names: {reason}"
