"""CLI contract tests: every subcommand in a subprocess, --json schemas, exit codes, errors."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import save_file

import paramtui.cli as cli
from checkpoints import saved_as_device, training_checkpoint

MARKUP_NAME = "[bold]x"
ESCAPE_NAME = "evil\x1b[31m.weight"


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "paramtui", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    tensors = {
        "layers.10.weight": torch.randn(4, 4, dtype=torch.bfloat16),
        "layers.2.weight": torch.randn(4, 4),
        "layers.2.bias": torch.zeros(4),
        MARKUP_NAME: torch.ones(3),
        ESCAPE_NAME: torch.arange(2),
    }
    st = folder / "m.safetensors"
    save_file(tensors, st, metadata={"format": "pt", "note": "[red]hi"})
    pth = folder / "train.pth"
    with saved_as_device("cuda:0"):
        torch.save(training_checkpoint(), pth)
    garbage = folder / "garbage.bin"
    garbage.write_bytes(b"this is not a checkpoint at all\n" * 10)
    truncated = folder / "truncated.safetensors"
    truncated.write_bytes(st.read_bytes()[:-20])  # header intact, data cut short
    return {"st": st, "pth": pth, "garbage": garbage, "truncated": truncated}


def assert_one_paragraph_error(proc: subprocess.CompletedProcess[str], code: int = 2) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("paramtui: error: ")
    assert proc.stderr.strip().count("\n") == 0  # one paragraph, one line


def test_summary_table(files: dict[str, Path]) -> None:
    proc = run("summary", str(files["st"]))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    for text in ("safetensors", "bfloat16", "float32", "int64", "layers", "[red]hi"):
        assert text in proc.stdout
    assert MARKUP_NAME in proc.stdout  # rendered literally, not as markup
    assert "\x1b" not in proc.stdout  # the hostile name is escaped, and no styling when piped
    assert "evil\\x1b[31m" in proc.stdout


def test_summary_json(files: dict[str, Path]) -> None:
    proc = run("summary", str(files["st"]), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "paramtui.summary/2"
    assert doc["format"] == "safetensors"
    assert doc["num_tensors"] == 5
    assert doc["total_numel"] == 16 + 16 + 4 + 3 + 2
    assert doc["parameter_numel"] == 16 + 16 + 4
    assert {d["name"]: d["tensors"] for d in doc["dtypes"]} == {
        "float32": 3,
        "bfloat16": 1,
        "int64": 1,
    }
    assert (
        sum(d["nbytes"] for d in doc["dtypes"]) == doc["logical_nbytes"] == 32 + 64 + 16 + 12 + 16
    )
    assert [m["name"] for m in doc["modules"]] == [MARKUP_NAME, "evil\x1b[31m", "layers"]
    assert doc["file_metadata"] == {"format": "pt", "note": "[red]hi"}


def test_ls_json_matches_the_file(files: dict[str, Path]) -> None:
    proc = run("ls", str(files["st"]), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "paramtui.ls/1"
    assert doc["format"] == "safetensors"
    from safetensors.torch import load_file

    oracle = load_file(files["st"])
    rows = {row["name"]: row for row in doc["tensors"]}
    assert set(rows) == set(oracle)
    for name, tensor in oracle.items():
        row = rows[name]
        assert row["shape"] == list(tensor.shape)
        assert row["dtype"] == str(tensor.dtype).removeprefix("torch.")
        assert row["nbytes"] == tensor.numel() * tensor.element_size()
        assert row["numel"] == tensor.numel()
        assert row["device"] is None  # safetensors does not record devices
        assert row["requires_grad"] is None
        assert row["contiguous"] is True
        assert row["shared_with"] == []
    assert len({row["storage"] for row in doc["tensors"]}) == 5


def test_ls_json_of_a_gpu_training_checkpoint(files: dict[str, Path]) -> None:
    proc = run("ls", str(files["pth"]), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["format"] == "torch zip"
    rows = {row["name"]: row for row in doc["tensors"]}
    assert {row["device"] for row in doc["tensors"]} == {"cuda:0"}
    head, embed = rows["model.head.weight"], rows["model.embed.weight"]
    assert head["storage"] == embed["storage"]
    assert head["shared_with"] == ["model.embed.weight"]
    assert rows["optimizer.state.0.exp_avg"]["role"] == "optimizer state"
    assert rows["model.bn.running_mean"]["role"] == "buffer"
    assert rows["model.layers.3.weight"]["shape"] == [6, 6]


def test_ls_table(files: dict[str, Path]) -> None:
    proc = run("ls", str(files["st"]))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:5] == ["NAME", "SHAPE", "DTYPE", "DEVICE", "SIZE"]
    names = [line.split()[0] for line in lines[1:]]
    assert sorted(names) == sorted(
        [
            "layers.10.weight",
            "layers.2.weight",
            "layers.2.bias",
            MARKUP_NAME,
            "evil\\x1b[31m.weight",
        ]
    )
    row = next(line for line in lines if line.startswith("layers.10.weight"))
    assert row.split()[1:3] == ["4×4", "bfloat16"]
    assert "\x1b" not in proc.stdout


def test_ls_table_shows_ties_and_devices(files: dict[str, Path]) -> None:
    proc = run("ls", str(files["pth"]))
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("model.head.weight"))
    assert "cuda:0" in row
    assert row.endswith("model.embed.weight")


def test_summary_of_a_training_checkpoint(files: dict[str, Path]) -> None:
    proc = run("summary", str(files["pth"]), "--json")
    doc = json.loads(proc.stdout)
    assert [m["name"] for m in doc["modules"]] == ["model", "optimizer"]
    assert doc["devices"] == [{"device": "cuda:0", "tensors": doc["num_tensors"]}]
    assert doc["shared_groups"] == 1
    assert {m["name"] for m in doc["metadata"]} >= {"epoch", "step", "hparams.lr"}
    table = run("summary", str(files["pth"])).stdout
    assert "epoch" in table and "optimizer state" in table and "cuda:0" in table


@pytest.mark.parametrize("command", ["summary", "ls"])
@pytest.mark.parametrize("kind", ["missing", "garbage", "truncated"])
def test_unusable_input_exits_2_with_one_paragraph(
    files: dict[str, Path], command: str, kind: str, tmp_path: Path
) -> None:
    path = tmp_path / "nope.pth" if kind == "missing" else files[kind]
    proc = run(command, str(path))
    assert_one_paragraph_error(proc)
    assert str(path) in proc.stderr
    assert proc.stdout == ""


def test_errors_under_json_are_json(files: dict[str, Path]) -> None:
    proc = run("ls", str(files["garbage"]), "--json")
    assert_one_paragraph_error(proc)
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "paramtui.error/1"
    assert doc["exit_code"] == 2
    assert str(files["garbage"]) in doc["error"]


def test_tui_on_a_missing_file_fails_before_starting(tmp_path: Path) -> None:
    assert_one_paragraph_error(run(str(tmp_path / "nope.pth")))


def test_usage_errors() -> None:
    proc = run()
    assert proc.returncode == 2
    assert "paramtui demo" in proc.stderr
    proc = run("ls")
    assert proc.returncode == 2 and "PATH" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("ls", "x.pth", "--bogus", "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["schema"] == "paramtui.error/1"


def test_version_and_help() -> None:
    from paramtui import __version__

    assert run("--version").stdout.strip() == f"paramtui {__version__}"
    help_text = run("--help").stdout
    for text in ("summary", "ls", "demo", "safetensors", "never runs code", "exit codes", "130"):
        assert text in help_text


def test_a_file_named_like_a_command(files: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "summary").write_bytes(files["st"].read_bytes())
    proc = run("summary", cwd=tmp_path)
    assert proc.returncode == 2 and "./summary" in proc.stderr
    assert run("summary", "summary", "--json", cwd=tmp_path).returncode == 0


def test_output_closed_early_is_quiet(tmp_path: Path) -> None:
    path = tmp_path / "many.safetensors"
    save_file({f"layers.{i}.weight": torch.zeros(1) for i in range(20000)}, path)
    script = f"set -o pipefail; {sys.executable} -m paramtui ls {path} | head -n 2"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.stdout.splitlines()[0].startswith("NAME")
    assert proc.stderr == ""
    assert proc.returncode in (0, 141)


def test_safetensors_commands_do_not_import_torch(files: dict[str, Path]) -> None:
    code = (
        "import sys, contextlib, io\n"
        "from paramtui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['ls', {str(files['st'])!r}]) == 0\n"
        f"    assert main(['summary', {str(files['st'])!r}, '--json']) == 0\n"
        "print(sorted(m for m in ('torch', 'textual') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_demo_path(tmp_path: Path) -> None:
    env = {"PARAMTUI_CACHE": str(tmp_path)}
    first = run("demo", "--path", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"{tmp_path / 'demo' / 'demo-v1.pth'}\n"
    assert "demo checkpoint" in first.stderr  # progress goes to stderr
    second = run("demo", "--path", env=env)
    assert second.stdout == first.stdout and second.stderr == ""
    summary = json.loads(run("summary", first.stdout.strip(), "--json").stdout)
    assert summary["format"] == "torch zip"
    assert [m["name"] for m in summary["modules"]] == ["model", "optimizer"]


# In-process tests of dispatch and of failures that a subprocess cannot provoke.


def test_paths_go_to_the_tui(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(cli, "open_tui", lambda p, config=None: opened.append(p) or 0)
    assert cli.main(["model.pth"]) == 0
    assert cli.main(["./summary"]) == 0
    assert cli.main(["--", "ls"]) == 0
    assert opened == ["model.pth", "./summary", "ls"]


def test_internal_errors_have_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(ns: object) -> int:
        raise RuntimeError("kaput")

    monkeypatch.setattr("paramtui.cli.commands.ls.run", boom)
    monkeypatch.delenv("PARAMTUI_DEBUG", raising=False)
    assert cli.main(["ls", "x.pth"]) == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "kaput" in err and "PARAMTUI_DEBUG=1" in err
    assert "Traceback" not in err
    monkeypatch.setenv("PARAMTUI_DEBUG", "1")
    assert cli.main(["ls", "x.pth", "--json"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" in err
    assert json.loads(out)["exit_code"] == 1


def test_interrupt_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(ns: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("paramtui.cli.commands.summary.run", interrupted)
    assert cli.main(["summary", "x.pth"]) == 130
    assert "Traceback" not in capsys.readouterr().err


# The render helpers the CLI is built on.


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 << 20, "5.0 MiB"),
        (300 << 30, "300 GiB"),
        (3 << 50, "3.0 PiB"),
    ],
)
def test_human_bytes(n: int, text: str) -> None:
    from paramtui.render.format import human_bytes

    assert human_bytes(n) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [(999, "999"), (1000, "1.0K"), (1_300_000, "1.3M"), (211_841, "212K"), (7_000_000_000, "7.0B")],
)
def test_human_count(n: int, text: str) -> None:
    from paramtui.render.format import human_count

    assert human_count(n) == text


def test_safe_text_escapes_control_and_bidi_characters() -> None:
    from paramtui.render.format import safe_text

    assert safe_text("layers.0.weight") == "layers.0.weight"
    assert safe_text("[bold]x y") == "[bold]x y"
    assert safe_text("a\x1b[31mb\nc\u202ed") == "a\\x1b[31mb\\x0ac\\u202ed"


@given(st.lists(st.dictionaries(st.text(), st.text() | st.integers() | st.none()), max_size=4))
def test_write_json_round_trips(rows: list[dict[str, object]]) -> None:
    from paramtui.render.json_out import write_json

    for doc in ({"schema": "s", "tensors": rows}, {"tensors": rows}):
        out = io.StringIO()
        write_json(doc, out)
        assert json.loads(out.getvalue()) == doc
        assert out.getvalue().isascii()
