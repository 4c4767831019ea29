"""Which tensors an edit target names: an exact tensor, a module subtree, or a glob."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from paramtui.core.errors import EditRefused
from paramtui.core.model import CheckpointIndex

GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Selection:
    """The names a target reaches, in file order. `exact` when it named one tensor itself."""

    target: str
    names: tuple[str, ...]
    exact: bool

    @property
    def label(self) -> str:
        return self.target if self.target else "(everything)"


def resolve(index: CheckpointIndex, target: str) -> list[str]:
    """The tensor names `target` selects in `index`, in file order; EditRefused when none."""
    return list(select(list(index.tensors), target, where=index.path).names)


def select(names: Sequence[str], target: str, where: str = "the checkpoint") -> Selection:
    """Resolve `target` against `names` (current names, in order).

    An exact tensor name selects that tensor alone; a dotted module path selects every tensor
    under it ("" selects everything); a target holding * ? or [ is a glob over full names
    (`*` also crosses dots)."""
    if target in names:
        return Selection(target, (target,), exact=True)
    if any(c in GLOB_CHARS for c in target):
        found = tuple(n for n in names if fnmatch.fnmatchcase(n, target))
    elif target == "":
        found = tuple(names)
    else:
        prefix = target + "."
        found = tuple(n for n in names if n.startswith(prefix))
    if not found:
        raise EditRefused(_no_match(names, target, where))
    return Selection(target, found, exact=False)


def _no_match(names: Sequence[str], target: str, where: str) -> str:
    message = f"'{target}' matches no tensor or module in {where}."
    close = close_names(names, target)
    if close:
        message += " Close names: " + ", ".join(close) + "."
    return message + " Use `paramtui ls` to list the names, or a glob such as 'blocks.*.weight'."


def close_names(names: Sequence[str], target: str, limit: int = 5) -> list[str]:
    """Tensor names and module paths that look like `target`."""
    candidates: dict[str, None] = {}
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            candidates[".".join(parts[:i])] = None
    return difflib.get_close_matches(target, list(candidates), n=limit, cutoff=0.6)
