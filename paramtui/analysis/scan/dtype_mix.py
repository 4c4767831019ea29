"""Suspicious mixes of floating-point dtypes, found from the index alone (no data is read).

Three patterns are flagged; mixes that are common on purpose (float32 norms or routers beside
bfloat16 matrices, integer buffers, 8-bit optimizer states) are not:
- a tensor whose dtype differs from the clear majority of its peers: the same name pattern
  across layers, or the same parameter of sibling modules (layers.3.attn.k_proj.weight in
  float16 beside float32 q/v/o projections);
- float64 parameters in a model whose parameters are mostly narrower;
- floating-point optimizer state narrower than the parameters it tracks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from paramtui.analysis.scan.context import ScanContext
from paramtui.analysis.scan.findings import WARNING, Finding, plural
from paramtui.analysis.scan.layers import effective_ndim, is_weight_like, peer_groups
from paramtui.core.dtypes import dtype_info
from paramtui.core.model import OPTIMIZER_STATE, TensorInfo

MIN_GROUP = 3


def check(context: ScanContext) -> list[Finding]:
    """The `dtype_mix` kind, from the index alone (a registered whole-model check)."""
    return dtype_findings(context.index)


def dtype_findings(infos: Iterable[TensorInfo]) -> list[Finding]:
    tensors = list(infos)
    weights = [i for i in tensors if is_weight_like(i)]
    found = _odd_ones(weights)
    reported = {n for f in found for n in f.names}
    main = dominant_dtype(weights)
    if main is not None:
        found.extend(_wide_params(weights, main, reported))
        found.extend(_narrow_optimizer_state(tensors, main))
    return found


def dominant_dtype(weights: list[TensorInfo]) -> str | None:
    """The dtype holding most parameter elements."""
    counts: Counter[str] = Counter()
    for info in weights:
        counts[info.dtype] += info.numel
    return counts.most_common(1)[0][0] if counts else None


def _odd_ones(weights: list[TensorInfo]) -> list[Finding]:
    groups: list[tuple[str, list[TensorInfo]]] = [
        (f"its peers across layers ('{key[0]}')", members)
        for key, members in peer_groups(weights).items()
    ]
    groups.extend(_sibling_groups(weights))
    found: list[Finding] = []
    reported: set[str] = set()
    for where, members in groups:
        odd, majority = _minority(members)
        odd = [i for i in odd if i.name not in reported]
        if odd:
            reported.update(i.name for i in odd)
            found.append(_odd_finding(odd, majority, where, len(members)))
    return found


def _sibling_groups(weights: list[TensorInfo]) -> list[tuple[str, list[TensorInfo]]]:
    """The same leaf (".weight") of sibling modules: a.b.X.weight for every X under a.b."""
    groups: dict[tuple[str, str, int], list[TensorInfo]] = {}
    for info in weights:
        parts = info.name.split(".")
        if len(parts) >= 2:  # matrices and norm vectors apart: fp8 matrices + bf16 norms is usual
            key = (".".join(parts[:-2]), parts[-1], effective_ndim(info.shape))
            groups.setdefault(key, []).append(info)
    return [
        (f"the '{leaf}' of its sibling modules under '{parent or '(top level)'}'", members)
        for (parent, leaf, _), members in groups.items()
    ]


def _minority(members: list[TensorInfo]) -> tuple[list[TensorInfo], str]:
    """Members whose dtype is not the strict-majority dtype of a group of MIN_GROUP or more."""
    counts = Counter(i.dtype for i in members)
    if len(members) < MIN_GROUP or len(counts) < 2:
        return [], ""
    majority, count = counts.most_common(1)[0]
    if count * 2 <= len(members):
        return [], ""
    return [i for i in members if i.dtype != majority], majority


def _odd_finding(odd: list[TensorInfo], majority: str, where: str, size: int) -> Finding:
    listed = ", ".join(f"'{i.name}' ({i.dtype})" for i in odd)
    return Finding(
        "dtype_mix",
        WARNING,
        tuple(i.name for i in odd),
        f"{listed} {'differs' if len(odd) == 1 else 'differ'} from {where}, which are "
        f"{majority} ({size - len(odd)} of {size}). "
        "Unless some layers were kept in another precision on purpose (mixed-precision "
        "quantization), it was cast by mistake (a partial .half(), a merge of two "
        "checkpoints); loading it casts it back silently, or keeps the lost precision.",
        {"dtypes": {i.name: i.dtype for i in odd}, "majority": majority, "group_size": size},
    )


def _wide_params(weights: list[TensorInfo], main: str, skip: set[str]) -> list[Finding]:
    wide = [i for i in weights if i.dtype == "float64" and i.name not in skip]
    if main == "float64" or not wide:
        return []
    return [
        Finding(
            "dtype_mix",
            WARNING,
            tuple(i.name for i in wide),
            f"{plural(len(wide), 'parameter')} ({', '.join(repr(i.name) for i in wide[:5])}"
            f"{', ...' if len(wide) > 5 else ''}) {'is' if len(wide) == 1 else 'are'} float64 in a "
            f"model whose parameters are mostly {main}. Models almost never need float64 "
            "weights: this is usually a numpy array converted without a dtype, and it doubles "
            "their size.",
            {"dtypes": {i.name: i.dtype for i in wide}, "model_dtype": main},
        )
    ]


def _narrow_optimizer_state(tensors: list[TensorInfo], main: str) -> list[Finding]:
    width = dtype_info(main).itemsize
    narrow = [
        i
        for i in tensors
        if i.role == OPTIMIZER_STATE
        and i.numel > 1
        and dtype_info(i.dtype).kind == "float"
        and dtype_info(i.dtype).itemsize < width
    ]
    if not narrow:
        return []
    kinds = sorted({i.dtype for i in narrow})
    return [
        Finding(
            "dtype_mix",
            WARNING,
            tuple(i.name for i in narrow),
            f"{plural(len(narrow), 'optimizer state tensor')} "
            f"{'is' if len(narrow) == 1 else 'are'} stored in {', '.join(kinds)}, "
            f"narrower than the model's {main} parameters. Moments kept in lower precision "
            "than the weights lose small updates (and Adam's second moment can underflow to "
            "0); unless a low-precision optimizer was chosen on purpose, resuming from this "
            "checkpoint will not reproduce the original run.",
            {"dtypes": dict(Counter(i.dtype for i in narrow)), "model_dtype": main},
        )
    ]
