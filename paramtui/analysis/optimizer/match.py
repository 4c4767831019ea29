"""Tie optimizer state keys to the model's parameter tensors, or say why that is not certain."""

from __future__ import annotations

from dataclasses import dataclass, field

from paramtui.analysis.optimizer.placement import Placement, Shape, place_groups
from paramtui.analysis.optimizer.read import Key, ParamGroup, RawOptimizer, join
from paramtui.core.model import PARAMETER, CheckpointIndex, TensorInfo

# State entries that have the parameter's shape (Adam/AdamW/Adamax/NAdam/RAdam, SGD, RMSprop,
# Adagrad, Adadelta, ASGD, Rprop). Others (Adafactor's row/column factors) are not checked.
SHAPED_STATE = frozenset(
    {"exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "square_avg", "acc_delta",
     "grad_avg", "sum", "exp_inf", "ax", "prev", "step_size"}
)  # fmt: skip
_PREFIXES = ("module.", "_orig_mod.")  # DataParallel/DDP and torch.compile wrappers


@dataclass
class Match:
    method: str  # "state names", "param_names", "order", "none"
    reason: str | None  # why the names are not certain
    names: dict[Key, str] = field(default_factory=dict)  # state key -> parameter name
    tensors: dict[Key, str] = field(default_factory=dict)  # state key -> model tensor name
    group_of: dict[Key, int] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def match_keys(index: CheckpointIndex, raw: RawOptimizer, model: str | None) -> Match:
    group_of = {k: g.index for g in raw.groups for k in g.params or ()}
    if len(raw.groups) == 1 and raw.groups[0].params is None:
        group_of = dict.fromkeys(raw.state, raw.groups[0].index)  # the only group holds them
    if raw.by_names:
        keys = list(dict.fromkeys([*group_of, *raw.named_hyper, *raw.state]))
        match = _by_names(index, raw, model, {k: str(k) for k in keys}, "state names")
    elif raw.groups and all(g.param_names is not None for g in raw.groups):
        match = _by_param_names(index, raw, model)
    else:
        match = _by_order(index, raw, model)
    match.group_of = group_of
    if model is not None:
        match.aliases = aliases(index, model)
    else:
        match.notes.append("the file holds no model weights next to the optimizer")
    return match


def membership_known(groups: tuple[ParamGroup, ...], named_groups: bool) -> bool:
    """True when the file lists every parameter the optimizer holds."""
    if named_groups:
        return True
    return bool(groups) and all(g.params is not None for g in groups)


def parameter_tensors(index: CheckpointIndex, model: str) -> list[TensorInfo]:
    """The model part's parameters in file order, each shared storage (tied weight) once."""
    seen: set[tuple[object, ...]] = set()
    out = []
    for info in _model_params(index, model):
        key = _storage_key(info)
        if key not in seen:
            seen.add(key)
            out.append(info)
    return out


def aliases(index: CheckpointIndex, model: str) -> dict[str, str]:
    """Tied weights: each later name of one parameter -> its first name."""
    first: dict[tuple[object, ...], str] = {}
    out = {}
    for info in _model_params(index, model):
        name = first.setdefault(_storage_key(info), info.name)
        if name != info.name:
            out[info.name] = name
    return out


def relative(model: str, tensor: str) -> str:
    """A model tensor's name inside the model part ("" is the top level: a live nn.Module)."""
    return tensor[len(model) + 1 :] if model else tensor


def _model_params(index: CheckpointIndex, model: str) -> list[TensorInfo]:
    prefix = f"{model}." if model else ""  # "": every parameter (roles keep state/grads out)
    return [i for i in index.tensors.values() if i.name.startswith(prefix) and i.role == PARAMETER]


def _storage_key(info: TensorInfo) -> tuple[object, ...]:
    return (info.storage_id, info.storage_offset, info.shape, info.stride)


def _by_param_names(index: CheckpointIndex, raw: RawOptimizer, model: str | None) -> Match:
    names: dict[Key, str] = {}
    for group in raw.groups:
        assert group.param_names is not None
        if group.params is None or len(group.params) != len(group.param_names):
            count = "?" if group.params is None else len(group.params)
            reason = (
                f"param group {group.index} lists {count} parameters but "
                f"{len(group.param_names)} param_names"
            )
            return Match("none", reason)
        names.update(zip(group.params, group.param_names, strict=True))
    return _by_names(index, raw, model, names, "param_names")


def _by_names(
    index: CheckpointIndex, raw: RawOptimizer, model: str | None, names: dict[Key, str], how: str
) -> Match:
    match = Match(how, None, names=names)
    if model is None:
        return match
    match.tensors = {k: t for k, n in names.items() if (t := _resolve(index, model, n))}
    lost = [n for k, n in names.items() if k not in match.tensors]
    if lost:
        match.reason = (
            f"{len(lost)} of the optimizer's parameter names are not tensors of '{model}' "
            f"(e.g. '{lost[0]}')"
        )
    conflict, _ = shape_conflict(index, raw, match.tensors)
    if conflict is not None and match.reason is None:
        match.reason = conflict
    return match


def _by_order(index: CheckpointIndex, raw: RawOptimizer, model: str | None) -> Match:
    order = _order_tensors(index, raw, model)
    reason, tensors = order.reason, order.tensors
    if reason is None and shape_conflict(index, raw, tensors)[1] == 0:
        reason = "there are no optimizer state tensors to check the parameter order against"
    if reason is not None:
        return Match("none", reason + _ADVICE)
    assert model is not None
    names = {k: relative(model, t) for k, t in tensors.items()}
    return Match(
        "order", None, names=names, tensors=tensors, notes=_order_notes(order, index, model)
    )


def _order_notes(order: _Order, index: CheckpointIndex, model: str) -> list[str]:
    notes = [
        "the optimizer saved no parameter names: names follow the model's parameter order, "
        f"and every state shape agrees with it ({len(order.tensors)} parameters)"
    ]
    if order.interleaved:
        notes.append(
            "its param groups interleave in the model's order (as timm's and the Hugging Face "
            "Trainer's weight-decay and no-decay groups do); only one way to place them agrees "
            "with every state shape"
        )
    left_out = len(parameter_tensors(index, model)) - len(order.tensors)
    if left_out:
        notes.append(
            f"{left_out} of the model's parameters are in no param group (frozen?); they were "
            "placed by the only choice where every state shape agrees"
        )
    return notes


_ADVICE = (
    "; build the optimizer from model.named_parameters() or save with paramtui.snapshot to "
    "record names"
)


@dataclass(frozen=True)
class _Order:
    reason: str | None  # why no order can be trusted
    tensors: dict[Key, str] = field(default_factory=dict)  # state key -> model tensor name
    interleaved: bool = False  # the groups are not one after another in the model's order


def _order_tensors(index: CheckpointIndex, raw: RawOptimizer, model: str | None) -> _Order:
    if model is None:
        return _Order("the file holds no model weights to take parameter names from")
    if not raw.groups or any(g.params is None for g in raw.groups):
        return _Order("the param groups' parameter lists could not be read")
    keys = [k for g in raw.groups for k in g.params or ()]
    params = parameter_tensors(index, model)
    conflict = None
    if len(keys) == len(params):  # groups one after another in the model's order: kept as before
        tensors = {k: p.name for k, p in zip(keys, params, strict=True)}
        conflict, _ = shape_conflict(index, raw, tensors)
        if conflict is None:
            return _Order(None, tensors)
    groups = [[_state_shape(index, raw, k) for k in g.params or ()] for g in raw.groups]
    found = place_groups(groups, [p.shape for p in params])
    if found.ways != 1:
        return _Order(_unplaced(found, keys, [p.name for p in params], conflict, model))
    chosen = [j for positions in found.positions for j in positions]
    tensors = {k: params[j].name for k, j in zip(keys, chosen, strict=True)}
    return _Order(None, tensors, interleaved=chosen != sorted(chosen))


def _unplaced(
    found: Placement, keys: list[Key], params: list[str], conflict: str | None, model: str
) -> str:
    """Why no placement of the param groups can be trusted, with a key that has two places."""
    if conflict is not None:
        start = f"the parameter order does not fit the optimizer state: {conflict}"
    else:
        start = (
            f"the optimizer holds {len(keys)} parameters but '{model}' has {len(params)} "
            "parameter tensors"
        )
    if found.too_large:
        return f"{start}, and there are too many ways to place them to check them all"
    if found.ways == 0:
        return start if conflict is not None else f"{start}, and no choice of them fits"
    assert found.other is not None
    one = [j for positions in found.positions for j in positions]
    two = [j for positions in found.other for j in positions]
    key, a, b = next((k, a, b) for k, a, b in zip(keys, one, two, strict=True) if a != b)
    a, b = min(a, b), max(a, b)
    how = "way to place the param groups" if conflict else "choice of which ones it holds"
    return (
        f"{start}, and their state shapes fit more than one {how} "
        f"(state key {key!r} could be {relative(model, params[a])} or "
        f"{relative(model, params[b])}; parameters without state, frozen parameters left out "
        "of the optimizer, or buffers that look like parameters make the order unreliable)"
    )


def _state_shape(index: CheckpointIndex, raw: RawOptimizer, key: Key) -> Shape | None:
    slot = raw.state.get(key)
    for leaf, state_name in slot.tensors.items() if slot else ():
        if leaf in SHAPED_STATE:
            return index.tensors[state_name].shape
    return None


def shape_conflict(
    index: CheckpointIndex, raw: RawOptimizer, tensors: dict[Key, str]
) -> tuple[str | None, int]:
    """The first state tensor whose shape differs from its parameter's, and how many agree."""
    checked = 0
    for key, name in tensors.items():
        slot = raw.state.get(key)
        if slot is None:
            continue
        shape = index.tensors[name].shape
        for leaf, state_name in slot.tensors.items():
            if leaf not in SHAPED_STATE:
                continue
            got = index.tensors[state_name].shape
            if got != shape:
                return f"{state_name} has shape {list(got)} but {name} has {list(shape)}", checked
            checked += 1
    return None, checked


def _resolve(index: CheckpointIndex, model: str, name: str) -> str | None:
    variants = [name, *(name.removeprefix(p) for p in _PREFIXES if name.startswith(p))]
    variants += [p + name for p in _PREFIXES]
    for variant in variants:
        tensor = join(model, variant)
        if tensor in index.tensors:
            return tensor
    return None
