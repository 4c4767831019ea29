"""Which edit keys apply to a tree node, when an edit needs confirming, and what it reports.

The Footer dims the keys that would only be refused: the same checks the session makes
(paramtui.edits.checks), asked of the node's tensors without reading any bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paramtui.core.tree import ModuleNode
from paramtui.tui.views import fmt

if TYPE_CHECKING:
    from paramtui.edits.effects import EditRecord
    from paramtui.edits.session import EditSession

LARGE_ELEMENTS = 1_000_000  # destructive edits above this many elements ask first
_CACHE_SIZE = 512


class Applicability:
    """Node actions ("freeze", "zero", ...) that apply to a node, cached per path (the answer
    depends on dtypes, roles and names only, not on values; clear() after names change)."""

    def __init__(self) -> None:
        self._cache: dict[str, frozenset[str]] = {}

    def clear(self) -> None:
        self._cache.clear()

    def flags(self, session: EditSession, node: ModuleNode) -> frozenset[str]:
        found = self._cache.get(node.path)
        if found is None:
            found = applicable(session, node)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[node.path] = found
        return found


def applicable(session: EditSession, node: ModuleNode) -> frozenset[str]:
    from paramtui.edits.checks import refusal
    from paramtui.edits.ops import Freeze, Op, Prune, Zero
    from paramtui.edits.permanent import pruned_bases

    exact = node.tensor is not None  # an exact tensor name selects that tensor alone
    infos = [node.tensor] if node.tensor is not None else list(node.iter_tensors())
    probes: dict[str, Op] = {
        "freeze": Freeze(node.path),
        "zero": Zero(node.path),
        "prune": Prune(node.path, amount=0.5),
    }
    flags = {
        action
        for action, op in probes.items()
        if any(refusal(op, info, exact, has_bytes=False) is None for info in infos)
    }
    if "freeze" in flags:
        flags.add("unfreeze")
    names = [info.name for info in node.iter_tensors()]
    if pruned_bases(names, set(session.names())):
        flags.add("make_permanent")
    return frozenset(flags)


ACTION_NAMES = {
    "freeze": "Freeze",
    "unfreeze": "Unfreeze",
    "zero": "Zero",
    "prune": "Prune",
    "make_permanent": "Make permanent",
}


def why_not(node: ModuleNode, action: str) -> str:
    """Why a node action that does not apply to `node` was refused, for a notification."""
    from paramtui.edits.checks import refusal
    from paramtui.edits.ops import Freeze, Op, Prune, Unfreeze, Zero

    where = f"'{fmt.printable(node.path)}'" if node.path else "the checkpoint"
    if action == "make_permanent":
        return (
            f"nothing under {where} was pruned with torch.nn.utils.prune: "
            "there is no <name>_orig + <name>_mask pair to fold into <name>."
        )
    probes: dict[str, Op] = {
        "freeze": Freeze(node.path),
        "unfreeze": Unfreeze(node.path),
        "zero": Zero(node.path),
        "prune": Prune(node.path, amount=0.5),
    }
    exact = node.tensor is not None
    infos = [node.tensor] if node.tensor is not None else list(node.iter_tensors())
    for info in infos:
        reason = refusal(probes[action], info, exact, has_bytes=False)
        if reason is not None:
            return f"{ACTION_NAMES[action]} does not apply to {where}: {reason}."
    return f"{ACTION_NAMES[action]} does not apply to {where}."


def zero_question(record: EditRecord) -> str:
    """The confirm dialog's text for a previewed Zero: exactly what applying it will do."""
    effects = [e for e in record.effects if not e.tied_to]
    tied = len(record.effects) - len(effects)
    where = f"'{fmt.printable(record.op.target)}'" if record.op.target else "the whole checkpoint"
    plural = "" if len(effects) == 1 else "s"
    count = f"{fmt.grouped(len(effects))} tensor{plural}"
    count += f" (+{tied} tied)" if tied else ""
    numel = fmt.grouped(sum(e.numel for e in effects))
    changed = fmt.grouped(record.total_changed)  # what the edit log will count
    text = f"Set every element of {count} in {where} to zero: {changed} elements become zero"
    text += f" (of {numel})." if changed != numel else "."
    if record.skipped:
        name, why = record.skipped[0]
        others = len(record.skipped) - 1
        text += f" {fmt.grouped(len(record.skipped))} left alone; "
        text += f"the first, {fmt.printable(name)}: " if others else f"{fmt.printable(name)}: "
        text += f"{why}."
    return text + " u undoes it."


def is_large(tensors: int, numel: int) -> bool:
    """Destructive edits of more than one tensor or a million elements ask first."""
    return tensors > 1 or numel > LARGE_ELEMENTS


def describe_scope(path: str, tensors: int, numel: int) -> str:
    where = f"'{fmt.printable(path)}'" if path else "the whole checkpoint"
    plural = "" if tensors == 1 else "s"
    return f"{where} ({fmt.grouped(tensors)} tensor{plural}, {fmt.grouped(numel)} elements)"


def notice(kind: str, record: EditRecord) -> str:
    """The notification after an edit: its edit-log line, and the first tensors it skipped."""
    prefix = {"undo": "Undone: ", "redo": "Redone: "}.get(kind, "")
    text = prefix + record.summary
    if kind == "apply" and record.skipped:
        name, why = record.skipped[0]
        others = len(record.skipped) - 1
        text += f"\nskipped {fmt.printable(name)}"
        text += f" (+{others} more)" if others else ""
        text += f": {why}"
    return text
