"""Round-trip properties: load -> save -> load is identical for every readable format, and an
edit changes exactly the tensors it names (plus the names sharing their storage)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

import paramtui
from checkpoints import write_hf_sharded
from paramtui.edits import EditSession, Zero
from paramtui.io.save import save
from paramtui.io.verify import same_bytes

DTYPES = [
    torch.float32,
    torch.bfloat16,
    torch.float16,
    torch.float8_e4m3fn,
    torch.int64,
    torch.uint8,
    torch.bool,
    torch.float64,
]
SOURCES = ["zip", "legacy", "safetensors", "hf-safetensors", "hf-bin"]


@st.composite
def state_dicts(draw: st.DrawFn) -> dict[str, torch.Tensor]:
    count = draw(st.integers(1, 5))
    state: dict[str, torch.Tensor] = {}
    for i in range(count):
        shape = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=3)))
        dtype = draw(st.sampled_from(DTYPES))
        numel = int(torch.tensor(shape, dtype=torch.int64).prod())
        size = torch.empty(0, dtype=dtype).element_size()
        raw = torch.randint(
            0,
            256,
            (numel * size,),
            dtype=torch.uint8,
            generator=torch.Generator().manual_seed(draw(st.integers(0, 99))),
        )
        # random bits reinterpreted: NaN payloads, -0.0, infinities and denormals all appear
        tensor = (raw > 127) if dtype == torch.bool else raw.view(dtype)
        state[f"layer{i}.{draw(st.sampled_from(['weight', 'bias', 'scale']))}"] = tensor.reshape(
            shape
        ).clone()
    return state


def write_source(kind: str, state: dict[str, torch.Tensor], folder: Path) -> Path:
    if kind == "zip":
        torch.save(state, folder / "src.pth")
        return folder / "src.pth"
    if kind == "legacy":
        legacy_state = {
            k: v
            for k, v in state.items()
            if v.dtype.itemsize > 1 or v.dtype in (torch.uint8, torch.bool)
        }  # torch cannot read fp8 legacy
        torch.save(
            legacy_state or {"x": torch.ones(1)},
            folder / "src.pt",
            _use_new_zipfile_serialization=False,
        )
        return folder / "src.pt"
    if kind == "safetensors":
        save_file(state, folder / "src.safetensors", metadata={"k": "v"})
        return folder / "src.safetensors"
    return write_hf_sharded(folder / "hf", state, kind.removeprefix("hf-"))


def assert_same(session: EditSession, out: Path) -> None:
    written = paramtui.open_checkpoint(out)
    from paramtui.core.access import open_tensor

    assert set(written.tensors) == set(session.names())
    for name in session.names():
        got = open_tensor(written.tensor(name))
        assert same_bytes(session.tensor(name), got), name


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=state_dicts(), kind=st.sampled_from(SOURCES), to=st.sampled_from([".pth", ".st"]))
def test_load_save_load_is_identical(state: dict[str, torch.Tensor], kind: str, to: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = write_source(kind, state, folder)
        session = EditSession(paramtui.open_checkpoint(source))
        out = folder / ("out.pth" if to == ".pth" else "out.safetensors")
        report = save(session, str(out))
        assert report.verified
        assert_same(session, out)
        again = EditSession(paramtui.open_checkpoint(out))
        for name in session.names():
            assert same_bytes(session.tensor(name), again.tensor(name)), name


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=state_dicts(), pick=st.integers(0, 10), tie=st.booleans())
def test_an_edit_changes_exactly_what_it_names(
    state: dict[str, torch.Tensor], pick: int, tie: bool
) -> None:
    floats = [k for k, v in state.items() if v.is_floating_point() and v.numel()]
    if not floats:
        return
    target = floats[pick % len(floats)]
    if tie:
        state["tied.alias"] = state[target]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "src.pth"
        torch.save(state, source)
        session = EditSession(paramtui.open_checkpoint(source))
        session.apply(Zero(target))
        out = Path(tmp) / "out.pth"
        save(session, str(out))
        loaded = torch.load(out, weights_only=True)
        changed = {target} | ({"tied.alias"} if tie else set())
        for name, before in state.items():
            after = loaded[name]
            if name in changed:
                assert not torch.any(after.float() != 0), name
            else:
                assert same_bytes(before, after), name
