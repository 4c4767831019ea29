"""The embedded demo checkpoint: a tiny transformer language model, really trained for a bit.

`build_demo()` builds it once (deterministically, in seconds) and caches it. torch is imported
only when a build is needed or `DemoModel` / `demo_model` is used, so `import paramtui.demo` is
cheap."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paramtui.demo.model import DemoConfig, DemoModel

__all__ = ["build_demo", "default_demo_path", "demo_model", "DemoModel", "DemoConfig"]

DEMO_FILE = "demo-v1.pth"  # bump the version when the model or the training changes


def default_demo_path() -> str:
    """$PARAMTUI_CACHE/demo/demo-v1.pth, else $XDG_CACHE_HOME/paramtui/..., else ~/.cache/..."""
    root = os.environ.get("PARAMTUI_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(xdg, "paramtui")
    return os.path.join(root, "demo", DEMO_FILE)


def build_demo(path: str | None = None, *, progress: Callable[[str], None] | None = None) -> str:
    """The path of the demo checkpoint, built first if it is not there yet."""
    target = path or default_demo_path()
    if os.path.isfile(target):
        return target
    report = progress or _to_stderr
    report(f"building the demo checkpoint (once) at {target}")
    from paramtui.demo.build import build

    build(target, report)
    return target


def demo_model() -> DemoModel:
    """A fresh (untrained) model with the demo's architecture, ready for load_state_dict."""
    from paramtui.demo.model import DemoModel

    return DemoModel()


def _to_stderr(message: str) -> None:
    print(f"paramtui: {message}", file=sys.stderr, flush=True)


def __getattr__(name: str) -> Any:
    if name in {"DemoModel", "DemoConfig"}:
        from paramtui.demo import model

        return getattr(model, name)
    raise AttributeError(f"module 'paramtui.demo' has no attribute {name!r}")
