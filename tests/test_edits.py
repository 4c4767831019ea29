"""EditSession: targets, copy-on-write per storage, ties, refusals, undo/redo, untouched source."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import paramtui
from checkpoints import load_oracle, training_checkpoint
from edit_helpers import fingerprint, raw, snapshot, special_state
from paramtui.edits import EditRefused, EditSession, Freeze, Prune, Unfreeze, Zero


@pytest.fixture
def special_pth(tmp_path: Path) -> Path:
    path = tmp_path / "special.pth"
    torch.save(special_state(), path)
    return path


@pytest.fixture
def training_pth(tmp_path: Path) -> Path:
    path = tmp_path / "train.pth"
    torch.save(training_checkpoint(), path)
    return path


def session_of(path: Path) -> EditSession:
    return EditSession(paramtui.open_checkpoint(path))


def test_zero_exact_name_reaches_the_tied_partner(special_pth: Path) -> None:
    s = session_of(special_pth)
    record = s.apply(Zero("enc.weight"))
    assert [e.name for e in record.effects] == ["enc.weight", "dec.weight"]
    assert record.effects[1].tied_to == "enc.weight"
    assert bool((s.tensor("dec.weight") == 0).all())
    assert s.is_edited("dec.weight") and not s.is_edited("enc.bias")
    assert list(s.edited_storages()) == [s.info("enc.weight").storage_id]
    assert record.total_changed == 48 - 2  # -0.0 and 0.0 were zero already
    assert record.summary.startswith("zero enc.weight: 1 tensor (+1 tied), 46 elements zeroed")


def test_untouched_tensors_stay_the_source(special_pth: Path) -> None:
    s = session_of(special_pth)
    oracle = load_oracle(special_pth)
    s.apply(Zero("enc.bias"))
    assert set(s.edited_storages()) == {s.info("enc.bias").storage_id}
    for name in s.names():
        if name != "enc.bias":
            assert not s.is_edited(name)
            assert raw(s.tensor(name)) == raw(oracle[name]), name
    copy = s.edited_storages()[s.info("enc.bias").storage_id]
    assert copy.dtype == torch.uint8 and copy.dim() == 1 and copy.numel() == 8 * 4


def test_zero_keeps_negative_zero_bits_and_clears_nan_and_inf(special_pth: Path) -> None:
    s = session_of(special_pth)
    s.apply(Zero("enc.weight"))
    w = s.tensor("enc.weight")
    assert bool((w == 0).all())
    assert struct.pack("<f", -0.0) == raw(w[1, 0])
    assert s.tensor("enc.weight").dtype == torch.float32


def test_module_subtree_zeroes_parameters_and_skips_buffers(training_pth: Path) -> None:
    s = session_of(training_pth)
    record = s.apply(Zero("model.bn"))
    assert [e.name for e in record.effects] == ["model.bn.weight", "model.bn.bias"]
    assert dict(record.skipped).keys() == {
        "model.bn.running_mean",
        "model.bn.running_var",
        "model.bn.num_batches_tracked",
    }
    assert "step counter" in dict(record.skipped)["model.bn.num_batches_tracked"]
    assert int(s.tensor("model.bn.num_batches_tracked")) == 7
    assert not s.is_edited("model.bn.running_mean")


def test_glob_selects_full_names(training_pth: Path) -> None:
    s = session_of(training_pth)
    record = s.apply(Zero("model.layers.*.bias"))
    assert record.names == tuple(f"model.layers.{i}.bias" for i in range(12))
    assert bool((s.tensor("model.layers.1.bias") == 0).all())
    assert bool((s.tensor("model.layers.1.weight") != 0).all())


def test_an_exact_float_buffer_can_be_zeroed(training_pth: Path) -> None:
    s = session_of(training_pth)
    s.apply(Zero("model.bn.running_mean"))
    assert bool((s.tensor("model.bn.running_mean") == 0).all())


@pytest.mark.parametrize(
    ("op", "reason"),
    [
        (Zero("model.bn.num_batches_tracked"), "step counter"),
        (Zero("optimizer.state.0.exp_avg"), "optimizer state"),
        (Prune("model.bn.running_mean", amount=0.5), "buffer"),
        (Prune("model.layers.0.bias", amount=0.5, structured_dim=0), "2 or more dims"),
        (Prune("model.layers.0.weight", amount=0.5, structured_dim=2), "no dim 2"),
        (Prune("model.layers.0.weight", amount=0.5, structured_dim=-3), "no dim -3"),
        (Freeze("model.bn.running_var"), "buffer"),
        (Freeze("optimizer"), "nothing to freeze under 'optimizer'"),
        (Prune("optimizer.state", amount=0.1), "optimizer state"),
        (Zero("model.layrs"), "Close names: model.layers"),
        (Zero("model.*.nothing"), "matches no tensor"),
    ],
)
def test_refusals_say_why_and_change_nothing(training_pth: Path, op: object, reason: str) -> None:
    s = session_of(training_pth)
    with pytest.raises(EditRefused, match=None) as info:
        s.apply(op)  # type: ignore[arg-type]
    assert reason in str(info.value)
    assert info.value.exit_code == 2
    assert s.version == 0 and not s.edited_storages() and not s.dirty and not s.log


def test_integer_and_bool_tensors_are_refused(special_pth: Path) -> None:
    s = session_of(special_pth)
    with pytest.raises(EditRefused, match="bool values"):
        s.apply(Zero("mask.flags"))
    with pytest.raises(EditRefused, match="step counter"):
        s.apply(Prune("norm.num_batches_tracked", threshold=1.0))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"amount": 1.5},
        {"amount": -0.1},
        {},
        {"amount": 0.1, "threshold": 0.1},
        {"threshold": -1.0},
        {"threshold": 0.1, "structured_dim": 0},
        {"amount": 0.1, "scope": "global", "structured_dim": 0},
        {"amount": 0.1, "scope": "everywhere"},
        {"amount": True},
    ],
)
def test_invalid_prune_parameters_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(EditRefused):
        Prune("w", **kwargs)  # type: ignore[arg-type]


def test_views_of_one_storage(special_pth: Path) -> None:
    s = session_of(special_pth)
    before = snapshot(s)
    record = s.apply(Zero("proj_t.weight"))  # a transposed view: proj.weight is zeroed too
    assert [(e.name, e.tied_to) for e in record.effects] == [
        ("proj.weight", "proj_t.weight"),
        ("proj_t.weight", ""),
    ]
    assert bool((s.tensor("proj.weight") == 0).all())
    record = s.apply(Zero("lstm.weight_a"))  # disjoint views: weight_b keeps its bytes
    assert record.names == ("lstm.weight_a",)
    assert raw(s.tensor("lstm.weight_b")) == before["lstm.weight_b"]
    assert s.is_edited("lstm.weight_b")  # its storage is a private copy now


def undo_redo_ops() -> list[object]:
    return [
        Zero("enc.weight"),
        Prune("", amount=0.5),
        Prune("half", threshold=0.5),
        Freeze("enc"),
        Zero("lstm.weight_b"),
        Prune("proj_t.weight", amount=0.5, structured_dim=1, norm=2.0),
        Prune("", amount=0.8, scope="global"),
    ]


def test_undo_and_redo_restore_bit_identical_content(special_pth: Path) -> None:
    s = session_of(special_pth)
    states = [snapshot(s)]
    intents = [s.grad_intents()]
    for op in undo_redo_ops():
        s.apply(op)  # type: ignore[arg-type]
        states.append(snapshot(s))
        intents.append(s.grad_intents())
    assert states[-1] != states[0]
    for i in range(len(states) - 2, -1, -1):
        assert s.undo() is not None
        assert snapshot(s) == states[i] and s.grad_intents() == intents[i]
    assert s.undo() is None and not s.edited_storages() and not s.dirty
    for i in range(1, len(states)):
        assert s.redo() is not None
        assert snapshot(s) == states[i] and s.grad_intents() == intents[i]
    assert s.redo() is None


def test_a_new_edit_clears_redo(special_pth: Path) -> None:
    s = session_of(special_pth)
    s.apply(Zero("enc.bias"))
    s.apply(Zero("half.bias"))
    s.undo()
    assert s.can_redo
    s.apply(Zero("lstm.weight_a"))
    assert not s.can_redo and s.redo() is None
    assert [r.op for r in s.log] == [Zero("enc.bias"), Zero("lstm.weight_a")]


@pytest.mark.parametrize("fmt", ["pth", "safetensors", "legacy"])
def test_the_source_file_is_never_written(tmp_path: Path, fmt: str) -> None:
    state = special_state()
    path = tmp_path / f"model.{fmt}"
    if fmt == "safetensors":
        state = {k: v.contiguous().clone() for k, v in state.items() if k != "dec.weight"}
        save_file(state, path)
    else:
        torch.save(state, path, _use_new_zipfile_serialization=fmt == "pth")
    before = fingerprint(path)
    s = session_of(path)
    pristine = snapshot(s)
    for op in [Zero("enc"), Prune("", amount=0.5), Prune("", amount=0.9, scope="global")]:
        s.apply(op)
    snapshot(s)
    assert fingerprint(path) == before
    while s.undo():
        pass
    assert snapshot(s) == pristine
    assert fingerprint(path) == before


def test_preview_changes_nothing_and_predicts_apply(special_pth: Path) -> None:
    s = session_of(special_pth)
    s.apply(Zero("enc.bias"))
    version, before = s.version, snapshot(s)
    op = Prune("", amount=0.4, scope="global")
    preview = s.preview(op)
    assert s.version == version and snapshot(s) == before and len(s.log) == 1
    assert set(s.edited_storages()) == {s.info("enc.bias").storage_id}
    assert s.apply(op) == preview


def test_versions_and_dirty(special_pth: Path) -> None:
    s = session_of(special_pth)
    v_enc, v_dec, v_bias = (s.tensor_version(n) for n in ("enc.weight", "dec.weight", "enc.bias"))
    s.apply(Zero("enc.weight"))
    assert s.tensor_version("enc.weight") != v_enc
    assert s.tensor_version("dec.weight") == s.tensor_version("enc.weight") != v_dec
    assert s.tensor_version("enc.bias") == v_bias
    assert s.dirty
    s.mark_saved()
    assert not s.dirty
    edited = s.tensor_version("enc.weight")
    s.undo()
    assert s.dirty and s.tensor_version("enc.weight") != edited
    s.redo()
    assert not s.dirty
    s.apply(Freeze("enc"))
    assert s.dirty  # an intent is an unsaved edit too


def test_freeze_and_unfreeze_record_intents(training_pth: Path) -> None:
    s = session_of(training_pth)
    assert s.requires_grad("model.layers.0.weight") is None  # a state_dict does not record it
    record = s.apply(Freeze("model.layers.0"))
    assert record.names == ("model.layers.0.weight", "model.layers.0.bias")
    assert record.sparsity_before is None and record.total_changed == 0
    assert s.grad_intents() == {"model.layers.0.weight": False, "model.layers.0.bias": False}
    assert s.info("model.layers.0.bias").requires_grad is False
    assert not s.is_edited("model.layers.0.bias") and not s.edited_storages()
    s.apply(Unfreeze("model.layers.0.weight"))
    assert s.requires_grad("model.layers.0.weight") is True
    s.undo()
    assert s.requires_grad("model.layers.0.weight") is False
    s.undo()
    assert s.grad_intents() == {} and s.requires_grad("model.layers.0.weight") is None
    record = s.apply(Freeze("model.embed.weight"))  # tied: the head is the same parameter
    assert s.grad_intents() == {"model.embed.weight": False, "model.head.weight": False}
    assert record.summary == "freeze model.embed.weight: 1 tensor (+1 tied) (1 changed)"


def test_half_precision_prune_matches_torch_on_a_float32_copy(special_pth: Path) -> None:
    from torch.nn.utils import prune

    s = session_of(special_pth)
    x = s.tensor("half.weight").clone()
    s.apply(Prune("half.weight", amount=0.5))
    mask = prune.L1Unstructured(0.5).compute_mask(x.float(), torch.ones(4, 4))
    expected = torch.where(mask.bool() | (x == 0), x, torch.zeros_like(x))
    out = s.tensor("half.weight")
    assert out.dtype == torch.bfloat16
    assert raw(out) == raw(expected)  # -0.0 kept, NaN kept (largest), the rest zeroed
    s.apply(Zero("half.bias"))
    assert s.tensor("half.bias").dtype == torch.float16
    assert bool((s.tensor("half.bias") == 0).all())


def test_float8_tensors_can_be_zeroed_and_pruned(tmp_path: Path) -> None:
    path = tmp_path / "fp8.safetensors"
    w = torch.linspace(-2, 2, 12).reshape(3, 4).to(torch.float8_e4m3fn)
    save_file({"q.weight": w, "q.bias": w[0].clone()}, path)
    s = session_of(path)
    s.apply(Prune("q.weight", threshold=1.0))
    out = s.tensor("q.weight")
    assert out.dtype == torch.float8_e4m3fn
    expected = torch.where(w.float().abs() < 1.0, 0.0, w.float())
    assert torch.equal(out.float(), expected)
    s.apply(Zero("q.bias"))
    assert bool((s.tensor("q.bias").float() == 0).all())


def test_legacy_file_with_ties(tmp_path: Path) -> None:
    path = tmp_path / "legacy.pt"
    torch.save(special_state(), path, _use_new_zipfile_serialization=False)
    s = session_of(path)
    pristine = snapshot(s)
    s.apply(Zero("enc.weight"))
    assert bool((s.tensor("dec.weight") == 0).all())
    s.undo()
    assert snapshot(s) == pristine


def test_importing_the_edit_layer_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, paramtui.edits; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_records_serialise_to_json(training_pth: Path) -> None:
    import json

    s = session_of(training_pth)
    s.apply(Prune("model.layers.1", amount=0.25))
    s.apply(Freeze("model.layers.0"))
    data = json.loads(json.dumps([r.to_dict() for r in s.log]))
    assert data[0]["op"] == "Prune" and data[0]["params"]["amount"] == 0.25
    assert data[0]["effects"][0]["name"] == "model.layers.1.weight"
    assert data[1]["sparsity_before"] is None
