"""The checks that need a CUDA device, in one short script for a session that has one.

    python bench/gpu_check.py [OUT_DIR]     (on a machine without CUDA it runs them on the CPU)

Each check prints one line, "ok" or "FAIL" with what differed; the exit status is the number of
failures. What it covers: a checkpoint saved from CUDA tensors by torch.save (devices shown,
statistics, an edit saved back and loaded onto the GPU, untouched tensors bit-identical), a
snapshot of a model trained on the GPU, statistics of a live CUDA tensor against the same values
on the CPU (and how much host memory that took), and the live TUI (paramtui.browse's app) on a
CUDA model: freeze and zero written into the model on its device.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

import paramtui
from paramtui.analysis.stats.compute import compute_stats, tensor_stats
from paramtui.edits.ops import Zero
from paramtui.edits.session import EditSession
from paramtui.io.save import save

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
failures: list[str] = []


def check(name: str, test: Callable[[], str | None]) -> None:
    start = time.perf_counter()
    try:
        problem = test()
    except Exception as exc:  # noqa: BLE001 - report and go on to the next check
        problem = f"{type(exc).__name__}: {exc}"
    took = time.perf_counter() - start
    verdict = "ok  " if problem is None else "FAIL"
    print(f"{verdict} {name} ({took:.2f} s){': ' + problem if problem else ''}")
    if problem is not None:
        failures.append(name)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc, self.norm, self.head = nn.Linear(64, 128), nn.LayerNorm(128), nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(torch.relu(self.norm(self.fc(x))))
        return out


def model() -> Net:
    torch.manual_seed(0)
    return Net().to(DEVICE)


def saved_checkpoint(out: Path) -> str | None:
    net = model()
    path = out / "cuda-saved.pth"
    torch.save({"model": net.state_dict()}, path)
    index = paramtui.open_checkpoint(path)
    devices = {info.device for info in index}
    if devices != {"cuda:0" if DEVICE == "cuda" else "cpu"}:
        return f"devices shown: {devices}"
    stats = compute_stats(index.tensor("model.fc.weight"), cache=False)
    want = net.fc.weight.detach().double().cpu()
    if abs(stats.mean - float(want.mean())) > 1e-9 or stats.count != want.numel():
        return f"stats mean {stats.mean} vs {float(want.mean())}"
    session = EditSession(index)
    session.apply(Zero("model.head.weight"))
    save(session, str(out / "edited.pth"), overwrite=True)
    back = torch.load(out / "edited.pth", weights_only=True, map_location=DEVICE)["model"]
    if torch.count_nonzero(back["head.weight"]) != 0:
        return "the zeroed tensor is not zero"
    for name, value in net.state_dict().items():
        same = torch.equal(back[name].view(torch.uint8), value.view(torch.uint8))
        if name != "head.weight" and not same:
            return f"{name} changed"
    return None


def snapshot_of_gpu_training(out: Path) -> str | None:
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(3):
        opt.zero_grad()
        net(torch.randn(8, 64, device=DEVICE)).square().mean().backward()
        opt.step()
    index = paramtui.open_checkpoint(paramtui.snapshot(net, out / "snap.pth", opt, overwrite=True))
    grad = index.tensor("grads.fc.weight")
    if DEVICE == "cuda" and not grad.device.startswith("cuda"):
        return f"gradient device {grad.device}"
    stats = compute_stats(grad, cache=False)
    want = net.fc.weight.grad.double()
    if abs(stats.l2 - float(want.norm())) > 1e-6 * float(want.norm()):
        return f"gradient L2 {stats.l2} vs {float(want.norm())}"
    omap = paramtui.map_optimizers(index)[0]
    if not omap.mapped or omap.param("state_dict.fc.weight") is None:
        return f"optimizer not mapped: {omap.ambiguous}"
    return None


def live_tensor_statistics(_: Path) -> str | None:
    x = torch.randn(64 << 20, device=DEVICE)  # 256 MiB
    x[123] = float("nan")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    got = tensor_stats("x", x)
    took = time.perf_counter() - start
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    want = tensor_stats("x", x.cpu())
    print(f"     {DEVICE}: 256 MiB in {took:.2f} s, peak host RSS +{grown_mib:.0f} MiB")
    same = (got.nan, got.zeros, got.min, got.max, got.histogram_counts) == (
        want.nan, want.zeros, want.min, want.max, want.histogram_counts,
    )  # fmt: skip
    if not same or abs(got.std - want.std) > 1e-9 * want.std:
        return "device and CPU statistics differ"
    return None if grown_mib < 200 else f"host memory grew by {grown_mib:.0f} MiB"


def live_tui(_: Path) -> str | None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from paramtui.core.live import index_from_module
    from paramtui.tui.app import ParamtuiApp
    from tui_edit_helpers import ready, settled
    from tui_helpers import navigate

    net = model()
    app = ParamtuiApp(index_from_module(net))

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot)
            await navigate(pilot, "fc.weight")  # the cursor only moves down the tree
            await pilot.press("f")
            await settled(pilot)
            await navigate(pilot, "head.weight")
            await pilot.press("z")
            await settled(pilot)

    asyncio.run(drive())
    if net.fc.weight.requires_grad or torch.count_nonzero(net.head.weight) != 0:
        return "the live model did not change"
    if net.head.weight.device.type != DEVICE:
        return f"the weight moved to {net.head.weight.device}"
    return None


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="gpu-check-"))
    out.mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name() if DEVICE == "cuda" else "no CUDA: CPU"
    print(f"torch {torch.__version__}, {name}, output in {out}")
    for label, test in [
        ("checkpoint saved from CUDA tensors", saved_checkpoint),
        ("snapshot of a model trained on the device", snapshot_of_gpu_training),
        ("statistics of a live device tensor", live_tensor_statistics),
        ("live TUI edits the model on its device", live_tui),
    ]:
        check(label, lambda test=test: test(out))
    return len(failures)


if __name__ == "__main__":
    os.environ.setdefault("PARAMTUI_NO_CACHE", "1")
    sys.exit(main())
