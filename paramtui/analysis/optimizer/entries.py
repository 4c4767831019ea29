"""What an optimizer map holds: one OptimizerParam per parameter, in one OptimizerMap.

Types only (built by optimizer.map, read by optimizer.step and the scan's training checks), so
that neither of those imports the other's module for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paramtui.analysis.optimizer.read import Key, ParamGroup, jsonable

__all__ = [
    "FROZEN_WITH_STATE",
    "NOT_IN_OPTIMIZER",
    "NO_STATE",
    "OptimizerMap",
    "OptimizerParam",
]

FROZEN_WITH_STATE = "frozen but has optimizer state"
NO_STATE = "trainable but no optimizer state"
NOT_IN_OPTIMIZER = "not in any param group"


@dataclass(frozen=True)
class OptimizerParam:
    """One parameter as the optimizer knows it."""

    key: Key | None  # its key in the optimizer's state; None when it is in no param group
    name: str | None  # the parameter's name in the model; None when the mapping is ambiguous
    tensor: str | None  # the model tensor's name in the index
    group: int | None
    hyper: dict[str, Any]  # the group's hyper-parameters
    state: dict[str, str]  # state entry -> tensor name ("exp_avg" -> "optimizer.state.3.exp_avg")
    values: dict[str, Any]  # state entries saved as plain values
    step: float | None  # the `step` entry when saved as a number
    step_tensor: str | None  # the `step` entry when saved as a (0-dim) tensor
    flags: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "tensor": self.tensor,
            "group": self.group,
            "hyper": jsonable(self.hyper),
            "state": dict(self.state),
            "values": jsonable(self.values),
            "step": self.step,
            "step_tensor": self.step_tensor,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class OptimizerMap:
    """One optimizer's state, per parameter, with names where they are certain."""

    optimizer: str  # where the optimizer state_dict lies: "optimizer", "optimizer_states.0"
    model: str | None  # the root holding the model's weights, None when there is none
    method: str  # "state names", "param_names", "order", or "none" (ambiguous)
    ambiguous: str | None  # why names could not be tied to the model's tensors
    groups: tuple[ParamGroup, ...]
    params: tuple[OptimizerParam, ...]
    not_in_optimizer: tuple[str, ...]  # model parameters in no param group (frozen, inferred)
    aliases: dict[str, str]  # tied weights: alias tensor -> the tensor the optimizer holds
    membership_known: bool  # the file lists every parameter of every param group
    notes: tuple[str, ...]
    _lookup: dict[str, OptimizerParam] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def mapped(self) -> bool:
        return self.ambiguous is None

    def param(self, tensor: str) -> OptimizerParam | None:
        """The entry of a model tensor, or of one of its optimizer state tensors."""
        if not self._lookup:
            for entry in self.params:
                self._lookup.update(dict.fromkeys(entry.state.values(), entry))
                if entry.tensor is not None:
                    self._lookup[entry.tensor] = entry
        return self._lookup.get(self.aliases.get(tensor, tensor))

    def to_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer,
            "model": self.model,
            "method": self.method,
            "ambiguous": self.ambiguous,
            "groups": [g.to_dict() for g in self.groups],
            "params": [p.to_dict() for p in self.params],
            "not_in_optimizer": list(self.not_in_optimizer),
            "aliases": dict(self.aliases),
            "membership_known": self.membership_known,
            "notes": list(self.notes),
        }
