"""A live nn.Module's optimizer mapped to its parameters, which sit at the top level of the
index ("fc.weight", no model root): per-parameter flags, the training findings and the detail
pane's Optimizer section, with a real model and torch.optim.Adam."""

from __future__ import annotations

import torch
from torch import nn

from paramtui.analysis.optimizer.map import (
    FROZEN_WITH_STATE,
    NO_STATE,
    NOT_IN_OPTIMIZER,
    map_optimizers,
    optimizer_summary,
)
from paramtui.analysis.scan.training import training_findings
from paramtui.core import training
from paramtui.core.live import index_from_module
from paramtui.tui.app import ParamtuiApp
from tui_edit_helpers import ready
from tui_helpers import SIZE, asynctest, detail_text, navigate, wait_for


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Linear(6, 8)
        self.norm = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 3)
        self.aux = nn.Linear(8, 3)  # in the optimizer, never used in forward(): no state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.norm(self.stem(x))))


def trained() -> tuple[Net, torch.optim.Adam]:
    """Two param groups; head.bias in neither; stem.weight frozen after training (state kept);
    norm.weight frozen from the start (in a group, never stepped)."""
    model = Net()
    model.norm.weight.requires_grad_(False)
    groups = [
        {"params": [model.stem.weight, model.stem.bias], "lr": 1e-3},
        {
            "params": [
                model.norm.weight,
                model.norm.bias,
                model.head.weight,
                *model.aux.parameters(),
            ],
            "lr": 3e-2,
            "weight_decay": 0.1,
        },
    ]
    opt = torch.optim.Adam(groups)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(5, 6)).pow(2).mean().backward()
        opt.step()
    model.stem.weight.requires_grad_(False)
    return model, opt


def test_model_root_of_a_live_index_is_the_top_level() -> None:
    model, opt = trained()
    index = index_from_module(model, opt)
    assert training.model_root(index) == ""
    layout = training.describe_layout(index)
    assert layout is not None and layout.model == "" and layout.optimizers == ("optimizer",)


def test_live_parameters_get_their_state_groups_and_flags() -> None:
    model, opt = trained()
    [omap] = map_optimizers(index_from_module(model, opt))
    assert (omap.model, omap.method, omap.ambiguous) == ("", "state names", None)
    by_tensor = {p.tensor: p for p in omap.params}
    assert by_tensor["stem.bias"].group == 0 and by_tensor["head.weight"].group == 1
    assert by_tensor["head.weight"].hyper["lr"] == 3e-2
    assert by_tensor["head.weight"].hyper["weight_decay"] == 0.1
    assert by_tensor["head.weight"].state["exp_avg"] == "optimizer.state.head.weight.exp_avg"
    assert by_tensor["stem.weight"].flags == (FROZEN_WITH_STATE,)
    assert by_tensor["aux.weight"].flags == (NO_STATE,) and by_tensor["aux.bias"].flags == (
        NO_STATE,
    )
    assert by_tensor["norm.weight"].flags == ()  # frozen, in a group, never stepped: fine
    assert by_tensor["stem.bias"].flags == () and by_tensor["head.weight"].flags == ()
    assert omap.not_in_optimizer == ("head.bias",)
    assert by_tensor["head.bias"].flags == (NOT_IN_OPTIMIZER,)
    assert by_tensor["head.bias"].name == "head.bias"
    # buffers, gradients and the state tensors themselves are not parameters of the model
    assert not any(t.startswith(("grads.", "optimizer.", "norm.running")) for t in by_tensor)


def test_live_training_findings_name_the_parameters() -> None:
    model, opt = trained()
    found = {f.kind: f for f in training_findings(index_from_module(model, opt))}
    assert found["frozen_with_optimizer_state"].names == ("stem.weight",)
    assert set(found["trainable_without_state"].names) == {"aux.weight", "aux.bias"}
    assert found["not_in_optimizer"].names == ("head.bias",)


def test_live_summary_reads_step_and_adam_norms() -> None:
    model, opt = trained()
    index = index_from_module(model, opt)
    summary = optimizer_summary(index, "head.weight")
    assert summary is not None
    assert (summary.group, summary.kind, summary.lr, summary.weight_decay) == (1, "adam", 3e-2, 0.1)
    assert summary.step == 3
    exp_avg = opt.state[model.head.weight]["exp_avg"]
    assert abs((summary.norms["exp_avg"] or 0) - exp_avg.norm().item()) < 1e-5
    assert summary.step_size is not None


@asynctest
async def test_browse_shows_the_optimizer_section_of_a_live_parameter() -> None:
    model, opt = trained()
    app = ParamtuiApp(index_from_module(model, opt))  # what paramtui.browse(model, opt) runs
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await navigate(pilot, "head.bias")  # the keyboard walks the (sorted) tree downwards
        await wait_for(pilot, lambda: "not in any param group" in detail_text(app))
        await navigate(pilot, "head.weight")
        await wait_for(
            pilot, lambda: "Optimizer" in detail_text(app) and "0.03" in detail_text(app)
        )
        text = detail_text(app)
        assert "Adam-like" in text and "‖exp_avg‖" in text and "step           3" in text
        await navigate(pilot, "stem.weight")
        await wait_for(pilot, lambda: FROZEN_WITH_STATE in detail_text(app))
