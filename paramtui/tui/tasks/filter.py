"""The filter worker's body: the tree paths to show for a needle, posted as a message.

Optimizer state matches by the parameter it belongs to: `fc1` also keeps
`optimizer.state.5.exp_avg` when state 5 is `...fc1.weight` (the map is read once, here, off the
UI thread)."""

from __future__ import annotations

from collections.abc import Callable

from textual.message_pump import MessagePump

from paramtui.core.tree import ModuleNode, filter_paths
from paramtui.tui.messages import FilterComputed
from paramtui.tui.workspace import Opened


def state_owners(opened: Opened) -> dict[str, str]:
    """Optimizer state tensor -> the parameter it belongs to ({} when unmapped or unreadable)."""
    try:
        maps = opened.optimizer_maps()
    except Exception:  # noqa: BLE001 - a damaged optimizer must not break filtering
        return {}
    owners: dict[str, str] = {}
    for omap in maps:
        for param in omap.params:
            if param.tensor is None:
                continue
            for state in param.state.values():
                owners[state] = param.tensor
            if param.step_tensor is not None:
                owners[param.step_tensor] = param.tensor
    return owners


def run_filter(
    opened: Opened,
    root: ModuleNode,
    needle: str,
    target: MessagePump,
    should_cancel: Callable[[], bool],
) -> None:
    keep = filter_paths(root, needle, state_owners(opened)) if needle else None
    if not should_cancel():
        target.post_message(FilterComputed(needle, keep))
