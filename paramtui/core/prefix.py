"""Wrapper prefixes in state dict names: `module.` (DataParallel / DDP), `_orig_mod.`
(torch.compile), `model.module.` (a wrapper holding a DDP model), and stripping them.

A prefix belongs to a *state dict part*: the whole file for a plain state dict, or the model
(and EMA) part of a training checkpoint as core.training.describe_layout finds it. Stripping it
renames the index only (no tensor bytes are read); storages, and so ties, are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from paramtui.core import training
from paramtui.core.errors import UnusableInput
from paramtui.core.model import CheckpointIndex

WRAPPER_WORDS = ("module", "_orig_mod")  # DataParallel/DDP, torch.compile's OptimizedModule
HOLDER_WORDS = ("model",)  # a holder attribute in front of a wrapper: model.module.<...>


def common_wrapper_prefix(names: Iterable[str]) -> str | None:
    """The wrapper prefix every name shares ("module.", "_orig_mod.", "model.module.",
    "module._orig_mod." ...), or None. A prefix is only reported when something is left of
    every name after it, and a holder word ("model.") only in front of a wrapper word."""
    split = [name.split(".") for name in names]
    if not split:
        return None
    shared = 0
    first = split[0]
    while all(len(parts) > shared + 1 and parts[shared] == first[shared] for parts in split):
        shared += 1
    words = first[:shared]
    start = 1 if words[:1] and words[0] in HOLDER_WORDS else 0
    wrappers = 0
    while start + wrappers < len(words) and words[start + wrappers] in WRAPPER_WORDS:
        wrappers += 1
    if wrappers == 0:
        return None
    return ".".join(words[: start + wrappers]) + "."


def normalise(prefix: str) -> str:
    """'module' and 'module.' both mean the prefix 'module.'."""
    prefix = prefix.strip()
    return prefix if prefix.endswith(".") or not prefix else prefix + "."


def state_dict_parts(index: CheckpointIndex) -> list[str]:
    """Roots holding a model's state dict: the model part and any EMA copies of a training
    checkpoint; a model root ("model", "state_dict", ...) holding every tensor
    ({"model": state_dict, "epoch": 3}); else "" (a plain state dict: the whole file)."""
    layout = training.describe_layout(index)
    if layout is not None:
        return [p for p in (layout.model, *layout.ema) if p is not None]
    firsts = {name.partition(".")[0] for name in index.tensors}
    if len(firsts) == 1 and firsts <= set(training.MODEL_ROOTS) and len(index.tensors) > 0:
        return [firsts.pop()]
    return [""]


def part_keys(index: CheckpointIndex, part: str) -> list[str]:
    """Tensor names of `part`, relative to it (the state dict's own keys)."""
    if not part:
        return list(index.tensors)
    start = part + "."
    return [n[len(start) :] for n in index.tensors if n.startswith(start)]


@dataclass(frozen=True)
class StripPlan:
    """What to strip: part -> prefix, and every renamed full name (old -> new)."""

    prefixes: dict[str, str]
    renames: dict[str, str]

    def describe(self) -> str:
        where = [f"'{p}' from {('part ' + repr(part)) if part else 'every name'}"
                 for part, p in self.prefixes.items()]  # fmt: skip
        return f"stripped {', '.join(where)} ({len(self.renames):,} names)"


def plan_strip(index: CheckpointIndex, prefix: str | None = None) -> StripPlan:
    """The renames that strip `prefix` (auto-detected when None) from the state dict parts.

    Raises UnusableInput when there is nothing to strip or when stripping would give two
    tensors one name."""
    wanted = normalise(prefix) if prefix is not None else None
    parts = state_dict_parts(index)
    prefixes = _find_prefixes(index, parts, wanted)
    if not prefixes and parts != [""]:
        prefixes = _find_prefixes(index, [""], wanted)  # "model." itself, say
    if not prefixes:
        raise UnusableInput(_nothing_to_strip(index, wanted))
    renames = _renames(index, prefixes)
    _check_unique(index, renames)
    return StripPlan(prefixes, renames)


def stripped_index(index: CheckpointIndex, plan: StripPlan) -> CheckpointIndex:
    """A copy of `index` with the plan's names; locations and storage ids are unchanged."""
    tensors = {
        plan.renames.get(name, name): replace(info, name=plan.renames.get(name, name))
        for name, info in index.tensors.items()
    }
    metadata = {
        _rename_meta(name, plan): replace(entry, name=_rename_meta(name, plan))
        for name, entry in index.metadata.items()
    }
    return CheckpointIndex(
        path=index.path,
        format=index.format,
        tensors=tensors,
        metadata=metadata,
        file_metadata=dict(index.file_metadata),
        files=list(index.files),
        notes=[*index.notes, plan.describe()],
        param_groups=list(index.param_groups),
    )


def _find_prefixes(index: CheckpointIndex, parts: list[str], wanted: str | None) -> dict[str, str]:
    prefixes = {}
    for part in parts:
        keys = part_keys(index, part)
        found = wanted if wanted is not None else common_wrapper_prefix(keys)
        if found and any(k.startswith(found) and len(k) > len(found) for k in keys):
            prefixes[part] = found
    return prefixes


def _renames(index: CheckpointIndex, prefixes: dict[str, str]) -> dict[str, str]:
    out = {}
    for name in index.tensors:
        new = _strip_one(name, prefixes)
        if new != name:
            out[name] = new
    return out


def _strip_one(name: str, prefixes: dict[str, str]) -> str:
    for part, prefix in prefixes.items():
        head = part + "." if part else ""
        if name.startswith(head + prefix) and len(name) > len(head + prefix):
            return head + name[len(head + prefix) :]
    return name


def _rename_meta(name: str, plan: StripPlan) -> str:
    return _strip_one(name, plan.prefixes)


def _check_unique(index: CheckpointIndex, renames: dict[str, str]) -> None:
    taken: dict[str, str] = {}
    for name in index.tensors:
        new = renames.get(name, name)
        if new in taken:
            raise UnusableInput(
                f"stripping the prefix would give two tensors of {index.path} the name '{new}' "
                f"('{taken[new]}' and '{name}'). Nothing was renamed; give the prefix that "
                "every name of the state dict shares (or none to detect it)."
            )
        taken[new] = name


def _nothing_to_strip(index: CheckpointIndex, wanted: str | None) -> str:
    parts = state_dict_parts(index)
    where = "the state dict" if parts == [""] else f"the model part ('{parts[0]}')" if parts \
        else "any model part"  # fmt: skip
    sample = part_keys(index, parts[0])[:1] if parts else []
    seen = f" (for example '{sample[0]}')" if sample else ""
    if wanted is None:
        return (
            f"no wrapper prefix (module., _orig_mod., model.module.) is shared by every tensor "
            f"name of {where} in {index.path}{seen}; nothing to strip. Give the prefix "
            "explicitly to strip another one."
        )
    return f"no tensor name of {where} in {index.path} starts with '{wanted}'{seen}."
