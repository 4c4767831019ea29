"""Run in a fresh process by bench/run.py: time to first screen and to a finished tree.

Prints one JSON line: seconds since the process started (PARAMTUI_T0, time.time() taken by the
parent just before it started us) when the first screen was painted and when the module tree
showed its first level. With `--baseline` it paints a bare Textual app instead."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

T0 = float(os.environ["PARAMTUI_T0"])


def since_start() -> float:
    return time.time() - T0


def run_baseline() -> dict[str, float]:
    from textual.app import App
    from textual.widgets import Static

    marks: dict[str, float] = {}

    class Bare(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield Static("hello")

        def on_mount(self) -> None:
            self.call_after_refresh(self.painted)

        def painted(self) -> None:
            marks["first_screen"] = since_start()
            self.exit()

    Bare().run(headless=True, size=(120, 40))
    return marks


def run_paramtui(path: str) -> dict[str, float]:
    from paramtui.core.open import open_checkpoint
    from paramtui.tui.app import ParamtuiApp
    from paramtui.tui.widgets.module_tree import ModuleTree

    CSS = "paramtui.tcss"
    marks: dict[str, float] = {}
    index = open_checkpoint(path)
    marks["indexed"] = since_start()

    class Timed(ParamtuiApp):
        CSS_PATH = str(Path(sys.modules[ParamtuiApp.__module__].__file__ or "").parent / CSS)

        def on_mount(self) -> None:
            self.call_after_refresh(self.painted)
            self.set_interval(0.002, self.poll_tree)

        def painted(self) -> None:
            marks.setdefault("first_screen", since_start())

        def poll_tree(self) -> None:
            tree = self.screen.query(ModuleTree)
            if tree and tree.first().root.children and "first_screen" in marks:
                self.call_after_refresh(self.tree_painted)

        def tree_painted(self) -> None:
            if "tree" not in marks:
                marks["tree"] = since_start()
                marks["torch_imported_at_tree"] = float("torch" in sys.modules)
                self.exit()

    Timed(index).run(headless=True, size=(120, 40))
    return marks


if __name__ == "__main__":
    result = run_baseline() if sys.argv[1] == "--baseline" else run_paramtui(sys.argv[1])
    print(json.dumps(result))
