"""Scan checks of training state: trainability, gradients and optimizer state per parameter.

They read the index only (no tensor bytes): requires_grad / has_grad as the file records them
(paramtui snapshots, freeze intents) and the optimizer state mapped to parameter names
(analysis.optimizer). Each kind gives one finding per optimizer listing every parameter it
concerns, so a frozen block of 16 tensors is one line, not 16. NaN/Inf in a recorded gradient
is found by the value checks; `value_checks` words those findings as gradient findings.
"""

from __future__ import annotations

import os

from paramtui.analysis.optimizer.map import (
    FROZEN_WITH_STATE,
    NO_STATE,
    NOT_IN_OPTIMIZER,
    OptimizerMap,
    OptimizerParam,
    map_optimizers,
)
from paramtui.analysis.scan.anomalies import value_findings
from paramtui.analysis.scan.context import ScanContext
from paramtui.analysis.scan.findings import ERROR, INFO, WARNING, Finding, Unit, label, plural
from paramtui.core.errors import ParamtuiError
from paramtui.core.model import GRADIENT, PARAMETER, CheckpointIndex

FROZEN_WITH_OPTIMIZER_STATE = "frozen_with_optimizer_state"
TRAINABLE_WITHOUT_STATE = "trainable_without_state"
NO_GRADIENT = "no_gradient"
NOT_IN_OPTIMIZER_KIND = "not_in_optimizer"
GRADIENT_NAN = "gradient_nan"
OPTIMIZER_UNMAPPED = "optimizer_unmapped"
TRAINING_KINDS = (
    FROZEN_WITH_OPTIMIZER_STATE,
    TRAINABLE_WITHOUT_STATE,
    NO_GRADIENT,
    NOT_IN_OPTIMIZER_KIND,
    GRADIENT_NAN,
    OPTIMIZER_UNMAPPED,
)
LISTED = 4  # names spelled out in a message before "and N more"


def check(context: ScanContext) -> list[Finding]:
    """The training-state kinds (a registered whole-model check)."""
    return training_findings(context.index)


def training_findings(index: CheckpointIndex) -> list[Finding]:
    """Trainability, gradient and optimizer-state findings of the whole checkpoint."""
    found = gradient_findings(index)
    try:
        maps = map_optimizers(index)
    except ParamtuiError as exc:  # a damaged optimizer part: say so, check the rest
        return [*found, _unmapped("the optimizer", str(exc))]
    for omap in maps:
        found.extend(optimizer_findings(index, omap))
    return found


def value_checks(unit: Unit) -> list[Finding]:
    """The value checks of one stored tensor; NaN/Inf in a recorded gradient become
    `gradient_nan` errors that say so."""
    found = value_findings(unit)
    if unit.info.role != GRADIENT:
        return found
    return [_as_gradient(f) if f.kind in ("nan", "inf") else f for f in found]


def gradient_findings(index: CheckpointIndex) -> list[Finding]:
    """Parameters recorded trainable whose gradient was None when the file was written."""
    params = [i for i in index if i.role == PARAMETER and i.has_grad is not None]
    missing = tuple(i.name for i in params if i.requires_grad is True and i.has_grad is False)
    if not missing:
        return []
    if not any(i.has_grad for i in params):
        return [_no_gradients_at_all(missing)]
    return [
        Finding(
            NO_GRADIENT,
            WARNING,
            missing,
            f"{_which(missing)} {_verb(missing)} trainable (requires_grad=True) but had no "
            "gradient (.grad is None) while other parameters had one: the loss does not depend "
            "on them, so they never learn. Typical causes: a layer not used in forward(), an "
            "output computed under torch.no_grad() or .detach(), a branch the loss ignores, or "
            "parameters created after the optimizer.",
            {"count": len(missing)},
        )
    ]


def optimizer_findings(index: CheckpointIndex, omap: OptimizerMap) -> list[Finding]:
    """Per-parameter findings of one optimizer, or one note saying why there can be none."""
    if not omap.mapped:
        return [_unmapped(f"'{omap.optimizer or 'the file'}'", omap.ambiguous or "")]
    if omap.model is None:
        return []
    found = []
    frozen = _flagged(omap, FROZEN_WITH_STATE)
    if frozen:
        found.append(_frozen_with_state(omap, frozen))
    found.extend(_without_state(index, omap))
    left_out = _flagged(omap, NOT_IN_OPTIMIZER)
    if left_out:
        found.append(_not_in_optimizer(omap, left_out))
    return found


def _flagged(omap: OptimizerMap, flag: str) -> list[OptimizerParam]:
    return [p for p in omap.params if flag in p.flags and p.tensor is not None]


def _frozen_with_state(omap: OptimizerMap, params: list[OptimizerParam]) -> Finding:
    names = _names(params)
    kinds = sorted({k for p in params for k in p.state} | {k for p in params for k in p.values})
    held = ", ".join(kinds[:4]) or "state"
    return Finding(
        FROZEN_WITH_OPTIMIZER_STATE,
        WARNING,
        names,
        f"{_which(names)} {_verb(names)} frozen (requires_grad=False) but the optimizer in "
        f"'{omap.optimizer}' holds state for them ({held}): they were trained and frozen later, "
        "or are frozen but still in a param group. Optimizers skip a parameter whose .grad is "
        "None, but a zeroed gradient (zero_grad(set_to_none=False)) still lets momentum and "
        "weight decay move it. Remove them from the optimizer, or unfreeze them if they "
        "should learn.",
        {"optimizer": omap.optimizer, "count": len(names), "state": kinds},
    )


def _without_state(index: CheckpointIndex, omap: OptimizerMap) -> list[Finding]:
    params = _flagged(omap, NO_STATE)
    stepped = [p for p in omap.params if p.state or p.values]
    if not params:
        return []
    if not stepped:
        return [_never_stepped(omap, _names(params))]
    names = _names(params)
    sure = tuple(n for n in names if _trainable(index, n))
    unsure = tuple(n for n in names if n not in sure)
    out = []
    for names, severity in ((sure, WARNING), (unsure, INFO)):
        if names:
            out.append(_trainable_without_state(omap, names, severity, len(stepped)))
    return out


def _trainable(index: CheckpointIndex, name: str) -> bool:
    info = index.tensors.get(name)
    return info is not None and info.requires_grad is True


def _trainable_without_state(
    omap: OptimizerMap, names: tuple[str, ...], severity: str, stepped: int
) -> Finding:
    why = (
        "they are recorded trainable, so their gradient was None at every step"
        if severity == WARNING
        else "the file does not record whether they are trainable: they are frozen, or their "
        "gradient was None at every step"
    )
    return Finding(
        TRAINABLE_WITHOUT_STATE,
        severity,
        names,
        f"{_which(names)} {_verb(names)} in a param group of '{omap.optimizer}' but the "
        f"optimizer holds no state for them, while it does for {plural(stepped, 'other')}: "
        f"they were never stepped ({why}). Check that forward() uses them and that they are "
        "not frozen by mistake.",
        {"optimizer": omap.optimizer, "count": len(names), "stepped": stepped},
    )


def _never_stepped(omap: OptimizerMap, names: tuple[str, ...]) -> Finding:
    return Finding(
        TRAINABLE_WITHOUT_STATE,
        INFO,
        names,
        f"the optimizer in '{omap.optimizer}' holds no per-parameter state at all: it was "
        "saved before its first step, or it keeps none (SGD without momentum). Nothing to "
        "compare parameters by.",
        {"optimizer": omap.optimizer, "count": len(names)},
    )


def _not_in_optimizer(omap: OptimizerMap, params: list[OptimizerParam]) -> Finding:
    names = _names(params)
    held = sum(1 for p in omap.params if p.key is not None and p.tensor is not None)
    return Finding(
        NOT_IN_OPTIMIZER_KIND,
        INFO,
        names,
        f"{_which(names)} {_verb(names)} in no param group, while {plural(held, 'other')} "
        f"{'is' if held == 1 else 'are'}: they were left out of training, usually on purpose "
        "(a frozen pretrained part). If they should learn, add them to the optimizer.",
        {"optimizer": omap.optimizer, "count": len(names), "in_optimizer": held},
    )


def _no_gradients_at_all(names: tuple[str, ...]) -> Finding:
    return Finding(
        NO_GRADIENT,
        INFO,
        names,
        f"no parameter had a gradient when this was written "
        f"({plural(len(names), 'trainable parameter')}, every .grad None): it was taken before "
        "backward() or after "
        "zero_grad(). Take the snapshot between backward() and optimizer.zero_grad() to see "
        "gradients.",
        {"count": len(names)},
    )


def _unmapped(where: str, reason: str) -> Finding:
    return Finding(
        OPTIMIZER_UNMAPPED,
        INFO,
        (),
        f"the optimizer state in {where} could not be tied to parameter names ({reason}), so "
        "no per-parameter check was possible (frozen with optimizer state, trainable without "
        "state, not in the optimizer).",
        {"optimizer": where, "reason": reason},
    )


def _as_gradient(finding: Finding) -> Finding:
    names = finding.names
    owner = [_gradient_of(n) for n in names]
    bad = finding.details.get("nan") or (
        finding.details.get("posinf", 0) + finding.details.get("neginf", 0)
    )
    what = "NaN" if finding.kind == "nan" else "infinite"
    return Finding(
        GRADIENT_NAN,
        ERROR,
        names,
        f"{label(names)} is the recorded gradient of '{owner[0]}' and holds "
        f"{plural(int(bad), what + ' value')} out of {finding.details.get('count', 0):,}. The "
        "next optimizer step writes NaN/Inf into the weights (and into Adam's moments, for "
        "good). Typical causes: a loss that overflowed (float16 without loss scaling), "
        "log/sqrt/division of zero, an exploding gradient (clip it), or bad input data.",
        {**finding.details, "values": finding.kind, "parameter": owner[0]},
    )


def _gradient_of(name: str) -> str:
    from paramtui.core.training import SNAPSHOT_GRADS, SNAPSHOT_MODEL

    head = SNAPSHOT_GRADS + "."
    return SNAPSHOT_MODEL + "." + name[len(head) :] if name.startswith(head) else name


def _names(params: list[OptimizerParam]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.tensor for p in params if p.tensor is not None))


def _which(names: tuple[str, ...]) -> str:
    """'model.fc.weight', or "16 parameters under 'model.blocks.0'", or a few names."""
    if len(names) == 1:
        return f"'{names[0]}'"
    common = os.path.commonprefix([n.split(".") for n in names])
    module = ".".join(common) if len(common) >= 2 else ""
    if module:
        return f"{len(names):,} parameters under '{module}'"
    shown = ", ".join(f"'{n}'" for n in names[:LISTED])
    more = f" and {len(names) - LISTED:,} more" if len(names) > LISTED else ""
    return f"{len(names):,} parameters ({shown}{more})"


def _verb(names: tuple[str, ...]) -> str:
    return "is" if len(names) == 1 else "are"
