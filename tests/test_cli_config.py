"""The user config file: where it is looked for, what a bad one says, and what the app makes
of a good one (theme, keymap, split width, save format)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

import paramtui.cli as cli
from paramtui.core.config import EXAMPLE, ConfigError, default_path, load_config, parse_config
from paramtui.tui.app import ParamtuiApp
from tui_helpers import asynctest


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return str(path)


def test_the_default_path_follows_xdg(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_path() == tmp_path / "paramtui" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".config" / "paramtui" / "config.toml"


def test_no_file_at_the_default_path_means_the_defaults(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_config()
    assert config.path is None and config.theme is None and config.keymap == {}


def test_the_example_is_a_valid_config() -> None:
    config = parse_config(EXAMPLE, "example.toml")
    assert config.theme == "textual-dark" and config.detail_width == 50
    assert config.save_format == "safetensors"


def test_a_good_file_gives_its_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'theme = "nord"\n[layout]\ndetail_width = 60\n[save]\nformat = "pth"\n'
        '[keymap]\n"main.filter" = "slash,ctrl+f"\n',
    )
    config = load_config(path)
    assert (config.theme, config.detail_width, config.save_format) == ("nord", 60, "pth")
    assert config.keymap == {"main.filter": "slash,ctrl+f"}


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("theme = nord\n", "is not valid TOML (Invalid value (at line 1"),
        ('theme = "nord"\ncolour = 3\n', "line 2: unknown setting 'colour'"),
        ("[layout]\n\ndetail_width = 95\n", "line 3: 'detail_width' must be a whole number"),
        ('[layout]\ndetail_width = "wide"\n', "line 2: 'detail_width' must be a whole"),
        ('[save]\nformat = "onnx"\n', "line 2: 'format' must be safetensors or pth"),
        ('[save]\nformats = "pth"\n', "line 2: unknown setting 'formats' in [save]"),
        ("[keymap]\n'main.filter' = 3\n", "line 2: 'main.filter' must be a string of keys"),
        ("layout = 3\n", "line 1: 'layout' must be a table"),
    ],
)
def test_a_bad_file_names_the_file_and_line(tmp_path: Path, text: str, wanted: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(path)
    assert wanted in str(caught.value)


def test_a_bad_config_is_one_paragraph_and_exit_2_not_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "[layout]\ndetail_width = true\n")
    target = tmp_path / "x.safetensors"
    save_file({"w": torch.zeros(2)}, target)
    run = subprocess.run(
        [sys.executable, "-m", "paramtui", "--config", path, str(target)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert f"{path}, line 2: 'detail_width'" in run.stderr


def test_config_path_example_and_keys(capsys: Any, monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert cli.main(["config", "--path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "paramtui" / "config.toml")
    assert cli.main(["config", "--example"]) == 0
    assert capsys.readouterr().out == EXAMPLE
    assert cli.main(["config", "--keys"]) == 0
    keys = capsys.readouterr().out
    assert "main.filter" in keys and "app.quit" in keys and "edit.freeze" in keys


def test_config_checks_a_file(capsys: Any, tmp_path: Path) -> None:
    path = write(tmp_path, 'theme = "nord"\n')
    assert cli.main(["config", "--config", path]) == 0
    assert "theme = 'nord'" in capsys.readouterr().out
    assert cli.main(["config", "--config", write(tmp_path, "theme = 1\n")]) == 2
    assert "line 1: 'theme' must be a string" in capsys.readouterr().err


def small_index(tmp_path: Path) -> Any:
    from paramtui.core.open import open_checkpoint

    target = tmp_path / "x.safetensors"
    save_file({"layer.weight": torch.zeros(2, 2)}, target)
    return open_checkpoint(str(target))


@asynctest
async def test_the_app_applies_theme_keymap_width_and_save_format(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'theme = "nord"\n[layout]\ndetail_width = 65\n[save]\nformat = "pth"\n'
        '[keymap]\n"main.filter" = "ctrl+f"\n',
    )
    app = ParamtuiApp(small_index(tmp_path), load_config(path))
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.theme == "nord"
        assert app.split.percent == 65 and app.default_save_format == "pth"
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "filter"


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ('\ntheme = "no-such-theme"\n', "line 2: unknown theme 'no-such-theme'"),
        ('[keymap]\n"main.nope" = "x"\n', "line 2: no binding has the id 'main.nope'"),
    ],
)
def test_names_only_the_app_knows_are_config_errors(tmp_path: Path, text: str, wanted: str) -> None:
    with pytest.raises(ConfigError, match=wanted):
        ParamtuiApp(small_index(tmp_path), load_config(write(tmp_path, text)))
