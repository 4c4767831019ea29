"""A live nn.Module (and optimizer) as a CheckpointIndex, read where its tensors live.

Every TensorInfo of a live index has `location=None` and a storage id starting with "live:".
The tensors' storages are kept, as whole 1-D uint8 views (the same shape the edit layer gives a
storage read from a file), by the index's `LiveSource`; a weak registry storage id -> view lets
`core.access` read a live TensorInfo without any new field on it. The registry entries vanish
with the index. Nothing is copied: views share the live memory, on whatever device it is.
torch is imported inside functions only.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paramtui.core.model import (
    BUFFER,
    GRADIENT,
    OPTIMIZER_STATE,
    PARAMETER,
    CheckpointIndex,
    MetaEntry,
    ParamGroupRecord,
    TensorInfo,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

FORMAT = "live nn.Module"
GRAD_ROOT = "grads"
OPTIMIZER_ROOT = "optimizer"
PREFIX = "live:"

_registry: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
_tokens = itertools.count(1)


@dataclass
class LiveSource:
    """What a live index reads and edits: the module, its parameters by name, the storages."""

    model: Any  # nn.Module
    optimizer: Any = None  # torch.optim.Optimizer | None
    params: dict[str, Any] = field(default_factory=dict)  # name -> nn.Parameter
    storages: dict[str, Any] = field(default_factory=dict)  # storage id -> 1-D uint8 view


def is_live(info: TensorInfo) -> bool:
    return info.location is None and info.storage_id.startswith(PREFIX)


def storage_of(info: TensorInfo) -> torch.Tensor | None:
    """The live storage (1-D uint8, same device) behind `info`, or None when not live."""
    if not is_live(info):
        return None
    return _registry.get(info.storage_id)


def source_of(index: CheckpointIndex) -> LiveSource | None:
    live = index.live
    return live if isinstance(live, LiveSource) else None


def live_view(info: TensorInfo) -> torch.Tensor | None:
    """`info`'s live tensor (a view sharing its memory, outside autograd), or None."""
    import torch

    base = storage_of(info)
    if base is None:
        return None
    dtype = getattr(torch, info.dtype)
    if info.numel == 0:
        return torch.empty_strided(info.shape, info.stride, dtype=dtype, device=base.device)
    usable = base.numel() - base.numel() % info.itemsize
    return base[:usable].view(dtype).as_strided(info.shape, info.stride, info.storage_offset)


def index_from_module(
    model: nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> CheckpointIndex:
    """The index of a live model: parameters, buffers, gradients ("grads.<name>") and, with an
    optimizer, its state keyed by parameter name ("optimizer.state.<name>.exp_avg")."""
    source = LiveSource(model, optimizer)
    token = next(_tokens)
    tensors: dict[str, TensorInfo] = {}
    params = dict(model.named_parameters(remove_duplicate=False))
    source.params = params
    for name, param in params.items():
        tensors[name] = _info(source, token, name, param, PARAMETER)
    for name, buf in model.named_buffers(remove_duplicate=False):
        tensors[name] = _info(source, token, name, buf, BUFFER)
    for name, param in params.items():
        if param.grad is not None:
            grad = f"{GRAD_ROOT}.{name}"
            tensors[grad] = _info(source, token, grad, param.grad, GRADIENT)
    index = CheckpointIndex(path=f"{type(model).__name__}.live.pth", format=FORMAT, tensors={})
    index.live = source
    if optimizer is not None:
        _add_optimizer(index, source, token, tensors, model, optimizer)
    index.tensors = tensors
    index.notes.append(
        "a live nn.Module: edits change the model in this process at once; undo restores them"
    )
    return index


def _info(source: LiveSource, token: int, name: str, t: torch.Tensor, role: str) -> TensorInfo:
    import torch

    is_param = role == PARAMETER
    strided = t.layout == torch.strided and not t.is_quantized and t.device.type != "meta"
    sid = _register(source, token, t) if strided else f"{PREFIX}{token}:unreadable:{name}"
    return TensorInfo(
        name=name,
        shape=tuple(t.shape),
        dtype=str(t.dtype).removeprefix("torch."),
        device=str(t.device),
        stride=tuple(t.stride()) if strided else (),
        storage_offset=int(t.storage_offset()) if strided else 0,
        storage_id=sid,
        location=None,
        role=role,
        role_recorded=True,
        requires_grad=bool(t.requires_grad) if is_param else None,
        has_grad=(t.grad is not None) if is_param else None,
        layout="strided" if strided else str(t.layout).removeprefix("torch."),
    )


def _register(source: LiveSource, token: int, t: torch.Tensor) -> str:
    """The storage id of `t`'s storage (shared storages get one id), registered once."""
    import torch

    storage = t.untyped_storage()
    sid = f"{PREFIX}{token}:{t.device}:{storage.data_ptr()}:{storage.nbytes()}"
    if sid not in source.storages:
        whole = torch.empty(0, dtype=torch.uint8, device=t.device).set_(storage)
        source.storages[sid] = whole
        _registry[sid] = whole
    return sid


def _add_optimizer(
    index: CheckpointIndex,
    source: LiveSource,
    token: int,
    tensors: dict[str, TensorInfo],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
) -> None:
    """State tensors by parameter name; plain state values and group hyper-parameters become
    metadata entries (the layout paramtui snapshots use, so the optimizer view reads it)."""
    named = optimizer_by_name(model, optimizer)
    root = f"{OPTIMIZER_ROOT}.state"
    for pname, state in named["state"].items():
        for key, value in state.items():
            name = f"{root}.{pname}.{key}"
            if _is_tensor(value):
                tensors[name] = _info(source, token, name, value, OPTIMIZER_STATE)
            else:
                index.metadata[name] = _meta(name, value)
    for i, group in enumerate(named["param_groups"]):
        for key, value in group.items():
            name = f"{OPTIMIZER_ROOT}.param_groups.{i}.{key}"
            index.metadata[name] = _meta(name, value)
        record = ParamGroupRecord(OPTIMIZER_ROOT, i, tuple(group["params"]))
        index.param_groups.append(record)
    index.metadata["optimizer_class"] = _meta("optimizer_class", type(optimizer).__name__)


def optimizer_by_name(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """optimizer.state_dict() with parameter names in place of indices (its tensors are the
    live ones: nothing is copied).

    torch numbers parameters in the order the live param groups list them; parameters the
    model does not own are named "<unnamed N>"."""
    ids: dict[int, str] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        ids.setdefault(id(param), name)
    live = [param for group in optimizer.param_groups for param in group["params"]]
    order = [ids.get(id(param), f"<unnamed {i}>") for i, param in enumerate(live)]
    saved = optimizer.state_dict()
    groups = []
    for group in saved["param_groups"]:
        hyper = {k: v for k, v in group.items() if k not in ("params", "param_names")}
        groups.append({**hyper, "params": [order[i] for i in group["params"]]})
    return {
        "state": {order[i]: dict(s) for i, s in saved["state"].items()},
        "param_groups": groups,
    }


def _is_tensor(value: Any) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _meta(name: str, value: Any) -> MetaEntry:
    return MetaEntry(name, type(value).__name__, repr(value)[:200])
