"""Parameter counts: the primary model's parameters, tied weights once, each model root apart
(an EMA copy is a second model), buffers and optimizer state beside them, never in them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from paramtui import open_checkpoint
from paramtui.analysis.summary import summarize
from paramtui.core.roots import count_roots, model_tree, primary
from paramtui.core.tree import build_tree
from paramtui.demo import build_demo, demo_model
from paramtui.render.json_out import SUMMARY_SCHEMA, summary_json
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.views import fmt
from paramtui.tui.views.header import summary_line
from tui_helpers import SIZE, asynctest, detail_text, screen_text, wait_for, wait_for_tree

DEMO_PARAMETERS = 206_592


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.Linear(16, 4))


def _param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # torch counts a tied parameter once


def _adam_state(model: nn.Module) -> dict[str, object]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    return opt.state_dict()


def _kinds(path: Path) -> list[tuple[str, str]]:
    return [(r.name, r.kind) for r in summarize(open_checkpoint(path)).roots]


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.pth"
    return Path(build_demo(str(path), progress=lambda _: None))


def test_the_demo_has_its_models_parameters_everywhere(demo_path: Path) -> None:
    assert _param_count(demo_model()) == DEMO_PARAMETERS  # the number the issue quotes
    index = open_checkpoint(demo_path)
    summary = summarize(index)
    assert summary.parameter_numel == DEMO_PARAMETERS
    assert [(r.name, r.kind) for r in summary.roots] == [
        ("model", "model"),
        ("optimizer", "optimizer"),
    ]
    model, optimizer = summary.roots
    assert model.counts.buffers.numel > 0 and model.counts.optimizer_state.numel == 0
    assert optimizer.counts.optimizer_state.numel > DEMO_PARAMETERS  # Adam: two moments each
    assert optimizer.counts.parameters.numel == 0
    assert "207K params" in summary_line(index, model_tree(index))


def test_the_tree_shows_parameters_per_module_and_the_models_at_the_root(
    demo_path: Path,
) -> None:
    index = open_checkpoint(demo_path)
    root = build_tree(index.tensors.values())
    model = root.find("model")
    assert model is not None and model.headline == DEMO_PARAMETERS
    optimizer = root.find("optimizer")
    assert optimizer is not None
    assert optimizer.headline == optimizer.counts.optimizer_state.numel  # no parameters there
    found = primary(count_roots(index, root))
    assert found is not None and found.counts.parameters.numel == DEMO_PARAMETERS


def test_summary_json_schema_2_gives_each_root(demo_path: Path) -> None:
    document = summary_json(summarize(open_checkpoint(demo_path)))
    assert SUMMARY_SCHEMA == "paramtui.summary/2" == document["schema"]
    assert document["parameter_numel"] == DEMO_PARAMETERS
    first = document["roots"][0]
    assert first["name"] == "model" and first["kind"] == "model"
    assert first["parameters"]["numel"] == DEMO_PARAMETERS
    assert first["parameters"]["nbytes"] == 4 * DEMO_PARAMETERS
    assert set(first) >= {"tensors", "elements", "buffers", "optimizer_state", "other"}


class TiedLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 12)
        self.body = nn.Linear(12, 12)
        self.decoder = nn.Linear(12, 50, bias=False)
        self.decoder.weight = self.embed.weight  # tied


def test_a_tied_decoder_is_counted_once_in_a_torch_file(tmp_path: Path) -> None:
    model = TiedLM()
    path = tmp_path / "pytorch_model.bin"
    torch.save(model.state_dict(), path)
    index = open_checkpoint(path)
    assert summarize(index).parameter_numel == _param_count(model)
    assert build_tree(index.tensors.values()).headline == _param_count(model)
    assert f"{_param_count(model)} params" in summary_line(
        index, model_tree(index)
    )  # 756, not 1,356


@pytest.mark.parametrize("safe", [True, False], ids=["safetensors", "torch"])
def test_a_hugging_face_folder_with_a_tied_decoder_counts_the_tie_once(
    tmp_path: Path, safe: bool
) -> None:
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(
        vocab_size=97, n_positions=16, n_embd=8, n_layer=1, n_head=2, tie_word_embeddings=True
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    folder = tmp_path / "hf"
    if safe:  # save_pretrained writes safetensors, one copy of the tie
        model.save_pretrained(folder)
    else:  # the classic pytorch_model.bin: both names on one storage
        model.config.save_pretrained(folder)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    index = open_checkpoint(folder)
    expected = _param_count(model)
    assert summarize(index).parameter_numel == expected
    assert primary(count_roots(index)) is not None
    assert build_tree(index.tensors.values()).headline == expected
    assert f"{fmt.count(expected)} params" in summary_line(index, model_tree(index))


def test_a_timm_checkpoint_holds_two_models(tmp_path: Path) -> None:
    model, ema = _model(0), _model(1)
    path = tmp_path / "last.pth.tar"
    torch.save(
        {
            "epoch": 3,
            "arch": "mlp",
            "state_dict": model.state_dict(),
            "optimizer": _adam_state(model),
            "version": 2,
            "state_dict_ema": ema.state_dict(),
        },
        path,
    )
    index = open_checkpoint(path)
    summary = summarize(index)
    assert _kinds(path) == [("state_dict", "model"), ("state_dict_ema", "ema"),
                            ("optimizer", "optimizer")]  # fmt: skip
    assert summary.parameter_numel == _param_count(model)
    model_root, ema_root, _ = summary.roots
    assert ema_root.counts.parameters.numel == _param_count(model)
    assert model_root.counts.buffers.numel == 16 + 16 + 1  # BatchNorm: mean, var, batches
    root = build_tree(index.tensors.values())
    found = primary(count_roots(index, root))
    assert found is not None and found.counts.parameters.numel == _param_count(model)
    assert f"{_param_count(model)} params" in summary_line(index, model_tree(index))


def test_a_lightning_checkpoint_counts_its_state_dict(tmp_path: Path) -> None:
    model = _model()
    path = tmp_path / "epoch=0-step=10.ckpt"
    torch.save(
        {
            "epoch": 0,
            "global_step": 10,
            "pytorch-lightning_version": "2.6.6",
            "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
            "loops": {},
            "callbacks": {},
            "optimizer_states": [_adam_state(model)],
            "lr_schedulers": [],
        },
        path,
    )
    summary = summarize(open_checkpoint(path))
    assert _kinds(path) == [("state_dict", "model"), ("optimizer_states.0", "optimizer")]
    assert summary.parameter_numel == _param_count(model)
    optimizer = summary.roots[1].counts
    steps = len(list(model.parameters()))  # Adam: two moments and a step per parameter
    assert optimizer.optimizer_state.numel == 2 * _param_count(model) + steps


@asynctest
async def test_the_tui_header_root_and_detail_pane_show_the_models_parameters(
    demo_path: Path,
) -> None:
    app = ParamtuiApp(open_checkpoint(demo_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_tree(pilot)
        await wait_for(pilot, lambda: "params" in str(app.screen.sub_title))
        text = screen_text(app)
        assert "207K params" in text.splitlines()[0]  # the header
        assert "525K params" not in text  # every element of every tensor, the old count
        root = next(line for line in text.splitlines()[1:] if "▼" in line and "demo.pth" in line)
        assert "207K params" in root  # the root's line in the tree, columns included
        detail = detail_text(app)
        assert "optimizer" in detail and "313K optimizer state" in detail
