"""TorchScript archives (torch.jit.save): roles and trainability read without running TorchScript.

The zip reader already lists every tensor of `data.pkl` by module path (`fc1.weight`,
`layers.0.bias`): TorchScript pickles each module as a `__torch__.*` object whose state holds its
attributes. What it cannot tell is which tensors are parameters and which are buffers: that is
declared in the archive's generated code (`__parameters__ = [...]`, `__buffers__ = [...]` in each
class), which we read as text with `ast.literal_eval`, never executed. TorchScript also records
`requires_grad` for every tensor. Tensor constants baked into the code (constants.pkl) and extra
files are listed as metadata.
"""

from __future__ import annotations

import ast
import re
import zlib
from dataclasses import replace
from typing import Any

from paramtui.core.formats.zipdir import ZipRecord, read_records
from paramtui.core.model import BUFFER, OTHER, PARAMETER, CheckpointIndex, MetaEntry, TensorInfo
from paramtui.core.unpickle import Stub, TensorRef, restricted_loads

_CLASS = re.compile(
    r"^class (\w+)\(Module\):\n  __parameters__ = (\[.*?\])\n  __buffers__ = (\[.*?\])$",
    re.MULTILINE,
)
_NOISE = "_is_full_backward_hook"
EXTRA_PREVIEW = 200
CODE_LIMIT = 64 << 20  # bytes a record may hold (inflated) before we stop reading it
Records = dict[str, ZipRecord]


def refine_torchscript(index: CheckpointIndex) -> CheckpointIndex:
    """Recorded roles and requires_grad for the tensors of a TorchScript archive's index."""
    try:
        records = {r.name: r for r in read_records(index.path)}
    except (OSError, ValueError):
        return index  # the zip reader already read it; keep what it found
    prefix = _prefix(records)
    with open(index.path, "rb") as f:
        reader = _Archive(f, records, prefix)
        found = _declared_roles(reader)
        constants = reader.constants()
        extras = reader.extras()
    index.tensors = {
        name: _with_role(info, found.get(name)) for name, info in index.tensors.items()
    }
    index.metadata = {k: v for k, v in index.metadata.items() if not k.endswith(_NOISE)}
    index.metadata.update(constants)
    index.file_metadata.update(extras)
    return index


class _Archive:
    def __init__(self, f: Any, records: Records, prefix: str) -> None:
        self.f, self.records, self.prefix = f, records, prefix
        self._code: dict[str, dict[str, tuple[list[str], list[str]]]] = {}

    def read(self, name: str, limit: int = CODE_LIMIT) -> bytes | None:
        """A record's bytes (code records are deflated), or None when missing or too large."""
        record = self.records.get(self.prefix + name)
        if record is None or record.size > limit or record.method not in (0, 8):
            return None
        self.f.seek(record.data_offset)
        data = bytes(self.f.read(record.size))
        if record.method == 0:
            return data
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            out = inflater.decompress(data, limit)
        except zlib.error:
            return None
        return None if inflater.unconsumed_tail else out

    def declared(self, qualified: str) -> tuple[list[str], list[str]] | None:
        """(parameters, buffers) the generated code declares for class `qualified`."""
        module, _, cls = qualified.rpartition(".")
        if module not in self._code:
            text = self.read("code/" + module.replace(".", "/") + ".py")
            self._code[module] = _parse_classes(text.decode("utf-8", "replace") if text else "")
        return self._code[module].get(cls)

    def constants(self) -> dict[str, MetaEntry]:
        data = self.read("constants.pkl")
        if data is None:
            return {}
        try:
            values = restricted_loads(data).obj
        except Exception:  # noqa: BLE001 - constants are extra information only
            return {}
        items = values if isinstance(values, tuple | list) else ()
        return {
            f"<constants>.{i}": MetaEntry(
                f"<constants>.{i}", "tensor constant", f"{v.dtype}{list(v.shape)} (in the code)"
            )
            for i, v in enumerate(items)
            if isinstance(v, TensorRef)
        }

    def extras(self) -> dict[str, str]:
        out = {}
        for name in self.records:
            if name.startswith(self.prefix + "extra/"):
                short = name[len(self.prefix) :]
                data = self.read(short, limit=1 << 20)
                text = data.decode("utf-8", "replace") if data is not None else "(large)"
                out[short] = text if len(text) <= EXTRA_PREVIEW else text[:EXTRA_PREVIEW] + "…"
        return out


def _prefix(records: Records) -> str:
    names = sorted((n for n in records if n.endswith("/data.pkl") and n.count("/") == 1), key=len)
    return names[0][: -len("data.pkl")] if names else ""


def _parse_classes(text: str) -> dict[str, tuple[list[str], list[str]]]:
    classes: dict[str, tuple[list[str], list[str]]] = {}
    for match in _CLASS.finditer(text):
        try:
            params, buffers = ast.literal_eval(match[2]), ast.literal_eval(match[3])
        except (ValueError, SyntaxError):
            continue
        classes[match[1]] = ([str(p) for p in params], [str(b) for b in buffers])
    return classes


def _declared_roles(archive: _Archive) -> dict[str, tuple[str, bool | None]]:
    """Tensor name -> (recorded role, requires_grad) for module attributes the code declares."""
    data = archive.read("data.pkl")
    if data is None:
        return {}
    try:
        root = restricted_loads(data).obj
    except Exception:  # noqa: BLE001 - the zip reader already reported unreadable pickles
        return {}
    found: dict[str, tuple[str, bool | None]] = {}
    _walk(root, "", archive, found, depth=0)
    return found


def _walk(
    obj: Any, name: str, archive: _Archive, found: dict[str, tuple[str, bool | None]], depth: int
) -> None:
    if not isinstance(obj, Stub) or not isinstance(obj.state, dict) or depth > 200:
        return
    declared = archive.declared(type(obj).full_name())
    for key, value in obj.state.items():
        path = f"{name}.{key}" if name else str(key)
        if not isinstance(value, TensorRef):
            _walk(value, path, archive, found, depth + 1)
        elif declared is not None:  # without the class's code the role stays inferred
            params, buffers = declared
            if key in params:
                found[path] = (PARAMETER, value.requires_grad)
            else:
                found[path] = (BUFFER if key in buffers else OTHER, None)


def _with_role(info: TensorInfo, found: tuple[str, bool | None] | None) -> TensorInfo:
    if found is None:
        return info
    role, requires_grad = found
    return replace(info, role=role, role_recorded=True, requires_grad=requires_grad)
