"""Pruning equals torch.nn.utils.prune; make-permanent; the demo checkpoint end to end."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

import paramtui
from checkpoints import saved_as_device
from edit_helpers import raw, snapshot
from paramtui.core.errors import TensorNotFound
from paramtui.demo import build_demo, demo_model
from paramtui.edits import EditRefused, EditSession, Freeze, MakePrunePermanent, Prune, Zero


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.fc1 = nn.Linear(12, 10)
        self.fc2 = nn.Linear(10, 5)


def net(seed: int = 0, ties: bool = True) -> Net:
    """A seeded Net; `ties` rounds weights to quarters: many equal magnitudes and some zeros."""
    torch.manual_seed(seed)
    model = Net()
    if ties:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_((p * 8).round() / 4)
    return model


def session_for(model: nn.Module, tmp_path: Path) -> EditSession:
    path = tmp_path / "net.pth"
    torch.save(model.state_dict(), path)
    return EditSession(paramtui.open_checkpoint(path))


def pruned_value(module: nn.Module, name: str) -> torch.Tensor:
    orig = getattr(module, name + "_orig").detach()
    return orig * getattr(module, name + "_mask")


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 1.0])
def test_l1_unstructured_per_tensor_equals_torch(tmp_path: Path, amount: float) -> None:
    model = net()
    s = session_for(model, tmp_path)
    record = s.apply(Prune("", amount=amount))
    assert [e.name for e in record.effects] == ["conv.weight", "fc1.weight", "fc2.weight"]
    assert {n for n, _ in record.skipped} == {"conv.bias", "fc1.bias", "fc2.bias"}  # 1-D
    for bias in ("conv.bias", "fc1.bias", "fc2.bias"):
        s.apply(Prune(bias, amount=amount))  # named exactly, a 1-D tensor is pruned
    for module_name in ("conv", "fc1", "fc2"):
        for param in ("weight", "bias"):
            module = copy.deepcopy(getattr(model, module_name))
            prune.l1_unstructured(module, param, amount=amount)
            got = s.tensor(f"{module_name}.{param}")
            assert torch.equal(got, pruned_value(module, param)), (module_name, param)


def test_sparsity_counts_elements_already_zero(tmp_path: Path) -> None:
    model = net()
    s = session_for(model, tmp_path)
    w = model.fc1.weight.detach()
    record = s.apply(Prune("fc1.weight", amount=0.5))
    effect = record.effects[0]
    zeros = int((w == 0).sum())
    assert 0 < effect.sparsity_before == zeros / 120
    assert effect.sparsity_after == 0.5
    assert effect.changed == 60 - zeros
    assert re.fullmatch(
        r"prune 50% \(L1, per tensor\) fc1\.weight: 1 tensor, [\d,]+ elements zeroed, "
        r"sparsity \d+\.\d% -> 50\.0%",
        record.summary,
    )
    record = s.apply(Prune("fc1.bias", amount=1))  # an int amount is a fraction, not a count
    assert record.effects[0].sparsity_after == 1.0


@pytest.mark.parametrize("amount", [0.2, 0.6])
def test_global_equals_global_unstructured(tmp_path: Path, amount: float) -> None:
    model = net(1)
    s = session_for(model, tmp_path)
    record = s.apply(Prune("", amount=amount, scope="global"))
    reference = copy.deepcopy(model)
    weights = [n for n in s.names() if n.endswith(".weight")]
    pairs = [(getattr(reference, n.split(".")[0]), n.split(".")[1]) for n in weights]
    prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured, amount=amount)
    for (module, param), name in zip(pairs, weights, strict=True):
        assert torch.equal(s.tensor(name), pruned_value(module, param)), name
    total = sum(e.numel for e in record.effects)
    cut = round(amount * total) / total  # the smallest |x| go first: zeros already there count
    assert record.sparsity_after == pytest.approx(max(cut, record.sparsity_before or 0.0))


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("norm", [1.0, 2.0])
def test_ln_structured_equals_torch(tmp_path: Path, dim: int, norm: float) -> None:
    model = net(2, ties=False)
    s = session_for(model, tmp_path)
    record = s.apply(Prune("", amount=0.4, structured_dim=dim, norm=norm))
    assert {n for n, _ in record.skipped} == {"conv.bias", "fc1.bias", "fc2.bias"}
    for module_name in ("conv", "fc1", "fc2"):
        module = copy.deepcopy(getattr(model, module_name))
        prune.ln_structured(module, "weight", amount=0.4, n=int(norm), dim=dim)
        assert torch.equal(s.tensor(f"{module_name}.weight"), pruned_value(module, "weight"))


def test_threshold_prunes_small_magnitudes(tmp_path: Path) -> None:
    model = net(3, ties=False)
    s = session_for(model, tmp_path)
    s.apply(Prune("fc2", threshold=0.1))
    x = model.state_dict()["fc2.weight"]
    assert torch.equal(s.tensor("fc2.weight"), torch.where(x.abs() < 0.1, 0.0, x))
    assert torch.equal(s.tensor("fc2.bias"), model.fc2.bias.detach())  # 1-D: skipped
    assert torch.equal(s.tensor("fc1.weight"), model.fc1.weight.detach())


def pruned_module_state(device: str | None, tmp_path: Path) -> tuple[Path, Net]:
    """A state_dict saved after really applying torch.nn.utils.prune; and the removed module."""
    model = net(4, ties=False)
    prune.l1_unstructured(model.fc1, "weight", amount=0.3)
    prune.l1_unstructured(model.fc1, "bias", amount=0.5)
    prune.ln_structured(model.conv, "weight", amount=0.5, n=2, dim=0)
    path = tmp_path / "pruned.pth"
    if device is None:
        torch.save(model.state_dict(), path)
    else:
        with saved_as_device(device):
            torch.save(model.state_dict(), path)
    for module, name in ((model.fc1, "weight"), (model.fc1, "bias"), (model.conv, "weight")):
        prune.remove(module, name)
    return path, model


def test_make_prune_permanent_equals_prune_remove(tmp_path: Path) -> None:
    path, removed = pruned_module_state("cuda:0", tmp_path)
    s = EditSession(paramtui.open_checkpoint(path))
    original = s.names()
    record = s.apply(MakePrunePermanent(""))
    assert record.names == ("conv.weight", "fc1.weight", "fc1.bias")
    expected = removed.state_dict()
    assert s.names() == list(expected)  # the order torch's state_dict has after prune.remove
    for name in s.names():
        assert raw(s.tensor(name)) == raw(expected[name]), name
    info = s.info("fc1.weight")
    assert info.location is None and info.device == "cuda:0" and info.role == "parameter"
    assert info.shape == (10, 12) and info.dtype == "float32"
    assert s.structure_changed and s.is_edited("fc1.weight")
    with pytest.raises(TensorNotFound, match="removed by an edit"):
        s.info("fc1.weight_orig")
    assert set(s.removed_names()) == {n for n in original if n.endswith(("_orig", "_mask"))}
    assert s.added_names() == ["conv.weight", "fc1.weight", "fc1.bias"]
    fresh = Net()
    fresh.load_state_dict({n: s.tensor(n) for n in s.names()}, strict=True)
    s.apply(Zero("fc1.weight"))  # a created tensor can be edited again
    assert bool((s.tensor("fc1.weight") == 0).all())
    s.undo()
    s.undo()
    assert s.names() == original and not s.structure_changed and not s.edited_storages()
    s.redo()
    assert raw(s.tensor("fc1.weight")) == raw(expected["fc1.weight"])


def test_make_prune_permanent_on_one_pair_and_refusals(tmp_path: Path) -> None:
    path, _ = pruned_module_state(None, tmp_path)
    s = EditSession(paramtui.open_checkpoint(path))
    record = s.apply(MakePrunePermanent("fc1.weight_orig"))
    assert record.names == ("fc1.weight",)
    assert "fc1.bias_orig" in s.names()
    with pytest.raises(EditRefused, match="no pruned tensors"):
        s.apply(MakePrunePermanent("fc2"))
    with pytest.raises(EditRefused, match="matches no tensor"):
        s.apply(MakePrunePermanent("fc1.weight_orig"))  # gone now


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("demo") / "demo.pth"
    return Path(build_demo(str(target), progress=lambda message: None))


def test_demo_edits_load_back_into_the_demo_model(demo_path: Path) -> None:
    s = EditSession(paramtui.open_checkpoint(demo_path))
    pristine = snapshot(s)
    s.apply(Freeze("model.blocks.0"))
    s.apply(Zero("model.blocks.1.attn"))
    record = s.apply(Prune("model.blocks", amount=0.3, scope="global"))
    assert record.skipped and all("1-D" in reason for _, reason in record.skipped)
    assert all(len(s.info(n).shape) == 2 for n in record.names)
    record = s.apply(Prune("model.tok_emb.weight", amount=0.2))
    assert record.names == ("model.tok_emb.weight", "model.lm_head.weight")
    assert not any(n.startswith("optimizer") for n in s.edited_names())
    model = demo_model()
    state = {n[len("model.") :]: s.tensor(n) for n in s.names() if n.startswith("model.")}
    model.load_state_dict(state, strict=True)
    assert int((model.lm_head.weight == 0).sum()) == round(0.2 * 64 * 64)
    while s.undo():
        pass
    assert snapshot(s) == pristine and not s.edited_storages() and not s.grad_intents()


def test_make_permanent_after_pruning_orig_fully_reports_the_new_name(tmp_path: Path) -> None:
    """Found by hypothesis: the product equals the (all-zero) orig, so 0 elements change, but
    the new name is still reported."""
    model = net()
    prune.l1_unstructured(model.fc1, "weight", amount=0.5)
    path = tmp_path / "pruned.pth"
    torch.save(model.state_dict(), path)
    s = EditSession(paramtui.open_checkpoint(path))
    s.apply(Prune("fc1.weight_orig", amount=1.0))
    record = s.apply(MakePrunePermanent("fc1.weight_orig"))
    assert [e.name for e in record.effects] == ["fc1.weight"]
    assert torch.count_nonzero(s.tensor("fc1.weight")) == 0
