"""`paramtui edit` / `paramtui convert` contracts (subprocess) and their helpers (in process)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.utils.prune as torch_prune
from safetensors.torch import load_file

import paramtui
from checkpoints import saved_as_device, training_checkpoint
from paramtui.cli import UsageError
from paramtui.cli.commands.edit_args import build_ops
from paramtui.core.access import open_tensor
from paramtui.core.errors import SaveRefused
from paramtui.demo import build_demo, demo_model
from paramtui.edits.ops import Freeze, Prune, Zero
from paramtui.io.sharded import parse_size, plan_shards

EDITS = [
    "--freeze",
    "model.blocks.0",
    "--zero",
    "model.lm_head.weight",
    "--prune",
    "model.blocks.1.*",
    "--amount",
    "0.3",
]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paramtui", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
    )


def assert_one_paragraph_error(proc: subprocess.CompletedProcess[str], *texts: str) -> None:
    assert proc.returncode == 2, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("paramtui: error: ") and "Traceback" not in proc.stderr
    for text in texts:
        assert text in error


def raw(t: torch.Tensor) -> bytes:
    """A tensor's elements as bytes (bit patterns: NaN payloads and -0.0 compare exactly)."""
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(flat(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, (list, tuple)) and not all(isinstance(v, (int, float)) for v in obj):
        return flat(dict(enumerate(obj)), prefix)
    return {prefix[:-1]: obj}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(
        build_demo(str(tmp_path_factory.mktemp("demo") / "demo.pth"), progress=lambda _: None)
    )


@pytest.fixture(scope="module")
def edited(demo: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = demo.parent / "edited.pth"
    return out, run("edit", demo, out, *EDITS)


def test_edit_saves_what_loads_into_the_model(
    demo: Path, edited: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    out, proc = edited
    assert proc.returncode == 0, proc.stderr
    assert "verified: 245 tensors, edited ones match, others bit-identical" in proc.stdout
    assert "sparsity 0.0% -> 100.0%" in proc.stdout  # the zeroed head
    assert "[1/3] freeze model.blocks.0" in proc.stderr  # progress goes to stderr
    before = torch.load(demo, weights_only=True)
    after = torch.load(out, weights_only=True)
    model = demo_model()
    model.load_state_dict(after["model"], strict=True)
    head, emb = after["model"]["lm_head.weight"], after["model"]["tok_emb.weight"]
    assert not head.any() and head.untyped_storage().data_ptr() == emb.untyped_storage().data_ptr()
    pruned = [k for k, v in before["model"].items() if k.startswith("blocks.1.") and v.ndim > 1]
    assert len(pruned) == 6  # a pattern prunes weight matrices, not biases or norm scales
    for name in pruned:
        expected = round(0.3 * before["model"][name].numel())
        assert int((after["model"][name] == 0).sum()) == expected, name
        survivors = after["model"][name] != 0
        assert torch.equal(after["model"][name][survivors], before["model"][name][survivors])
    untouched = set(before["model"]) - set(pruned) - {"lm_head.weight", "tok_emb.weight"}
    for name in untouched:
        assert raw(after["model"][name]) == raw(before["model"][name]), name
    assert after["epoch"] == before["epoch"] and after["loss_history"] == before["loss_history"]
    old_opt, new_opt = flat(before["optimizer"]), flat(after["optimizer"])
    assert old_opt.keys() == new_opt.keys()
    for key, value in old_opt.items():
        same = raw(value) == raw(new_opt[key]) if torch.is_tensor(value) else value == new_opt[key]
        assert same, key


def test_pruning_matches_torch_l1_unstructured(
    demo: Path, edited: tuple[Path, subprocess.CompletedProcess[str]]
) -> None:
    before = torch.load(demo, weights_only=True)["model"]["blocks.1.mlp.fc1.weight"]
    after = torch.load(edited[0], weights_only=True)["model"]["blocks.1.mlp.fc1.weight"]
    layer = torch.nn.Linear(64, 256)
    with torch.no_grad():
        layer.weight.copy_(before)
    torch_prune.l1_unstructured(layer, "weight", amount=0.3)  # type: ignore[no-untyped-call]
    assert torch.equal(layer.weight.detach(), after)


def test_apply_freeze_reproduces_the_freeze(
    edited: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out = edited[0]
    model = demo_model()
    report = paramtui.apply_freeze(model, out)
    block0 = {n for n, _ in model.named_parameters() if n.startswith("blocks.0.")}
    assert len(block0) == 16
    assert set(report.frozen) == block0 and report.unmatched == []
    assert {n for n, p in model.named_parameters() if not p.requires_grad} == block0
    other = paramtui.apply_freeze(torch.nn.Linear(2, 2), out)
    assert other.frozen == [] and len(other.unmatched) == 16
    index = paramtui.open_checkpoint(out)
    frozen = {t.name for t in index if t.requires_grad is False}
    assert frozen == {f"model.{n}" for n in block0}


def test_edit_json(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "e.pth"
    proc = run("edit", demo, out, *EDITS, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "paramtui.edit/2"
    assert (doc["source"], doc["dest"], doc["dry_run"]) == (str(demo), str(out), False)
    assert [e["op"] for e in doc["edits"]] == ["Freeze", "Zero", "Prune"]
    zero = doc["edits"][1]
    assert {e["name"] for e in zero["effects"]} == {"model.lm_head.weight", "model.tok_emb.weight"}
    assert zero["total_changed"] == 64 * 64 and zero["sparsity_after"] == 1.0
    prune = doc["edits"][2]
    assert prune["params"]["amount"] == 0.3 and len(prune["effects"]) == 6
    assert len(prune["skipped"]) == 10 and all(s["reason"] for s in prune["skipped"])
    assert all(math.isclose(e["sparsity_after"], 0.3, abs_tol=0.01) for e in prune["effects"])
    assert doc["overall"]["tensors"] == 7 and doc["overall"]["grad_intents"] == 16
    assert sum(1 for v in doc["requires_grad"].values() if v is False) == 16
    save = doc["save"]
    assert save["verified"] is True and save["checks"] == 245 and save["path"] == str(out)
    assert "model.lm_head.weight" in save["edited"]


def test_dry_run_writes_nothing(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "never.pth"
    proc = run("edit", demo, out, "--prune", "model.blocks.1", "--amount", "0.5", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert "sparsity 0.0% -> 50.0%" in proc.stdout
    assert "overall: 6 tensors changed" in proc.stdout
    assert "skipped 10 tensors: " in proc.stdout  # grouped by reason
    assert "dry run: nothing was written" in proc.stdout
    doc = json.loads(run("edit", demo, "--zero", "model.ln_f", "--dry-run", "--json").stdout)
    assert doc["dry_run"] is True and doc["save"] is None and doc["dest"] is None


def test_overwriting_needs_force(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.pth"
    out.write_bytes(b"precious")
    proc = run("edit", demo, out, "--zero", "model.ln_f.bias")
    assert_one_paragraph_error(proc, "already exists", "--force")
    assert out.read_bytes() == b"precious"
    assert run("edit", demo, out, "--zero", "model.ln_f.bias", "--force").returncode == 0
    assert not torch.load(out, weights_only=True)["model"]["ln_f.bias"].any()


def test_overwriting_the_input_with_force(demo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.pth"
    copy.write_bytes(demo.read_bytes())
    assert_one_paragraph_error(run("edit", copy, copy, "--zero", "model.ln_f.bias"), "input")
    proc = run("edit", copy, copy, "--zero", "model.ln_f.bias", "--force")
    assert proc.returncode == 0, proc.stderr
    assert not torch.load(copy, weights_only=True)["model"]["ln_f.bias"].any()
    assert [p.name for p in tmp_path.iterdir()] == ["copy.pth"]  # no temp file left


def test_bad_patterns_and_refused_targets(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.pth"
    proc = run("edit", demo, out, "--zero", "model.blocks.0.attn.q_proj.weigth")
    assert_one_paragraph_error(proc, "matches no tensor", "model.blocks.0.attn.q_proj.weight")
    proc = run("edit", demo, out, "--zero", "model.stem.norm.num_batches_tracked", "--json")
    assert proc.returncode == 2 and json.loads(proc.stdout)["schema"] == "paramtui.error/1"
    assert_one_paragraph_error(run("edit", demo, out, "--amount", "0.3"), "--prune")
    assert_one_paragraph_error(run("edit", demo, out), "no edits")
    proc = run("edit", demo, out, "--prune", "model", "--amount", "1.5")
    assert_one_paragraph_error(proc, "[0, 1]")
    assert not out.exists()


def test_convert_refuses_a_training_checkpoint_to_safetensors(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.safetensors"
    proc = run("convert", demo, out)
    assert_one_paragraph_error(
        proc, "non-tensor entries", "share storage", "--tensors-only", "--untie"
    )
    assert not out.exists()
    proc = run("convert", demo, out, "--tensors-only", "--untie")
    assert proc.returncode == 0, proc.stderr
    assert "all bit-identical" in proc.stdout
    loaded = load_file(out)
    source = paramtui.open_checkpoint(demo)
    assert list(loaded) == list(source.tensors)
    oracle = flat(torch.load(demo, weights_only=True))
    for name, tensor in loaded.items():
        assert raw(tensor) == raw(oracle[name]), name


def plain_state_dict() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    special = torch.tensor([0.0, -0.0, float("inf"), -float("inf"), 1.0, float("nan")])
    payload = torch.tensor([0x7FC00001, 0x7F800123], dtype=torch.int32).view(torch.float32)
    return {
        "enc.weight": torch.randn(8, 4),
        "enc.bias": torch.cat([special, payload]),
        "dec.weight": torch.randn(4, 8, dtype=torch.bfloat16),
        "dec.scale": torch.randn(3).half(),
        "bn.num_batches_tracked": torch.tensor(7),
        "mask": torch.rand(5) > 0.5,
    }


def test_plain_state_dict_round_trip(tmp_path: Path) -> None:
    state = plain_state_dict()
    torch.save(state, tmp_path / "a.pth")
    for src, dst in (("a.pth", "b.safetensors"), ("b.safetensors", "c.pth")):
        proc = run("convert", tmp_path / src, tmp_path / dst)
        assert proc.returncode == 0, proc.stderr
    back = torch.load(tmp_path / "c.pth", weights_only=True)
    assert list(back) == list(state)
    for name, tensor in state.items():
        assert back[name].dtype == tensor.dtype and raw(back[name]) == raw(tensor), name


def test_sharded_safetensors_folder(demo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "hf"
    proc = run("convert", demo, f"{folder}/", "--shard-size", "400KB", "--tensors-only", "--untie")
    assert proc.returncode == 0, proc.stderr
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 2 and shards[0] == f"model-00001-of-{len(shards):05d}.safetensors"
    assert sorted(p.name for p in folder.iterdir()) == [*shards, "model.safetensors.index.json"]
    for shard in shards:
        assert os.path.getsize(folder / shard) < 400_000 + 64 * 1024  # one big tensor may exceed
    loaded: dict[str, torch.Tensor] = {}
    for shard in shards:  # transformers-style loading
        part = load_file(folder / shard)
        assert {n for n, s in index["weight_map"].items() if s == shard} == set(part)
        loaded.update(part)
    assert index["metadata"]["total_size"] == sum(t.nbytes for t in loaded.values())
    oracle = flat(torch.load(demo, weights_only=True))
    source = paramtui.open_checkpoint(demo)
    assert set(loaded) == set(source.tensors)
    for name, tensor in loaded.items():
        assert raw(tensor) == raw(oracle[name]), name
    reopened = paramtui.open_checkpoint(folder)
    assert list(reopened.tensors) == list(source.tensors)
    assert f"{len(shards)} shards" in reopened.format
    for info in reopened:
        assert raw(open_tensor(info)) == raw(oracle[info.name]), info.name
    proc = run("convert", folder, folder, "--force", "--shard-size", "400KB")
    assert_one_paragraph_error(proc, "holds the checkpoint being read")


def test_sharded_bin_folder_keeps_ties_and_devices(tmp_path: Path) -> None:
    src = tmp_path / "train.pth"
    with saved_as_device("cuda:0"):
        torch.save(training_checkpoint(), src)
    folder = tmp_path / "bin"
    proc = run("convert", src, folder, "--shard-size", "1KB", "--format", "bin")
    assert_one_paragraph_error(proc, "non-tensor entries", "--tensors-only")
    proc = run("convert", src, folder, "--shard-size", "1KB", "--format", "bin", "--tensors-only")
    assert proc.returncode == 0, proc.stderr
    index = json.loads((folder / "pytorch_model.bin.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 2 and shards[-1].startswith("pytorch_model-")
    weight_map = index["weight_map"]
    head = weight_map["model.head.weight"]
    assert head == weight_map["model.embed.weight"]  # tied names stay in one shard ...
    part = torch.load(folder / head, weights_only=True, map_location="cpu")
    assert part["model.head.weight"].data_ptr() == part["model.embed.weight"].data_ptr()  # tied
    listing = json.loads(run("ls", folder, "--json").stdout)
    assert {row["device"] for row in listing["tensors"]} == {"cuda:0"}
    oracle = flat(torch.load(src, weights_only=True, map_location="cpu"))
    assert {row["name"] for row in listing["tensors"]} == {
        k for k, v in oracle.items() if torch.is_tensor(v)
    }
    proc = run("convert", src, folder, "--shard-size", "1KB", "--format", "bin", "--tensors-only")
    assert_one_paragraph_error(proc, "--force")


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_sharded_folders_keep_freeze_intents(
    edited: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path, fmt: str
) -> None:
    folder = tmp_path / fmt
    args = ["--tensors-only", "--untie", "--shard-size", "600KB", "--format", fmt]
    proc = run("convert", edited[0], folder, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "paramtui.convert/2" and doc["save"]["verified"] is True
    assert len(doc["save"]["files"]) > 1
    frozen = {t.name for t in paramtui.open_checkpoint(folder) if t.requires_grad is False}
    assert len(frozen) == 16 and all(n.startswith("model.blocks.0.") for n in frozen)
    model = demo_model()
    assert len(paramtui.apply_freeze(model, folder).frozen) == 16


# In-process: the pieces.


def test_edits_keep_command_line_order_and_prune_options() -> None:
    steps = [
        ("--prune", "a"),
        ("--amount", 0.3),
        ("--zero", "b"),
        ("--prune", "c"),
        ("--threshold", 0.1),
        ("--freeze", "d"),
    ]
    assert build_ops(steps) == [
        Prune("a", amount=0.3),
        Zero("b"),
        Prune("c", threshold=0.1),
        Freeze("d"),
    ]
    shared = [("--amount", 0.2), ("--global", "global"), ("--prune", "a"), ("--prune", "b")]
    assert build_ops(shared) == [
        Prune("a", amount=0.2, scope="global"),
        Prune("b", amount=0.2, scope="global"),
    ]
    structured = [("--prune", "w"), ("--amount", 0.5), ("--structured", 0), ("--norm", 2.0)]
    assert build_ops(structured) == [Prune("w", amount=0.5, structured_dim=0, norm=2.0)]
    with pytest.raises(UsageError):
        build_ops([("--prune", "a"), ("--amount", 0.1), ("--amount", 0.2)])
    with pytest.raises(UsageError):
        build_ops([("--zero", "a"), ("--threshold", 0.1)])


def test_parsed_command_line_order() -> None:
    from paramtui.cli import command_parser

    ns = command_parser().parse_args(
        [
            "edit",
            "in.pth",
            "out.pth",
            "--zero",
            "x",
            "--prune",
            "y",
            "--global",
            "--amount",
            "0.1",
            "--freeze",
            "z",
            "--unfreeze",
            "z.bias",
            "--make-permanent",
            "q",
        ]
    )
    ops = build_ops(ns.steps)
    assert [type(op).__name__ for op in ops] == [
        "Zero",
        "Prune",
        "Freeze",
        "Unfreeze",
        "MakePrunePermanent",
    ]
    assert ops[1] == Prune("y", amount=0.1, scope="global")


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("2GB", 2 * 10**9),
        ("500MB", 5 * 10**8),
        ("1.5GiB", 3 * 2**29),
        ("1000", 1000),
        ("64 kib", 65536),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "2 parsecs", "0"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(SaveRefused):
        parse_size(text)


def test_shards_keep_tied_names_together(demo: Path) -> None:
    session = paramtui.EditSession(paramtui.open_checkpoint(demo))
    for fmt in ("safetensors", "torch"):
        shards = plan_shards(session, fmt, 20_000)
        names = [n for shard in shards for n in shard]
        assert sorted(names) == sorted(session.names()) and len(shards) > 3
        order = session.names().index
        assert all(shard == sorted(shard, key=order) for shard in shards)  # file order within
        where = {n: i for i, shard in enumerate(shards) for n in shard}
        assert where["model.tok_emb.weight"] == where["model.lm_head.weight"]
        assert all(shards)


def test_lazy_exports_do_not_import_torch() -> None:
    code = (
        "import sys, paramtui\n"
        "names = [getattr(paramtui, n).__name__ for n in paramtui.__all__]\n"
        "print(sorted(m for m in ('torch', 'textual', 'rich') if m in sys.modules), len(names))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.split() == ["[]", str(len(paramtui.__all__))], proc.stderr
    assert paramtui.Freeze("x") == Freeze("x")
    assert paramtui.save.__module__ == "paramtui.io.save"


def test_help_names_edit_and_convert() -> None:
    top = run("--help").stdout
    assert "paramtui edit IN OUT" in top and "paramtui convert IN OUT" in top
    edit = run("edit", "--help").stdout
    for text in ("--freeze PATTERN", "--dry-run", "--structured DIM", "glob", "apply_freeze"):
        assert text in edit
    assert "--shard-size" in run("convert", "--help").stdout
