"""Scan checks of training state: snapshots after real backward passes (a parameter detached from
the loss, a frozen parameter with Adam state, a NaN gradient), the demo checkpoint, a
Lightning-style dict, freeze intents, ambiguous and never-stepped optimizers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import paramtui
from optimizer_helpers import net, save, train
from paramtui.analysis.scan.findings import ERROR, INFO, KINDS, WARNING, Finding
from paramtui.analysis.scan.run import scan
from paramtui.analysis.scan.training import TRAINING_KINDS, training_findings
from paramtui.cli.commands.scan import parse_fail_on
from paramtui.demo import build_demo
from paramtui.edits.ops import Freeze
from paramtui.edits.session import EditSession
from paramtui.io.save import save as save_session


class Small(nn.Module):
    """`side` feeds the output only through .detach(): its gradient stays None."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 8)
        self.b = nn.Linear(8, 2)
        self.side = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.b(torch.relu(self.a(x))) + self.side(x).detach()
        return out


def trained_small(steps: int = 2) -> tuple[Small, torch.optim.Optimizer, torch.Tensor]:
    torch.manual_seed(0)
    model = Small()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randn(5, 4)
    for _ in range(steps):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()
    return model, opt, x


def by_kind(found: list[Finding] | tuple[Finding, ...]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for finding in found:
        out.setdefault(finding.kind, []).append(finding)
    return out


@pytest.fixture(scope="module")
def broken_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained 2 steps, then `a` frozen (it keeps its Adam state), one more backward pass."""
    model, opt, x = trained_small()
    model.a.requires_grad_(False)
    opt.zero_grad(set_to_none=True)
    model(x).square().mean().backward()
    path = tmp_path_factory.mktemp("train") / "snap.pth"
    paramtui.snapshot(model, path, opt)
    return path


def test_snapshot_flags_missing_gradient_and_frozen_state(broken_snapshot: Path) -> None:
    found = by_kind(training_findings(paramtui.open_checkpoint(broken_snapshot)))
    side = ("state_dict.side.weight", "state_dict.side.bias")
    frozen = ("state_dict.a.weight", "state_dict.a.bias")
    [no_grad] = found["no_gradient"]
    assert no_grad.severity == WARNING and no_grad.names == side
    assert "grad is None" in no_grad.message
    [stale] = found["frozen_with_optimizer_state"]
    assert stale.severity == WARNING and stale.names == frozen
    assert {"exp_avg", "exp_avg_sq"} <= set(stale.details["state"])
    [unstepped] = found["trainable_without_state"]  # side never got a gradient, so no state
    assert unstepped.severity == WARNING and unstepped.names == side
    assert unstepped.details["stepped"] == 4
    assert set(found) == {"no_gradient", "frozen_with_optimizer_state", "trainable_without_state"}


def test_healthy_snapshot_has_no_training_findings(tmp_path: Path) -> None:
    torch.manual_seed(0)
    x = torch.randn(5, 4)
    plain = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.Adam(plain.parameters(), lr=0.01)
    plain(x).square().mean().backward()
    opt.step()
    plain(x).square().mean().backward()  # gradients present at snapshot time
    paramtui.snapshot(plain, tmp_path / "ok.pth", opt)
    assert training_findings(paramtui.open_checkpoint(tmp_path / "ok.pth")) == []


def test_snapshot_before_backward_is_one_note(tmp_path: Path) -> None:
    model, opt, _ = trained_small()
    opt.zero_grad(set_to_none=True)
    paramtui.snapshot(model, tmp_path / "s.pth", opt)
    found = by_kind(training_findings(paramtui.open_checkpoint(tmp_path / "s.pth")))
    [note] = found["no_gradient"]
    assert note.severity == INFO and len(note.names) == 6
    assert "before backward() or after zero_grad()" in note.message


def test_nan_gradient_is_a_gradient_error_in_the_scan(tmp_path: Path) -> None:
    model, opt, x = trained_small()
    opt.zero_grad()
    model(x).square().mean().backward()
    assert model.b.weight.grad is not None
    model.b.weight.grad[0, 0] = float("nan")
    model.b.bias.grad[1] = float("inf")  # type: ignore[index]
    paramtui.snapshot(model, tmp_path / "nan.pth", opt)
    report = scan(paramtui.open_checkpoint(tmp_path / "nan.pth"))
    found = by_kind(report.findings)
    assert "nan" not in found and "inf" not in found
    assert {f.names for f in found["gradient_nan"]} == {("grads.b.weight",), ("grads.b.bias",)}
    for finding in found["gradient_nan"]:
        assert finding.severity == ERROR
        assert "recorded gradient of 'state_dict.b." in finding.message
    assert report.matching(parse_fail_on("gradient_nan"))
    assert not report.healthy


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_demo(str(tmp_path_factory.mktemp("demo") / "demo.pth"), progress=lambda _: None)


def test_demo_checkpoint_reports_only_the_excluded_block(demo_path: str) -> None:
    index = paramtui.open_checkpoint(demo_path)
    [finding] = training_findings(index)
    assert finding.kind == "not_in_optimizer" and finding.severity == INFO
    assert len(finding.names) == 16
    assert all(name.startswith("model.blocks.0.") for name in finding.names)
    assert "16 parameters under 'model.blocks.0'" in finding.message


def test_freeze_intents_on_trained_parameters_are_flagged(demo_path: str, tmp_path: Path) -> None:
    source = paramtui.open_checkpoint(demo_path)
    session = EditSession(source)
    session.apply(Freeze("model.blocks.1.mlp"))
    save_session(session, str(tmp_path / "frozen.pth"))
    found = by_kind(training_findings(paramtui.open_checkpoint(tmp_path / "frozen.pth")))
    [stale] = found["frozen_with_optimizer_state"]
    assert stale.severity == WARNING
    assert set(stale.names) == {f"model.blocks.1.mlp.fc{i}.{leaf}" for i in (1, 2)
                                for leaf in ("weight", "bias")}  # fmt: skip
    assert found["not_in_optimizer"][0].severity == INFO


def lightning_checkpoint() -> dict[str, Any]:
    """A LightningModule holding `model`: frozen stem left out of the optimizer, an unused
    layer in it that never gets a gradient, so never any state."""
    wrapper = nn.Module()
    wrapper.model = net(freeze_stem=True)  # type: ignore[assignment]
    params = [(n, p) for n, p in wrapper.named_parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=0.003)
    train(wrapper.model, opt)  # type: ignore[arg-type]
    return {
        "epoch": 1,
        "pytorch-lightning_version": "2.4.0",
        "state_dict": wrapper.state_dict(),
        "optimizer_states": [opt.state_dict()],
        "lr_schedulers": [],
        "loops": {},
    }


def test_lightning_checkpoint(tmp_path: Path) -> None:
    index = save(tmp_path, lightning_checkpoint(), "last.ckpt")
    found = by_kind(training_findings(index))
    assert set(found) == {"not_in_optimizer", "trainable_without_state"}
    [left_out] = found["not_in_optimizer"]
    assert left_out.names == ("state_dict.model.stem.weight", "state_dict.model.stem.bias")
    [unstepped] = found["trainable_without_state"]
    # Lightning does not record requires_grad: a note, not a warning
    assert unstepped.severity == INFO
    assert unstepped.names == ("state_dict.model.unused.weight", "state_dict.model.unused.bias")
    assert unstepped.details["optimizer"] == "optimizer_states.0"


def test_ambiguous_mapping_is_one_note(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8))
    model[0].requires_grad_(False)  # left out of an optimizer built from bare parameters
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    found = training_findings(save(tmp_path, {"model": model.state_dict(),
                                              "optimizer": opt.state_dict()}))  # fmt: skip
    [note] = found
    assert note.kind == "optimizer_unmapped" and note.severity == INFO
    assert "no per-parameter check was possible" in note.message
    assert "4 parameter tensors" in note.message  # the mapper's reason is passed on


def test_optimizer_without_state_is_one_note(tmp_path: Path) -> None:
    model = net(freeze_stem=False)
    opt = torch.optim.SGD(list(model.named_parameters()), lr=0.1)  # no momentum: no state
    train(model, opt)
    found = training_findings(save(tmp_path, {"model": model.state_dict(),
                                              "optimizer": opt.state_dict()}))  # fmt: skip
    [note] = found
    assert note.kind == "trainable_without_state" and note.severity == INFO
    assert "holds no per-parameter state at all" in note.message


def test_training_kinds_are_fail_on_kinds() -> None:
    assert set(TRAINING_KINDS) <= set(KINDS)
    assert parse_fail_on("no_gradient,frozen_with_optimizer_state") == {
        "no_gradient",
        "frozen_with_optimizer_state",
    }
