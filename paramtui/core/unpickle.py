"""A restricted, code-free unpickler for PyTorch pickles.

Nothing named in the file is imported or called. Tensor rebuild functions and storages become
plain records (TensorRef, StorageRef); every other global becomes an inert `Stub` class that
remembers its name, arguments and state. That is enough to list every tensor of state dicts,
training checkpoints, full-model pickles and checkpoints with custom classes.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from paramtui.core.dtypes import DTYPES, STORAGE_CLASS_DTYPES, dtype_info


@dataclass(slots=True)
class StorageRef:
    """A storage as named by the pickle: ('storage', type, key, location, numel, ...)."""

    key: str
    dtype: str
    location: str
    numel: int  # elements of `dtype` for typed storages, bytes for UntypedStorage
    untyped: bool

    @property
    def nbytes(self) -> int:
        return self.numel if self.untyped else self.numel * dtype_info(self.dtype).itemsize


@dataclass(slots=True)
class TensorRef:
    storage: StorageRef | None
    storage_offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: str
    requires_grad: bool | None = None  # as recorded; state dicts report it for parameters only
    is_parameter: bool = False
    layout: str = "strided"


class Stub:
    """An inert stand-in for any global the file names. Calling it records, never runs."""

    module = ""
    qualname = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.state: Any = None
        self.items: list[Any] = []
        self.entries: dict[Any, Any] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> Stub:
        obj = object.__new__(cls)
        obj.args, obj.state, obj.items, obj.entries = args, None, [], {}
        return obj

    def __call__(self, *args: Any, **kwargs: Any) -> Stub:
        return Stub(self, *args)  # e.g. getattr(obj, "method")(...): recorded, not run

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.entries[key] = value

    def append(self, value: Any) -> None:
        self.items.append(value)

    def extend(self, values: Any) -> None:
        self.items.extend(values)

    @classmethod
    def full_name(cls) -> str:
        return f"{cls.module}.{cls.qualname}" if cls.module else cls.qualname

    def __repr__(self) -> str:
        return f"<{self.full_name()}>"


@dataclass(slots=True)
class DtypeRef:
    name: str


@dataclass
class UnpickleResult:
    obj: Any
    storages: dict[str, StorageRef] = field(default_factory=dict)
    stubbed: set[str] = field(default_factory=set)


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


def _rebuild_tensor_v2(storage: Any, offset: int, size: Any, stride: Any, *rest: Any) -> TensorRef:
    dtype = storage.dtype if isinstance(storage, StorageRef) else "unknown"
    ref = TensorRef(
        storage if isinstance(storage, StorageRef) else None,
        int(offset),
        _shape(size),
        _shape(stride),
        dtype,
    )
    if rest and isinstance(rest[0], bool):
        ref.requires_grad = rest[0]  # TorchScript archives record it here for every tensor
    return ref


def _rebuild_tensor_v3(
    storage: Any,
    offset: int,
    size: Any,
    stride: Any,
    requires_grad: Any,
    hooks: Any,
    dtype: Any,
    *rest: Any,
) -> TensorRef:
    ref = _rebuild_tensor_v2(storage, offset, size, stride)
    if isinstance(dtype, DtypeRef):
        ref.dtype = dtype.name
    return ref


def _rebuild_parameter(data: Any, requires_grad: Any, *rest: Any) -> Any:
    if isinstance(data, TensorRef):
        data.is_parameter = True
        data.requires_grad = bool(requires_grad)
    return data


def _rebuild_qtensor(storage: Any, offset: int, size: Any, stride: Any, *rest: Any) -> TensorRef:
    ref = _rebuild_tensor_v2(storage, offset, size, stride)
    ref.layout = "quantized"
    return ref


def _rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any) -> Any:
    if callable(func) and not isinstance(func, type):
        return func(*args)
    return Stub(func, new_type, args, state)


def _rebuild_sparse(layout: Any, data: Any, *rest: Any) -> Any:
    stub = Stub(layout, data)
    stub.state = {"sparse_parts": list(data) if isinstance(data, tuple) else data}
    return stub


_TORCH_FUNCS: dict[tuple[str, str], Callable[..., Any]] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._utils", "_rebuild_qtensor"): _rebuild_qtensor,
    ("torch._utils", "_rebuild_sparse_tensor"): _rebuild_sparse,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("collections", "OrderedDict"): OrderedDict,
    ("torch", "Size"): tuple,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("builtins", "complex"): complex,
}


_TORCH_CONSTANTS = {
    "per_tensor_affine",
    "per_channel_affine",
    "per_tensor_symmetric",
    "per_channel_symmetric",
    "per_channel_affine_float_qparams",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "sparse_csc",
    "sparse_bsr",
    "sparse_bsc",
    "channels_last",
    "contiguous_format",
    "preserve_format",
}


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """copyreg._reconstructor made inert: an instance of the stub class, nothing called."""
    return cls.__new__(cls) if isinstance(cls, type) and issubclass(cls, Stub) else Stub(cls)


def _py3_name(module: str, name: str) -> tuple[str, str]:
    """Protocol-2 pickles (torch.save's) name Python 2 modules (`__builtin__`); map them as
    pickle itself does, so the allow-list sees the real names."""
    import _compat_pickle

    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: Any) -> None:
        super().__init__(file)
        self.storages: dict[str, StorageRef] = {}
        self.stubbed: set[str] = set()
        self._stub_classes: dict[tuple[str, str], type[Stub]] = {}

    def find_class(self, module: str, name: str) -> Any:
        module, name = _py3_name(module, name)
        known = _TORCH_FUNCS.get((module, name))
        if known is not None:
            return known
        if (module, name) == ("copyreg", "_reconstructor"):
            return _reconstructor
        if module == "torch" and (name in DTYPES or name in _TORCH_CONSTANTS):
            return DtypeRef(name)
        if module in ("torch", "torch.storage") and name in STORAGE_CLASS_DTYPES:
            return ("storage-class", name)
        return self._stub(module, name)

    def _stub(self, module: str, name: str) -> type[Stub]:
        key = (module, name)
        cls = self._stub_classes.get(key)
        if cls is None:
            cls = type(
                name.rpartition(".")[2] or "Stub", (Stub,), {"module": module, "qualname": name}
            )
            self._stub_classes[key] = cls
            self.stubbed.add(f"{module}.{name}")
        return cls

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {str(pid)[:80]}")
        _, kind, key, location, numel = pid[:5]
        key = str(key)
        known = self.storages.get(key)
        if known is not None:
            return known
        cls_name = kind[1] if isinstance(kind, tuple) and kind[:1] == ("storage-class",) else "?"
        dtype = STORAGE_CLASS_DTYPES.get(cls_name, "unknown")
        ref = StorageRef(key, dtype, str(location), int(numel), cls_name == "UntypedStorage")
        self.storages[key] = ref
        return ref


def restricted_loads(data: bytes) -> UnpickleResult:
    """Unpickle `data` without importing or running anything. Raises pickle/ValueError/etc."""
    unpickler = RestrictedUnpickler(io.BytesIO(data))
    obj = unpickler.load()
    return UnpickleResult(obj, unpickler.storages, unpickler.stubbed)


def restricted_load_stream(file: Any) -> UnpickleResult:
    """Unpickle one pickle from an open binary file, leaving it positioned just after it."""
    unpickler = RestrictedUnpickler(file)
    obj = unpickler.load()
    return UnpickleResult(obj, unpickler.storages, unpickler.stubbed)
