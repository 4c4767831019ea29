"""`--version`, `paramtui doctor` and `paramtui completion`: the scripts are sourced in the real
shells (bash always; zsh and fish where installed) and asked for completions."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import paramtui
import paramtui.cli as cli
from paramtui.cli import registry


def output(args: list[str], capsys: Any) -> str:
    assert cli.main(args) == 0
    return capsys.readouterr().out


def test_version(capsys: Any) -> None:
    assert output(["--version"], capsys) == f"paramtui {paramtui.__version__}\n"


def test_doctor_json_has_a_schema_and_every_section(
    capsys: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("PARAMTUI_CACHE", str(tmp_path))
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "demo-v1.pth").write_bytes(b"x" * 1000)
    doc = json.loads(output(["doctor", "--json"], capsys))
    assert doc["schema"] == "paramtui.doctor/1" and doc["paramtui"] == paramtui.__version__
    for package in ("torch", "textual", "rich", "numpy", "safetensors", "gguf"):
        assert doc["packages"][package]
    assert set(doc["extras"]) == {"gguf", "serve"}
    assert isinstance(doc["fast_paths"]["native_kernels"]["active"], bool)
    assert doc["fast_paths"]["gpu"]["cuda"] in (True, False)
    assert doc["caches"]["demo"] == {"path": str(tmp_path / "demo"), "files": 1, "bytes": 1000}
    assert doc["config"]["path"].endswith("config.toml")


def test_doctor_text_names_the_versions_and_caches(capsys: Any) -> None:
    text = output(["doctor"], capsys)
    assert "textual " in text and "kernels" in text and "caches" in text and "GPU" in text


def bash_complete(script: Path, words: list[str]) -> list[str]:
    """The completions bash offers after `words` (the last one being completed)."""
    line = " ".join(f"'{word}'" for word in words)
    program = (
        f"source {script}; complete -p paramtui; COMP_WORDS=({line}); "
        f"COMP_CWORD={len(words) - 1}; _paramtui; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    run = subprocess.run(["bash", "--norc", "-c", program], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    first, *rest = run.stdout.splitlines()
    assert first.startswith("complete ") and first.endswith("-F _paramtui paramtui")
    return rest


@pytest.fixture
def bash_script(tmp_path: Path, capsys: Any) -> Path:
    path = tmp_path / "paramtui.bash"
    path.write_text(output(["completion", "bash"], capsys))
    return path


def test_bash_completes_commands_options_and_choices(bash_script: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(bash_script.parent)
    assert set(bash_complete(bash_script, ["paramtui", ""])) >= {*registry.names(), "paramtui.bash"}
    assert bash_complete(bash_script, ["paramtui", "do"]) == ["doctor"]
    assert bash_complete(bash_script, ["paramtui", "doctor", "--"]) == ["--help", "--json"]
    assert bash_complete(bash_script, ["paramtui", "completion", "z"]) == ["zsh"]
    assert bash_complete(bash_script, ["paramtui", "--config", "para"]) == ["paramtui.bash"]
    assert "--serve" in bash_complete(bash_script, ["paramtui", "--s"])


def test_every_command_and_option_is_in_the_bash_script(bash_script: Path) -> None:
    text = bash_script.read_text()
    for command in registry.COMMANDS:
        assert f"        {command.name})" in text
    assert "--fail-on" in text and "--strip-prefix" in text


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_commands_and_choices(capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "paramtui.fish"
    path.write_text(output(["completion", "fish"], capsys))
    program = f"source {path}; complete -C 'paramtui doc'; complete -C 'paramtui completion '"
    fish = ["fish", "--no-config", "-c", program]
    run = subprocess.run(fish, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    words = [line.split("\t")[0] for line in run.stdout.splitlines()]
    assert words == ["doctor", "bash", "fish", "zsh"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_registers_the_completion(capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "_paramtui"
    path.write_text(output(["completion", "zsh"], capsys))
    run = subprocess.run(
        ["zsh", "-f", "-c", f"source {path}; complete -p paramtui"],
        capture_output=True, text=True, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "-F _paramtui paramtui" in run.stdout
