"""What the health scan reports: findings, their kinds and severities, and the thresholds used.

Every threshold lives in `Thresholds` with the reason for its default, so a caller (or a test)
can tighten or loosen one check without touching the others.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from paramtui.analysis.scan.kinds import ERROR, INFO, KINDS, SEVERITIES, WARNING

if TYPE_CHECKING:
    from paramtui.analysis.stats.result import TensorStats
    from paramtui.core.model import TensorInfo

__all__ = [
    "ERROR",
    "INFO",
    "KINDS",
    "SEVERITIES",
    "WARNING",
    "Finding",
    "Thresholds",
    "Unit",
]


@dataclass(frozen=True)
class Finding:
    """One anomaly: what kind, how bad, which tensors, and a plain-English explanation."""

    kind: str
    severity: str
    names: tuple[str, ...]
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "names": list(self.names),
            "message": self.message,
            "details": self.details,
        }


class Unit(NamedTuple):
    """One stored tensor as the checks see it: every name that views the same bytes (tied
    weights), the first name's TensorInfo, and its statistics."""

    names: tuple[str, ...]
    info: TensorInfo
    stats: TensorStats


@dataclass(frozen=True)
class Thresholds:
    """Limits of the checks. Defaults were chosen so that real trained models stay quiet.

    Peer checks compare a tensor with the tensors of the same role and name pattern across
    layers (`layers.#.attn.q_proj.weight`), on log scale, with the median and the MAD (median
    absolute deviation) of the group, so one or two broken layers cannot hide themselves by
    moving the reference. A tensor is an outlier only when it is both `mad_k` robust standard
    deviations away AND a whole factor away (`peer_ratio`), because groups of nearly identical
    layers have a MAD close to zero, where any wobble would count as many MADs."""

    # Fewer peers than this and the median says too little: no peer check.
    min_peers: int = 4
    # Robust z-score (|log x - median| / (1.4826 MAD)) a peer outlier must exceed.
    mad_k: float = 5.0
    # Factor between a matrix's RMS (or |max|) and its peers' median. Trained layers differ by
    # up to ~40x (the demo's frozen first block against its weight-decayed siblings), so 100x.
    peer_ratio: float = 100.0
    # The same factor for 1-D and 0-D parameters (biases, norm scales, LayerScale gammas), which
    # legitimately drift further apart across depth than matrices do.
    peer_ratio_vector: float = 1000.0
    # |max| above this in a floating-point parameter is exploding whatever its peers say:
    # trained weights sit well below 100; 1e4 is a sixth of float16's range.
    abs_max: float = 1e4
    # RMS below this in a non-zero, non-constant parameter: vanishing. Real weights and biases
    # that carry signal are orders of magnitude larger (float32 resolves ~1e-7 next to 1.0).
    abs_rms: float = 1e-8
    # An embedding may have this many all-zero rows (padding_idx) before it is a warning.
    embedding_padding_rows: int = 2
    # Indices of dead rows/columns listed in a finding.
    listed_indices: int = 10

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plural(n: int, noun: str, suffix: str = "s") -> str:
    return f"{n:,} {noun}{'' if n == 1 else suffix}"


def number(value: float | int | None) -> str:
    """A short, exact-enough rendering of a statistic for a message."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def label(names: tuple[str, ...]) -> str:
    """'a' or 'a' (also named 'b'): the names that view one tensor's bytes."""
    if len(names) == 1:
        return f"'{names[0]}'"
    return f"'{names[0]}' (also named {', '.join(repr(n) for n in names[1:])})"


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(d) for d in shape) or "()"
