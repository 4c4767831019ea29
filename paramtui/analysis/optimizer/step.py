"""What the optimizer knows about one parameter: step, state norms, Adam's effective step size.

Adam's per-element step is lr * |m_hat| / (sqrt(v_hat) + eps), with m_hat = m / (1 - beta1^t)
and v_hat = v / (1 - beta2^t) (torch's Adam/AdamW, weight decay left out). It is computed over
chunks of the state tensors, read in place, so memory stays bounded whatever their size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paramtui.analysis.optimizer.entries import OptimizerMap, OptimizerParam
from paramtui.analysis.optimizer.read import jsonable
from paramtui.analysis.stats.engine import StatsCancelled
from paramtui.core import access
from paramtui.core.model import CheckpointIndex, TensorInfo

if TYPE_CHECKING:
    import torch

    from paramtui.analysis.stats.result import TensorStats

CHUNK = 1 << 20
LOG_LO, LOG_HI, LOG_BINS = -40.0, 10.0, 5000  # log10 grid: 0.01 decade (~2.3 %) per bin


@dataclass(frozen=True)
class StepSizeSummary:
    """Adam's effective per-element step size over one parameter."""

    count: int
    zeros: int  # elements whose step is exactly 0 (m == 0)
    nonfinite: int  # NaN/Inf steps (damaged state), left out of the rest
    mean: float | None
    median: float | None  # from a log-scale histogram: within ~2.3 %
    p99: float | None  # likewise
    max: float | None
    rms: float | None  # sqrt(mean(step^2)): the update's typical size

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self.__dict__)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class OptimizerSummary:
    tensor: str | None
    name: str | None
    optimizer: str
    group: int | None
    kind: str  # "adam", "sgd", "other", "no state"
    step: float | None
    lr: float | None
    weight_decay: float | None
    hyper: dict[str, Any]
    norms: dict[str, float | None]  # state entry -> L2 norm
    step_size: StepSizeSummary | None
    update_to_weight: float | None  # rms(step) / rms(weight)
    flags: tuple[str, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = {k: jsonable(v) for k, v in self.__dict__.items() if k != "step_size"}
        out["step_size"] = None if self.step_size is None else self.step_size.to_dict()
        return out


def summarise(
    index: CheckpointIndex,
    omap: OptimizerMap,
    entry: OptimizerParam,
    stats_fn: Callable[[TensorInfo], TensorStats] | None,
    should_cancel: Callable[[], bool] | None,
) -> OptimizerSummary:
    if stats_fn is None:
        from paramtui.analysis.stats.compute import compute_stats

        stats_fn = compute_stats
    notes: list[str] = []
    lr = _number(index, omap, entry, "lr")
    step = entry.step if entry.step is not None else _tensor_value(index, entry.step_tensor)
    norms = {
        leaf: stats_fn(index.tensors[t]).l2 for leaf, t in entry.state.items() if leaf != "step"
    }
    kind = _kind(entry)
    step_size, ratio = None, None
    if kind == "adam":
        step_size = _adam_step(index, entry, lr, step, notes, should_cancel)
        ratio = _ratio(index, entry, step_size, stats_fn)
    return OptimizerSummary(
        tensor=entry.tensor, name=entry.name, optimizer=omap.optimizer, group=entry.group,
        kind=kind, step=step, lr=lr, weight_decay=_number(index, omap, entry, "weight_decay"),
        hyper=entry.hyper, norms=norms, step_size=step_size, update_to_weight=ratio,
        flags=entry.flags, notes=tuple(notes),
    )  # fmt: skip


def _kind(entry: OptimizerParam) -> str:
    if "exp_avg" in entry.state and "exp_avg_sq" in entry.state:
        return "adam"
    if "momentum_buffer" in entry.state:
        return "sgd"
    return "other" if entry.state or entry.values else "no state"


def _adam_step(
    index: CheckpointIndex,
    entry: OptimizerParam,
    lr: float | None,
    step: float | None,
    notes: list[str],
    should_cancel: Callable[[], bool] | None,
) -> StepSizeSummary | None:
    betas, eps = _pair(entry.hyper.get("betas")), entry.hyper.get("eps")
    if lr is None or step is None or betas is None or not isinstance(eps, (int, float)):
        notes.append("no effective step size: lr, betas, eps or step is missing or not a number")
        return None
    if step < 1:
        notes.append("no effective step size: the optimizer has not stepped yet (step 0)")
        return None
    v_key = "max_exp_avg_sq" if entry.hyper.get("amsgrad") is True else "exp_avg_sq"
    v_key = v_key if v_key in entry.state else "exp_avg_sq"
    if "amsgrad" not in entry.hyper:
        notes.append(
            "the group has no 'amsgrad' setting: if this is not Adam/AdamW (RAdam, NAdam ...), "
            "its real steps differ from Adam's formula used here"
        )
    notes.append("step size of the Adam term only; weight decay is not included")
    m_info, v_info = index.tensors[entry.state["exp_avg"]], index.tensors[entry.state[v_key]]
    chunks = paired(access.iter_chunks(m_info, CHUNK), access.iter_chunks(v_info, CHUNK))
    return adam_step_sizes(chunks, lr, betas, eps, step, should_cancel)


def adam_step_sizes(
    chunks: Iterator[tuple[torch.Tensor, torch.Tensor]],
    lr: float,
    betas: tuple[float, float],
    eps: float,
    step: float,
    should_cancel: Callable[[], bool] | None = None,
) -> StepSizeSummary:
    """Summary of lr * |m_hat| / (sqrt(v_hat) + eps) over paired (exp_avg, exp_avg_sq) chunks
    (works for live tensors too: pair access.iter_tensor_chunks)."""
    import torch

    bc1, bc2 = 1 - betas[0] ** step, 1 - betas[1] ** step
    acc = _StepAccumulator(torch.zeros(LOG_BINS, dtype=torch.int64))
    for m, v in chunks:
        if should_cancel is not None and should_cancel():
            raise StatsCancelled("optimizer step size")
        u = lr * (m.double().abs() / bc1) / ((v.double() / bc2).sqrt() + eps)
        acc.add(u)
    return acc.summary()


class _StepAccumulator:
    def __init__(self, bins: torch.Tensor) -> None:
        self.bins, self.count, self.zeros, self.nonfinite = bins, 0, 0, 0
        self.total, self.squares, self.max = 0.0, 0.0, 0.0

    def add(self, u: torch.Tensor) -> None:
        import torch

        self.count += u.numel()
        finite = torch.isfinite(u)
        if not bool(finite.all()):
            self.nonfinite += int((~finite).sum())
            u = u[finite]
        positive = u[u > 0]
        self.zeros += u.numel() - positive.numel()
        if positive.numel():
            self.total += float(positive.sum())
            self.squares += float(positive.square().sum())
            self.max = max(self.max, float(positive.max()))
            where = ((positive.log10() - LOG_LO) * (LOG_BINS / (LOG_HI - LOG_LO))).floor()
            self.bins += torch.bincount(where.clamp(0, LOG_BINS - 1).long(), minlength=LOG_BINS)

    def summary(self) -> StepSizeSummary:
        n = self.count - self.nonfinite
        if n == 0:
            return StepSizeSummary(self.count, 0, self.nonfinite, None, None, None, None, None)
        return StepSizeSummary(
            self.count, self.zeros, self.nonfinite, self.total / n, self._quantile(0.5),
            self._quantile(0.99), self.max, math.sqrt(self.squares / n),
        )  # fmt: skip

    def _quantile(self, q: float) -> float:
        rank = q * (self.count - self.nonfinite)
        if rank <= self.zeros:
            return 0.0
        counts = self.bins.cumsum(0)
        at = int((counts >= rank - self.zeros).nonzero()[0])
        width = (LOG_HI - LOG_LO) / LOG_BINS
        return min(self.max, 10 ** (LOG_LO + (at + 0.5) * width))


def paired(
    a: Iterator[torch.Tensor], b: Iterator[torch.Tensor]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Equal-length 1-D pieces of two chunk streams over tensors of the same numel."""
    left = right = None
    while True:
        if left is None or left.numel() == 0:
            left = next(a, None)
        if right is None or right.numel() == 0:
            right = next(b, None)
        if left is None or right is None:
            return
        n = min(left.numel(), right.numel())
        yield left[:n], right[:n]
        left, right = left[n:], right[n:]


def _ratio(
    index: CheckpointIndex,
    entry: OptimizerParam,
    steps: StepSizeSummary | None,
    stats_fn: Callable[[TensorInfo], TensorStats],
) -> float | None:
    if steps is None or steps.rms is None or entry.tensor is None:
        return None
    info = index.tensors[entry.tensor]
    l2 = stats_fn(info).l2
    if l2 is None or l2 == 0 or info.numel == 0:
        return None
    return steps.rms / (l2 / math.sqrt(info.numel))


def _number(
    index: CheckpointIndex, omap: OptimizerMap, entry: OptimizerParam, key: str
) -> float | None:
    """A group hyper-parameter as a number: saved as one, or as a one-element tensor."""
    value = entry.hyper.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    group = next((g for g in omap.groups if g.index == entry.group), None)
    if group is None or key not in group.hyper_tensors:
        return None
    return _tensor_value(index, group.hyper_tensors[key])


def _tensor_value(index: CheckpointIndex, name: str | None) -> float | None:
    """The value of a one-element tensor (a saved `step`), read in place."""
    if name is None:
        return None
    info = index.tensors[name]
    if info.numel != 1 or access.unviewable_reason(info) is not None:
        return None
    return float(access.open_tensor(info).reshape(-1)[0])


def _pair(value: Any) -> tuple[float, float] | None:
    numbers = isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    )
    return (float(value[0]), float(value[1])) if numbers and len(value) == 2 else None
