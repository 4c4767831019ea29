"""`python scripts/screenshots.py OUTDIR`: the README's screenshots, generated, never drawn.

Drives the real app on the demo checkpoint with run_test() and writes deterministic SVGs:
main.svg (a tensor with its statistics), filter.svg (the tree filtered by name), help.svg,
edit.svg (edit markers and the prune dialog's preview), edit-log.svg (the edit log),
histogram.svg (`h`), values.svg (`v`, the value grid) and scan.svg (`S`, the health scan, on a
copy of the demo with a NaN, an all-zero projection and a dead row planted)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from paramtui.tui.app import ParamtuiApp
from paramtui.tui.widgets.module_tree import ModuleTree

SIZE = (120, 40)
MAIN_TENSOR = "model.tok_emb.weight"  # tied with lm_head: the pane shows the sharing
HISTOGRAM_TENSOR = "model.blocks.1.mlp.fc1.weight"
FILTER_TEXT = "fc1"
EDITS = {
    "freeze": "model.blocks.0",
    "zero": "model.blocks.1.attn.q_proj.weight",
    "prune": "model.blocks.1.mlp.fc1.weight",
}

Scene = Callable[[Pilot[int]], Awaitable[None]]


async def settle(pilot: Pilot[int], until: Callable[[], bool], timeout: float = 30.0) -> None:
    """Run the app until `until()` holds, then let the screen repaint."""
    for _ in range(int(timeout / 0.05)):
        if until():
            break
        await pilot.pause(0.05)
    else:
        raise TimeoutError("the app did not reach the state to photograph")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def tree_ready(pilot: Pilot[int]) -> ModuleTree:
    tree = pilot.app.screen.query_one(ModuleTree)
    await settle(pilot, lambda: tree.created_count > 0)
    return tree


async def main_scene(pilot: Pilot[int]) -> None:
    app = pilot.app
    assert isinstance(app, ParamtuiApp)
    tree = await tree_ready(pilot)
    tree.reveal("model.blocks.0.attn.q_proj.weight")  # some depth around the tensor
    tree.reveal(MAIN_TENSOR)
    await settle(pilot, lambda: app.workspace.stats(MAIN_TENSOR) is not None)


async def filter_scene(pilot: Pilot[int]) -> None:
    await tree_ready(pilot)
    await pilot.press("slash", *FILTER_TEXT, "enter")
    await settle(pilot, lambda: getattr(pilot.app.screen, "applied_filter", "") == FILTER_TEXT)


async def help_scene(pilot: Pilot[int]) -> None:
    await tree_ready(pilot)
    await pilot.press("f1")
    await settle(pilot, lambda: True)


async def edit_at(pilot: Pilot[int], path: str, *keys: str) -> None:
    """Put the cursor on `path`, press `keys`, wait for the edit to finish."""
    app = pilot.app
    assert isinstance(app, ParamtuiApp)
    app.screen.query_one(ModuleTree).reveal(path)
    await pilot.press(*keys)
    await settle(pilot, lambda: not getattr(app.screen, "busy", False))


async def some_edits(pilot: Pilot[int]) -> None:
    """Freeze the first block, zero one projection, prune an MLP layer by 30%."""
    app = pilot.app
    assert isinstance(app, ParamtuiApp)
    await tree_ready(pilot)
    await settle(pilot, lambda: app.workspace.session is not None)
    await edit_at(pilot, EDITS["freeze"], "f")
    await edit_at(pilot, EDITS["zero"], "z")
    await edit_at(pilot, EDITS["prune"], "p")
    await settle(pilot, lambda: getattr(app.screen, "preview", None) is not None)


async def edit_scene(pilot: Pilot[int]) -> None:
    await some_edits(pilot)
    pilot.app.clear_notifications()
    await settle(pilot, lambda: True)


async def log_scene(pilot: Pilot[int]) -> None:
    await some_edits(pilot)
    await pilot.press("enter")  # apply the prune
    app = pilot.app
    assert isinstance(app, ParamtuiApp)
    await settle(
        pilot, lambda: app.workspace.session is not None and len(app.workspace.session.log) == 3
    )
    await pilot.press("u", "l")  # one undone edit shows how the log marks it
    app.clear_notifications()
    await settle(pilot, lambda: True)


async def view_at(pilot: Pilot[int], path: str, key: str, ready: Callable[[Any], bool]) -> None:
    """Put the cursor on `path`, press `key`, wait until the view on top is `ready`."""
    app = pilot.app
    (await tree_ready(pilot)).reveal(path)
    before = app.screen
    await pilot.press(key)
    await settle(pilot, lambda: app.screen is not before and ready(app.screen), timeout=60)


async def histogram_scene(pilot: Pilot[int]) -> None:
    await view_at(pilot, HISTOGRAM_TENSOR, "h", lambda s: getattr(s, "stats", None) is not None)


async def values_scene(pilot: Pilot[int]) -> None:
    await view_at(pilot, MAIN_TENSOR, "v", lambda s: getattr(s, "source", None) is not None)
    await pilot.press("g", *"9,3", "enter")
    await settle(pilot, lambda: True)


def damaged_demo(demo: str, outdir: str) -> str:
    """A copy of the demo with anomalies planted, for the scan's screenshot."""
    import torch

    state = torch.load(demo, weights_only=True)
    model = state["model"]
    with torch.no_grad():
        model["blocks.1.attn.q_proj.weight"][3, 5] = float("nan")
        model["blocks.2.attn.v_proj.weight"].zero_()
        model["blocks.3.mlp.fc1.weight"][7].zero_()
    path = os.path.join(outdir, "demo-damaged.pth")
    torch.save(state, path)
    return path


async def scan_scene(pilot: Pilot[int]) -> None:
    await view_at(pilot, "", "S", lambda s: getattr(s, "report", None) is not None)
    screen: Any = pilot.app.screen  # the elapsed time varies from run to run: show a fixed one
    screen.show_report(dataclasses.replace(screen.report, elapsed_s=0.8))
    await settle(pilot, lambda: True)


SCENES: dict[str, Scene] = {
    "main.svg": main_scene,
    "filter.svg": filter_scene,
    "help.svg": help_scene,
    "edit.svg": edit_scene,
    "edit-log.svg": log_scene,
    "histogram.svg": histogram_scene,
    "values.svg": values_scene,
    "scan.svg": scan_scene,
}
DAMAGED_SCENES = {"scan.svg"}


async def shoot(path: str, scene: Scene, target: str) -> None:
    from paramtui.core.open import open_checkpoint

    app = ParamtuiApp(open_checkpoint(path))
    async with app.run_test(size=SIZE) as pilot:
        await scene(pilot)
        app.save_screenshot(os.path.basename(target), path=os.path.dirname(target) or ".")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python scripts/screenshots.py OUTDIR", file=sys.stderr)
        return 2
    from paramtui.demo import build_demo

    outdir = args[0]
    os.makedirs(outdir, exist_ok=True)
    demo = build_demo()
    with tempfile.TemporaryDirectory() as scratch:
        damaged = damaged_demo(demo, scratch)
        for name, scene in SCENES.items():
            source = damaged if name in DAMAGED_SCENES else demo
            asyncio.run(shoot(source, scene, os.path.join(outdir, name)))
            print(os.path.join(outdir, name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
