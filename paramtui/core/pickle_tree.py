"""Flatten an unpickled object graph into dotted tensor names and metadata entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paramtui.core.errors import UnusableInput
from paramtui.core.model import BUFFER, PARAMETER, MetaEntry
from paramtui.core.unpickle import DtypeRef, Stub, TensorRef

MAX_ENTRIES = 5_000_000  # a hostile pickle can fan out through its memo; stop long before RAM does
PREVIEW_CHARS = 120
SCALARS = (int, float, complex, str, bytes, bool, type(None))


@dataclass(slots=True)
class FoundTensor:
    name: str
    ref: TensorRef
    role: str | None  # recorded role (module _parameters/_buffers) or None


class _Walker:
    def __init__(self) -> None:
        self.tensors: list[FoundTensor] = []
        self.meta: list[MetaEntry] = []
        self.visited = 0
        self.active: set[int] = set()

    def walk(self, obj: Any, name: str, role: str | None = None) -> None:
        self.visited += 1
        if self.visited > MAX_ENTRIES:
            raise UnusableInput(
                f"the pickle holds more than {MAX_ENTRIES:,} objects; it is either hostile or "
                "not a checkpoint paramtui can list"
            )
        if isinstance(obj, TensorRef):
            if role is None and obj.is_parameter:
                role = PARAMETER
            self.tensors.append(FoundTensor(name or "tensor", obj, role))
            return
        if isinstance(obj, (*SCALARS, DtypeRef)):
            self.meta.append(_entry(name, obj))
            return
        if id(obj) in self.active:  # a reference cycle
            self.meta.append(MetaEntry(name, "cycle", "(refers back to an enclosing object)"))
            return
        self.active.add(id(obj))
        try:
            self._walk_container(obj, name)
        finally:
            self.active.discard(id(obj))

    def _walk_container(self, obj: Any, name: str) -> None:
        if isinstance(obj, dict):
            if _is_module_state(obj):
                self._walk_module(obj, name)
            else:
                for key, value in obj.items():
                    self.walk(value, _join(name, key))
        elif isinstance(obj, (list, tuple)):
            if obj and all(isinstance(v, SCALARS) for v in obj):
                self.meta.append(_entry(name, obj))
            else:
                for i, value in enumerate(obj):
                    self.walk(value, _join(name, i))
        elif isinstance(obj, Stub):
            self._walk_stub(obj, name)
        else:
            self.meta.append(_entry(name, obj))

    def _walk_stub(self, obj: Stub, name: str) -> None:
        parts = [p for p in (obj.state, obj.entries or None, obj.items or None) if p is not None]
        if not parts:
            if _holds_tensor(obj.args):
                self.walk(list(obj.args), name)
            else:
                self.meta.append(_entry(name, obj))
        for part in parts:
            if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], dict):
                part = {**(part[0] or {}), **part[1]}  # (state, slotstate)
            self.walk(part, name)

    def _walk_module(self, state: dict[str, Any], name: str) -> None:
        for key, value in (state.get("_parameters") or {}).items():
            if value is not None:
                self.walk(value, _join(name, key), PARAMETER)
        for key, value in (state.get("_buffers") or {}).items():
            if value is not None:
                self.walk(value, _join(name, key), BUFFER)
        for key, value in (state.get("_modules") or {}).items():
            if value is not None:
                self.walk(value, _join(name, key))


def _holds_tensor(obj: Any, depth: int = 4) -> bool:
    if isinstance(obj, TensorRef):
        return True
    if depth == 0:
        return False
    if isinstance(obj, (list, tuple)):
        return any(_holds_tensor(v, depth - 1) for v in obj)
    if isinstance(obj, dict):
        return any(_holds_tensor(v, depth - 1) for v in obj.values())
    if isinstance(obj, Stub):
        return _holds_tensor([obj.args, obj.state, obj.entries, obj.items], depth - 1)
    return False


def _is_module_state(obj: dict[Any, Any]) -> bool:
    return "_parameters" in obj and "_modules" in obj


def _join(prefix: str, key: Any) -> str:
    text = key.name if isinstance(key, DtypeRef) else str(key)
    return f"{prefix}.{text}" if prefix else text


def describe(name: str, value: Any) -> MetaEntry:
    """A MetaEntry (type and clipped preview) for one non-tensor value."""
    return _entry(name, value)


def _entry(name: str, value: Any) -> MetaEntry:
    if isinstance(value, DtypeRef):
        return MetaEntry(name or "value", "dtype", f"torch.{value.name}")
    if isinstance(value, Stub):
        args = ", ".join(repr(a) for a in value.args)
        return MetaEntry(name or "value", value.full_name(), _clip(f"{value.full_name()}({args})"))
    type_name = type(value).__name__
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(v).__name__ for v in value})
        type_name = f"{type_name}[{len(value)}] of {'/'.join(kinds)}"
    return MetaEntry(name or "value", type_name, _clip(repr(value)))


def _clip(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def flatten(obj: Any) -> tuple[list[FoundTensor], list[MetaEntry]]:
    walker = _Walker()
    walker.walk(obj, "")
    return walker.tensors, walker.meta
