"""DCP's `.metadata` pickle, read with an allow-list instead of `pickle.load`.

torch.distributed.checkpoint pickles a `Metadata` dataclass holding `TensorStorageMetadata`,
`BytesStorageMetadata`, chunk records, `MetadataIndex` keys and the filesystem writer's
`_StorageInfo` values. Only those classes and the few torch values they need (torch.Size, dtypes,
layouts, a memory-format enum, pathlib paths) may appear. `load_records` builds inert `Record`s
without importing torch; `load_real` builds torch's own objects (for torch's reader) under the
same allow-list. Any other global stops reading with a clear error.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from typing import Any

from paramtui.core.dtypes import DTYPES
from paramtui.core.errors import UnsafePickle, UnusableInput
from paramtui.core.unpickle import DtypeRef

_META = "torch.distributed.checkpoint.metadata"
_OLD_META = "torch.distributed._shard.sharded_tensor.metadata"  # torch <= 2.1 kept some here
_FILESYSTEM = "torch.distributed.checkpoint.filesystem"

RECORD_CLASSES = frozenset(
    {
        (_META, "Metadata"),
        (_META, "TensorStorageMetadata"),
        (_META, "BytesStorageMetadata"),
        (_META, "ChunkStorageMetadata"),
        (_META, "TensorProperties"),
        (_META, "MetadataIndex"),
        (_META, "StorageMeta"),
        (_OLD_META, "TensorProperties"),
        (_FILESYSTEM, "_StorageInfo"),
        (_FILESYSTEM, "_StoragePrefix"),
    }
)
_ENUMS = frozenset({(_META, "_MEM_FORMAT_ENCODING"), (_OLD_META, "MEM_FORMAT_ENCODING")})
_PATHS = frozenset({"Path", "PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath"})
_LAYOUTS = frozenset({"strided", "sparse_coo", "sparse_csr", "sparse_csc", "_mkldnn"})
_PLAIN: dict[tuple[str, str], Any] = {
    ("torch", "Size"): tuple,
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
}


class Record:
    """An inert instance of an allowed DCP dataclass: its pickled state, nothing run."""

    kind = ""

    def __init__(self, *args: Any) -> None:
        self.args = args
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}  # (dict state, slot state)
        if isinstance(state, dict):
            self.__dict__.update({str(k): v for k, v in state.items()})
        else:
            self.state = state  # TensorProperties pickles a tuple

    def get(self, name: str, default: Any = None) -> Any:
        return self.__dict__.get(name, default)

    def __repr__(self) -> str:
        return f"<{self.kind}>"


def is_record(value: Any, name: str) -> bool:
    return isinstance(value, Record) and value.kind == name


class _RecordUnpickler(pickle.Unpickler):
    def __init__(self, file: Any) -> None:
        super().__init__(file)
        self._classes: dict[str, type[Record]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in RECORD_CLASSES:
            return self._classes.setdefault(name, type(name, (Record,), {"kind": name}))
        if (module, name) in _ENUMS:
            return int  # the enum's value is all we keep
        if module == "torch" and name in DTYPES:
            return DtypeRef(name)
        if module == "torch" and name in _LAYOUTS:
            return f"torch.{name}"
        if (module, name) == ("torch.serialization", "_get_layout"):
            return str  # _get_layout("torch.strided"): keep the name
        if module in ("pathlib", "pathlib._local") and name in _PATHS:
            return _joined_path
        plain = _PLAIN.get((module, name))
        if plain is None:
            raise _Refused(module, name)
        return plain


class _RealUnpickler(pickle.Unpickler):
    """torch's own classes, but only the allowed ones (for torch's checkpoint reader)."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = (
            (module, name) in RECORD_CLASSES
            or (module, name) in _ENUMS
            or (module == "torch" and (name in DTYPES or name in _LAYOUTS))
            or (module, name) == ("torch.serialization", "_get_layout")
            or (module in ("pathlib", "pathlib._local") and name in _PATHS)
            or (module, name) in _PLAIN
        )
        if not allowed:
            raise _Refused(module, name)
        return super().find_class(module, name)


class _Refused(pickle.UnpicklingError):
    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")


def _joined_path(*parts: Any) -> str:
    return "/".join(str(p) for p in parts).replace("//", "/")


def load_records(path: str, data: bytes) -> Record:
    """The Metadata of `path` (a .metadata file) as inert records."""
    meta = _run(path, _RecordUnpickler(io.BytesIO(data)))
    if not is_record(meta, "Metadata"):
        raise UnusableInput(
            f"{path} is not a torch.distributed.checkpoint metadata file: it holds a "
            f"{type(meta).__name__}, not a Metadata record."
        )
    assert isinstance(meta, Record)
    return meta


def load_real(path: str, data: bytes) -> Any:
    """torch's own Metadata object, unpickled under the same allow-list."""
    return _run(path, _RealUnpickler(io.BytesIO(data)))


def _run(path: str, unpickler: pickle.Unpickler) -> Any:
    try:
        return unpickler.load()
    except _Refused as exc:
        raise UnsafePickle(
            f"{path} names {exc}, which is not part of torch.distributed.checkpoint's metadata. "
            "paramtui reads DCP metadata with an allow-list and never runs other code from it; "
            "the file was written by a custom planner or storage writer, or it is not genuine."
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise UnusableInput(
            f"{path} could not be read as DCP metadata ({type(exc).__name__}: {exc}). It is "
            "damaged, truncated or still being written."
        ) from None
    except (IndexError, KeyError, MemoryError, RecursionError, UnicodeDecodeError) as exc:
        raise UnusableInput(
            f"{path} could not be read as DCP metadata ({type(exc).__name__}). It is damaged."
        ) from None
