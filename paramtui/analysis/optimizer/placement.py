"""Where an unnamed optimizer's parameters sit among the model's, when the state shapes allow
only one answer.

Each param group is an order-preserving subsequence of the model's parameters (torch numbers
the state keys group by group; timm and the Hugging Face Trainer build a weight-decay and a
no-decay group, each in model order, so the groups interleave). Parameters in no group (frozen)
are skipped. A dynamic programme walks the model's parameters once, keeping, for every tuple of
positions reached in the groups, how many ways lead there (capped at 2); a second way found is
reported, so the caller can say what is ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

Shape = tuple[int, ...]
State = tuple[int, ...]  # how many parameters of each group are placed so far
PLACEMENT_BUDGET = 2_000_000  # table entries; beyond this the placement is left undecided


@dataclass(frozen=True)
class Placement:
    ways: int  # 0, 1, or 2 (two or more); 0 with too_large when the table would be too big
    positions: list[list[int]]  # per group, the model positions of one way ([] when none)
    other: list[list[int]] | None = None  # a second way, when ways == 2
    too_large: bool = False


def place_groups(groups: list[list[Shape | None]], shapes: list[Shape]) -> Placement:
    """Place each group (its parameters' shapes, None: any shape) in order onto a subsequence of
    `shapes`, the groups onto disjoint ones; count the ways (up to 2) and give one (two)."""
    skips = len(shapes) - sum(len(g) for g in groups)
    if skips < 0:
        return Placement(0, [])
    layers = _count_ways(groups, shapes, skips)
    if layers is None:
        return Placement(0, [], too_large=True)
    final = tuple(len(g) for g in groups)
    ways = layers[-1].get(final, 0)
    if ways == 0:
        return Placement(0, [])
    first = _trace(groups, shapes, layers, final, last=False)
    if ways == 1:
        return Placement(1, first)
    return Placement(2, first, _trace(groups, shapes, layers, final, last=True))


def embedding(wanted: list[Shape | None], shapes: list[Shape]) -> list[int] | None:
    """The one way to place one group in order onto `shapes`; None when none or several."""
    found = place_groups([wanted], shapes)
    return found.positions[0] if found.ways == 1 else None


def _fits(want: Shape | None, shape: Shape) -> bool:
    return want is None or want == shape


def _count_ways(
    groups: list[list[Shape | None]], shapes: list[Shape], skips: int
) -> list[dict[State, int]] | None:
    """layers[j]: every state reachable after the first j model parameters -> its ways."""
    layers: list[dict[State, int]] = [{tuple(0 for _ in groups): 1}]
    size = 1
    for j, shape in enumerate(shapes):
        here: dict[State, int] = {}
        for state, ways in layers[-1].items():
            if j + 1 - sum(state) <= skips:  # parameter j is in no group
                here[state] = min(2, here.get(state, 0) + ways)
            for g, group in enumerate(groups):
                if state[g] < len(group) and _fits(group[state[g]], shape):
                    moved = state[:g] + (state[g] + 1,) + state[g + 1 :]
                    here[moved] = min(2, here.get(moved, 0) + ways)
        size += len(here)
        if size > PLACEMENT_BUDGET:
            return None
        layers.append(here)
    return layers


def _trace(
    groups: list[list[Shape | None]],
    shapes: list[Shape],
    layers: list[dict[State, int]],
    state: State,
    last: bool,
) -> list[list[int]]:
    """One way back from `state`: the first (or last) predecessor at each step. Where two ways
    exist, the first and the last choice part at the step where they branch."""
    out: list[list[int]] = [[] for _ in groups]
    for j in range(len(shapes) - 1, -1, -1):
        choices = _predecessors(groups, shapes[j], layers[j], state)
        group, state = choices[-1] if last else choices[0]
        if group is not None:
            out[group].append(j)
    return [positions[::-1] for positions in out]


def _predecessors(
    groups: list[list[Shape | None]], shape: Shape, before: dict[State, int], state: State
) -> list[tuple[int | None, State]]:
    """(the group that took the parameter, or None: skipped; the state before it)."""
    out: list[tuple[int | None, State]] = []
    if state in before:
        out.append((None, state))
    for g, group in enumerate(groups):
        if state[g] and _fits(group[state[g] - 1], shape):
            previous = state[:g] + (state[g] - 1,) + state[g + 1 :]
            if previous in before:
                out.append((g, previous))
    return out
