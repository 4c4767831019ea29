"""`paramtui doctor`: what paramtui runs on here — versions, optional extras, fast paths
(compiled kernels, GPU), the config file and the caches with their sizes. `--json` gives the
same as a document (schema paramtui.doctor/1) to paste into a bug report."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

NAME = "doctor"
HELP = "versions, optional extras, fast paths (kernels, GPU) and caches of this install"
SYNOPSIS = "paramtui doctor [--json]"
OVERVIEW = ("paramtui doctor", ("versions, extras, fast paths and caches (for bug reports)",))
SCHEMA = "paramtui.doctor/1"
PACKAGES = ("torch", "textual", "rich", "numpy", "safetensors", "gguf", "textual-serve")
EXTRAS = {"gguf": "gguf", "serve": "textual-serve"}  # extra -> the package it needs


def add_parser(commands: Any) -> None:
    doctor = commands.add_parser(
        NAME,
        prog="paramtui doctor",
        help=HELP,
        description="Report the versions paramtui runs with, which optional extras and fast "
        "paths are active (compiled statistics kernels, a GPU), the config file and the cache "
        "folders with their sizes. Reading this compiles the kernels if they are not yet.",
    )
    doctor.add_argument("--json", action="store_true", help=f"a JSON document ({SCHEMA})")


def run(ns: argparse.Namespace) -> int:
    document = collect()
    if ns.json:
        from paramtui.render.json_out import write_json

        write_json(document, sys.stdout)
    else:
        print("\n".join(text_lines(document)))
    return 0


def collect() -> dict[str, Any]:
    from paramtui import __version__
    from paramtui.core.config import default_path

    config = default_path()
    return {
        "schema": SCHEMA,
        "paramtui": __version__,
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES},
        "extras": {extra: _version(package) is not None for extra, package in EXTRAS.items()},
        "fast_paths": {"native_kernels": _kernels(), "gpu": _gpu()},
        "config": {"path": str(config), "exists": config.is_file()},
        "caches": _caches(),
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _kernels() -> dict[str, Any]:
    from paramtui.analysis.stats import native

    return {"active": native.kernels() is not None, "status": native.status}


def _gpu() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {"cuda": False, "devices": [], "mps": False}
    cuda = torch.cuda.is_available()
    count = torch.cuda.device_count() if cuda else 0
    names = [torch.cuda.get_device_name(i) for i in range(count)]
    mps = getattr(torch.backends, "mps", None)
    return {"cuda": cuda, "devices": names, "mps": bool(mps and mps.is_available())}


def _caches() -> dict[str, Any]:
    from paramtui.analysis.stats import cache, native
    from paramtui.demo import default_demo_path

    stats = cache.directory()
    folders = {
        "demo": Path(default_demo_path()).parent,
        "stats": stats,
        "native": native._folder(),
    }
    return {name: _folder_use(path) for name, path in folders.items()}


def _folder_use(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {"path": None, "files": 0, "bytes": 0}
    files = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
    sizes = [os.path.getsize(f) for f in files if os.path.isfile(f)]
    return {"path": str(path), "files": len(sizes), "bytes": sum(sizes)}


def text_lines(doc: dict[str, Any]) -> list[str]:
    from paramtui.render.format import human_bytes

    python = doc["python"]
    lines = [f"paramtui {doc['paramtui']} on Python {python['version']} ({python['executable']})"]
    lines.append(f"platform      {doc['platform']}")
    lines += ["", "packages"]
    lines += [f"  {name:<14}{v or 'not installed'}" for name, v in doc["packages"].items()]
    lines += ["", "extras"]
    lines += [f"  {name:<14}{'yes' if on else 'no'}" for name, on in doc["extras"].items()]
    fast = doc["fast_paths"]
    gpu = fast["gpu"]
    devices = ", ".join(gpu["devices"]) if gpu["cuda"] else "none (CUDA not available)"
    lines += ["", "fast paths", f"  kernels       {fast['native_kernels']['status']}"]
    lines += [f"  GPU           {devices}" + ("; MPS available" if gpu["mps"] else "")]
    config = doc["config"]
    lines += ["", f"config        {config['path']} ({'found' if config['exists'] else 'none'})"]
    lines += ["", "caches"]
    for name, use in doc["caches"].items():
        where = use["path"] or "off"
        lines.append(f"  {name:<14}{where}  {use['files']} files, {human_bytes(use['bytes'])}")
    return lines
