"""Properties: an edit changes exactly the tensors it names (and their storage partners);
undoing everything restores every tensor bit for bit."""

from __future__ import annotations

import contextlib

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import paramtui
from edit_helpers import snapshot, special_state
from paramtui.core.model import CheckpointIndex
from paramtui.edits import (
    EditRefused,
    EditSession,
    Freeze,
    MakePrunePermanent,
    Op,
    Prune,
    Unfreeze,
    Zero,
    select,
)

NAMES = list(special_state()) + ["pr.weight_orig", "pr.weight_mask"]
TARGETS = NAMES + ["", "enc", "lstm", "half", "norm", "pr", "*.weight", "*bias", "proj*", "x.*"]

amounts = st.floats(0.0, 1.0)
targets = st.sampled_from(TARGETS)
ops: st.SearchStrategy[Op] = st.one_of(
    st.builds(Zero, targets),
    st.builds(Freeze, targets),
    st.builds(Unfreeze, targets),
    st.builds(MakePrunePermanent, targets),
    st.builds(Prune, targets, amount=amounts),
    st.builds(Prune, targets, threshold=st.floats(0.0, 2.0)),
    st.builds(Prune, targets, amount=amounts, scope=st.just("global")),
    st.builds(
        Prune,
        targets,
        amount=amounts,
        structured_dim=st.integers(-2, 1),
        norm=st.sampled_from([1.0, 2.0]),
    ),
)
SETTINGS = settings(max_examples=25, deadline=None)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> CheckpointIndex:
    state = special_state()
    weight = torch.randn(3, 4, generator=torch.Generator().manual_seed(5))
    state["pr.weight_orig"] = weight
    state["pr.weight_mask"] = (weight.abs() > 0.5).float()
    path = tmp_path_factory.mktemp("props") / "model.pth"
    torch.save(state, path)
    return paramtui.open_checkpoint(path)


def reach(session: EditSession, op: Op) -> set[str]:
    """The names `op` may change: its selection and every name sharing their storages."""
    names = set(select(session.names(), op.target).names)
    for name in list(names):
        names.update(session.sharing(session.info(name).storage_id))
    return names


def check_one_edit(session: EditSession, op: Op) -> None:
    before = snapshot(session)
    version = session.version
    try:
        allowed = reach(session, op)
        record = session.apply(op)
    except EditRefused:
        assert snapshot(session) == before and session.version == version
        return
    after = snapshot(session)
    changed = {n for n in before.keys() & after.keys() if before[n] != after[n]}
    changed |= after.keys() - before.keys()  # names an edit created
    # a name the edit created is reported even when its values equal its source (e.g. making
    # permanent a prune that had already zeroed everything the mask removes)
    reported = {e.name for e in record.effects if e.changed or e.name not in before}
    assert changed <= allowed | (after.keys() - before.keys())
    assert changed == reported
    if isinstance(op, (Freeze, Unfreeze)):
        assert not changed


@SETTINGS
@given(st.lists(ops, min_size=1, max_size=6))
def test_edits_change_exactly_what_they_name(index: CheckpointIndex, sequence: list[Op]) -> None:
    session = EditSession(index)
    for op in sequence:
        check_one_edit(session, op)


@SETTINGS
@given(st.lists(ops, min_size=1, max_size=6))
def test_undo_everything_restores_every_bit(index: CheckpointIndex, sequence: list[Op]) -> None:
    session = EditSession(index)
    pristine = snapshot(session)
    for op in sequence:
        with contextlib.suppress(EditRefused):
            session.apply(op)
    final = snapshot(session)
    applied = len(session.log)
    while session.undo():
        pass
    assert snapshot(session) == pristine
    assert session.names() == list(index.tensors)
    assert not session.edited_storages() and not session.grad_intents()
    assert not session.dirty
    for _ in range(applied):
        session.redo()
    assert snapshot(session) == final
