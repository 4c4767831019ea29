"""Shared builders and Pilot helpers for the TUI tests (plain module: no fixtures here)."""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import torch
from rich.console import Console, RenderableType
from safetensors.torch import save_file
from textual.pilot import Pilot
from textual.widgets import Static

from paramtui.core.model import CheckpointIndex, TensorInfo
from paramtui.tui.app import ParamtuiApp
from paramtui.tui.widgets.detail_pane import DetailPane
from paramtui.tui.widgets.module_tree import ModuleTree

SIZE = (120, 40)


def asynctest(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test with asyncio.run (the suite has no async pytest plugin)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return run


def write_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Twelve layers (so natural order matters), a bf16 tensor, a head, and file metadata."""
    gen = torch.Generator().manual_seed(7)
    state: dict[str, torch.Tensor] = {}
    for i in range(12):
        state[f"layers.{i}.weight"] = torch.randn(8, 8, generator=gen)
        state[f"layers.{i}.bias"] = torch.randn(8, generator=gen)
    state["embed.weight"] = torch.randn(16, 8, generator=gen).to(torch.bfloat16)
    state["lm_head.weight"] = torch.randn(16, 8, generator=gen)
    save_file(state, path, metadata={"format": "pt", "note": "[bold]not markup[/]"})
    return state


def synthetic_index(layers: int, experts: int, per_expert: int) -> CheckpointIndex:
    """A MoE-sized index (no file behind it): layers × experts × per_expert tensors."""
    tensors = {}
    for layer in range(layers):
        for expert in range(experts):
            for k in range(per_expert):
                name = f"model.layers.{layer}.mlp.experts.{expert}.w{k}"
                tensors[name] = TensorInfo(
                    name, (4, 4), "bfloat16", "cuda:0", (4, 1), 0, name, None
                )
    return CheckpointIndex("/nowhere/moe.safetensors", "safetensors", tensors)


def plain(renderable: RenderableType | str, width: int = 100) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def detail_text(app: ParamtuiApp) -> str:
    """Everything the detail pane shows, as plain text."""
    pane = app.screen.query_one(DetailPane)
    shown = [s for s in pane.query(Static) if all(w.display for w in s.ancestors_with_self[:-2])]
    return "\n".join(plain(static.content) for static in shown)


def tree_of(app: ParamtuiApp) -> ModuleTree:
    return app.screen.query_one(ModuleTree)


async def wait_for(pilot: Pilot[int], predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Let the app run until `predicate()` holds (workers finish on their own threads)."""
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting for the app")


async def wait_for_tree(pilot: Pilot[int]) -> ModuleTree:
    await wait_for(pilot, lambda: bool(pilot.app.screen.query(ModuleTree)))
    tree = tree_of(pilot.app)
    await wait_for(pilot, lambda: tree.created_count > 0)
    await pilot.pause()
    return tree


async def navigate(pilot: Pilot[int], path: str, limit: int = 300) -> None:
    """Move the cursor to `path` with the keyboard alone: right expands, down moves."""
    tree = tree_of(pilot.app)
    for _ in range(limit):
        node = tree.cursor_node
        assert node is not None and node.data is not None
        here = node.data.path
        if here == path:
            return
        on_the_way = here == "" or path.startswith(here + ".")
        await pilot.press("right" if on_the_way and not node.is_expanded else "down")
    raise AssertionError(f"could not reach {path!r} with the keyboard")


def screen_text(app: ParamtuiApp) -> str:
    """The whole screen (modal dialogs over the main screen included) as plain text."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True,
                      color_system=None, legacy_windows=False, safe_box=False)  # fmt: skip
    render = app.screen._compositor.render_update(  # the same call export_screenshot makes
        full=True, screen_stack=app._background_screens
    )
    console.print(render)
    return console.export_text()
