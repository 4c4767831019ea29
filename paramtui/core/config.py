"""The user's config file: where it is, what it may hold, and reading it into a `Config`.

`$XDG_CONFIG_HOME/paramtui/config.toml` (else `~/.config/paramtui/config.toml`), or the file
given with `--config`. A missing default file is no error (every value has a default); a bad
file is a `ConfigError` that names the file and the line. Applying the values (keymap, theme,
split width) is the TUI's job; this module only reads them.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paramtui.core.errors import UnusableInput

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

SAVE_FORMATS = ("safetensors", "pth")
DETAIL_WIDTH_RANGE = (20, 80)  # percent of the screen's width

EXAMPLE = """\
# paramtui's config file (every setting is optional).
# Where paramtui looks for it: `paramtui config --path`.

# A Textual theme: textual-dark, textual-light, nord, gruvbox, dracula, monokai, ...
theme = "textual-dark"

[layout]
# The detail pane's share of the screen's width, in percent (20-80).
detail_width = 50

[save]
# The format the save dialog proposes: "safetensors" or "pth" (the source's own by default).
format = "safetensors"

[keymap]
# Binding id = keys, comma-separated (Textual's key names). `paramtui config --keys` lists
# the ids with their keys now.
# "main.filter" = "slash,ctrl+f"
# "app.quit" = "q,ctrl+q"
"""


class ConfigError(UnusableInput):
    """The config file cannot be used: not TOML, an unknown setting or a wrong type."""


@dataclass(frozen=True)
class Config:
    path: str | None = None  # the file these values came from (None: the defaults)
    theme: str | None = None
    detail_width: int | None = None
    save_format: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "paramtui" / "config.toml"


def load_config(path: str | None = None) -> Config:
    """The config at `path` (which must exist), else at default_path() when it exists."""
    if path is None:
        if not default_path().is_file():
            return Config()
        path = str(default_path())
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}.") from None
    return parse_config(text, path)


def parse_config(text: str, path: str) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML ({exc}). Fix that line, or run "
            "`paramtui config --example` to see a valid file."
        ) from None
    return _Reader(text, path).read(data)


def setting_error(config: Config, table: str, key: str, what: str) -> ConfigError:
    """An error about a value that only a later floor can judge (the theme's name is the TUI's)."""
    path = config.path or str(default_path())
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    return _Reader(text, path).error(table, key, what)


class _Reader:
    """Checks each table and setting against the schema, naming the line of the first bad one."""

    def __init__(self, text: str, path: str) -> None:
        self.lines, self.path = text.splitlines(), path

    def read(self, data: dict[str, Any]) -> Config:
        self._only(data, {"theme", "layout", "save", "keymap"}, "")
        layout = self._table(data, "layout", {"detail_width"})
        save = self._table(data, "save", {"format"})
        keymap = self._table(data, "keymap", None)
        for binding_id, keys in keymap.items():
            self._check(
                isinstance(keys, str), "keymap", binding_id, 'a string of keys ("f,ctrl+f")'
            )
        return Config(
            path=self.path,
            theme=self._string(data, "", "theme"),
            detail_width=self._width(layout),
            save_format=self._choice(save, "save", "format", SAVE_FORMATS),
            keymap=dict(keymap),
        )

    def _table(self, data: dict[str, Any], name: str, known: set[str] | None) -> dict[str, Any]:
        table = data.get(name, {})
        self._check(isinstance(table, dict), "", name, f"a table ([{name}])")
        if known is not None:
            self._only(table, known, name)
        return dict(table)

    def _only(self, table: dict[str, Any], known: set[str], name: str) -> None:
        for key in table:
            if key not in known:
                where = f" in [{name}]" if name else ""
                self._fail(name, key, f"unknown setting '{key}'{where}", sorted(known))

    def _string(self, table: dict[str, Any], name: str, key: str) -> str | None:
        value = table.get(key)
        self._check(value is None or isinstance(value, str), name, key, "a string")
        return value

    def _choice(
        self, table: dict[str, Any], name: str, key: str, choices: tuple[str, ...]
    ) -> str | None:
        value = self._string(table, name, key)
        self._check(value is None or value in choices, name, key, " or ".join(choices))
        return value

    def _width(self, layout: dict[str, Any]) -> int | None:
        value = layout.get("detail_width")
        low, high = DETAIL_WIDTH_RANGE
        fits = value is None or (type(value) is int and low <= value <= high)
        self._check(fits, "layout", "detail_width", f"a whole number from {low} to {high}")
        return value

    def error(self, name: str, key: str, what: str) -> ConfigError:
        line = self._line_of(name, key)
        at = f"{self.path}, line {line}" if line else self.path
        return ConfigError(f"{at}: {what}. Fix the file, or see `paramtui config --example`.")

    def _check(self, ok: bool, name: str, key: str, wanted: str) -> None:
        if not ok:
            self._fail(name, key, f"'{key}' must be {wanted}", None)

    def _fail(self, name: str, key: str, what: str, known: list[str] | None) -> None:
        hint = f". Known settings here: {', '.join(known)}" if known else ""
        raise self.error(name, key, what + hint)

    def _line_of(self, name: str, key: str) -> int | None:
        """The line that sets `key` in table `name` ("" for the top level), else None."""
        table = ""
        setting = re.compile(rf"""\s*(["']?){re.escape(key)}\1\s*=""")
        header = re.compile(r"\s*\[\s*([^\]]+?)\s*\]")
        for number, line in enumerate(self.lines, start=1):
            found = header.match(line)
            if found:
                table = found.group(1).strip("\"'")
                if table == key and not name:
                    return number
            elif table == name and setting.match(line):
                return number
        return None
