"""A read-only view of an edit session restricted to some of its names (one shard's worth).

It answers what the writers and the verifier ask a session (names, info, tensor, intents, ...)
for the chosen names only and delegates everything else to the session. Saving through it does
not mark the session saved: the caller does that once the whole folder is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paramtui.edits.session import EditSession


class SessionSubset:
    def __init__(self, session: EditSession, names: Iterable[str]) -> None:
        self._session = session
        self._names = list(names)
        self._chosen = frozenset(self._names)

    def names(self) -> list[str]:
        return list(self._names)

    def grad_intents(self) -> dict[str, bool]:
        return {n: v for n, v in self._session.grad_intents().items() if n in self._chosen}

    def is_edited(self, name: str) -> bool:
        return name in self._chosen and self._session.is_edited(name)

    def mark_saved(self) -> None:
        """One shard is not the whole save."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._session, attr)
