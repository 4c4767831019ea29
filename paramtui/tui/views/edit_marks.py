"""What the tree and the detail pane mark as edited: a snapshot taken after every edit.

A pure value (no widgets, no torch): the edit worker builds it from the session once per edit,
so drawing a tree line only looks names up in sets."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paramtui.edits.session import EditSession

EDITED = "●"  # values changed in this session
FROZEN = "❄"  # requires_grad=False (set in this session or recorded in the file)
PARTLY_FROZEN = "◒"  # a module with some of its parameters frozen (a half-filled circle)
TRAINABLE = "∇"  # requires_grad=True set in this session

# (glyph, component class of ModuleTree that styles it)
Mark = tuple[str, str]
Slots = tuple[Mark | None, Mark | None]
EDITED_MARK: Mark = (EDITED, "module-tree--edited")
FROZEN_MARK: Mark = (FROZEN, "module-tree--frozen")
PARTLY_FROZEN_MARK: Mark = (PARTLY_FROZEN, "module-tree--frozen")
TRAINABLE_MARK: Mark = (TRAINABLE, "module-tree--trainable")

LEGEND = [
    (EDITED, "values edited in this session (the tensor, or one below the module)"),
    (
        FROZEN,
        "frozen: requires_grad=False (set in this session, or recorded in the file); a module"
        " when all its parameters are",
    ),
    (PARTLY_FROZEN, "a module with some of its parameters frozen"),
    (TRAINABLE, "unfrozen in this session: requires_grad=True"),
]


def ancestors(name: str) -> Iterator[str]:
    """'' then every dotted prefix of `name` ('a', 'a.b' for 'a.b.c'), not the name itself."""
    yield ""
    dot = name.find(".")
    while dot >= 0:
        yield name[:dot]
        dot = name.find(".", dot + 1)


def _modules_above(names: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for name in names:
        out.update(ancestors(name))
    return frozenset(out)


@dataclass(frozen=True)
class EditMarks:
    """Edited tensors and requires_grad intents of one session version."""

    version: int = 0
    edited: frozenset[str] = frozenset()
    intents: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    edited_below: frozenset[str] = frozenset()  # module paths with an edited tensor below
    frozen_below: frozenset[str] = frozenset()
    unfrozen_below: frozenset[str] = frozenset()
    dirty: bool = False

    @classmethod
    def build(
        cls, version: int, edited: Iterable[str], intents: Mapping[str, bool], dirty: bool
    ) -> EditMarks:
        edited = frozenset(edited)
        return cls(
            version=version,
            edited=edited,
            intents=MappingProxyType(dict(intents)),
            edited_below=_modules_above(edited),
            frozen_below=_modules_above(n for n, v in intents.items() if not v),
            unfrozen_below=_modules_above(n for n, v in intents.items() if v),
            dirty=dirty,
        )

    @property
    def any(self) -> bool:
        return bool(self.edited or self.intents)

    def tensor_slots(self, name: str) -> Slots:
        """(values mark, requires_grad mark) of a tensor; None where nothing changed."""
        values = EDITED_MARK if name in self.edited else None
        intent = self.intents.get(name)
        grad = None if intent is None else TRAINABLE_MARK if intent else FROZEN_MARK
        return values, grad

    def edited_mark(self, path: str, module: bool) -> Mark | None:
        """● on an edited tensor, and on a module with an edited tensor at or below it."""
        hit = path in self.edited or (module and path in self.edited_below)
        return EDITED_MARK if hit else None

    def module_slots(self, path: str) -> Slots:
        """The same for a module: what changed anywhere below it (frozen wins over unfrozen)."""
        values = EDITED_MARK if path in self.edited_below else None
        if path in self.frozen_below:
            return values, FROZEN_MARK
        return values, TRAINABLE_MARK if path in self.unfrozen_below else None

    def count_under(self, path: str) -> tuple[int, int, int]:
        """(edited, frozen, unfrozen) tensors at or below module `path` in this session."""
        prefix = path + "." if path else ""

        def under(name: str) -> bool:
            return name == path or name.startswith(prefix)

        frozen = sum(1 for n, v in self.intents.items() if not v and under(n))
        unfrozen = sum(1 for n, v in self.intents.items() if v and under(n))
        return sum(1 for n in self.edited if under(n)), frozen, unfrozen


def marks_of(session: EditSession) -> EditMarks:
    """The marks of the session's current state (call it from the thread that edits)."""
    return EditMarks.build(
        session.version, session.edited_names(), session.grad_intents(), session.dirty
    )
