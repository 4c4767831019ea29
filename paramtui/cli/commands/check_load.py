"""`paramtui check-load PATH --model MODULE:FACTORY`: would load_state_dict accept PATH?

Building the model imports the user's module and calls the user's factory: the user's own
code, run because the user named it. The checkpoint itself is only indexed (no code, no
tensor bytes).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from paramtui.cli.base import UsageError
from paramtui.core.errors import UnusableInput

NAME = "check-load"
HELP = "would model.load_state_dict(checkpoint) work? missing/unexpected keys, shapes"
SYNOPSIS = "paramtui check-load PATH --model MODULE:FACTORY [--prefix PREFIX] [--json]"
OVERVIEW = (
    "paramtui check-load PATH --model MODULE:FACTORY",
    (
        "would load_state_dict work? missing/unexpected keys, shape",
        "mismatches (imports YOUR module and calls FACTORY)",
    ),
)

EXIT_MISMATCH = 4  # the checkpoint would not load with strict=True

EPILOG = f"""--model MODULE:FACTORY names YOUR code: paramtui imports MODULE (the current
folder is searched first, then the Python path) and calls FACTORY() with no arguments
to build the model (FACTORY may be a class, a function, or a dotted attribute such as
models:Net.small; a module-level nn.Module instance is used as it is). This runs your
code because you asked for it by name. Nothing from the checkpoint is ever run: it is
read from its index, and no tensor bytes are read.

The checkpoint part compared is the plain state dict, or the model part of a training
checkpoint ({{model, optimizer, ...}}, Lightning's state_dict, timm, paramtui snapshots).
Without --prefix, keys are also tried without a shared wrapper prefix (module.,
_orig_mod., model.module.) or a shared first component (Lightning's model.); the
reading that matches most keys is reported with the prefix it strips.

examples:
  paramtui check-load ckpt.pth --model paramtui.demo:demo_model
  paramtui check-load last.ckpt --model train:build_model --prefix model.
  paramtui check-load ddp.pth --model models:Net --json

exit codes:
  0    load_state_dict(strict=True) would succeed
  1    internal error (a bug in paramtui)
  2    unusable input: the checkpoint cannot be read, MODULE cannot be imported,
       FACTORY is missing or raised, or it did not return an nn.Module; bad usage
  {EXIT_MISMATCH}    it would not: missing or unexpected keys, shape mismatches, or a
       wrapper prefix that has to be stripped first (see the notes)
  130  interrupted (Ctrl+C)"""


def add_parser(commands: Any) -> None:
    """Register `check-load` on the subparsers action `commands`."""
    parser = commands.add_parser(
        NAME,
        prog="paramtui check-load",
        help=HELP,
        description="Compare a model's state_dict (built by your factory) with a checkpoint: "
        "missing keys, unexpected keys, shape mismatches and dtype differences, before you "
        "call load_state_dict.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", help="checkpoint file or model folder")
    parser.add_argument(
        "--model",
        required=True,
        metavar="MODULE:FACTORY",
        help="import MODULE and call FACTORY() to build the model (runs your code)",
    )
    parser.add_argument(
        "--prefix",
        metavar="PREFIX",
        default=None,
        help="strip PREFIX from the checkpoint's keys ('' compares them as saved; default: detect)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (with a schema version)")


def run(ns: argparse.Namespace) -> int:
    from paramtui.analysis.check_load import check_load
    from paramtui.core.open import open_checkpoint

    index = open_checkpoint(ns.path)  # an unreadable file is reported before any user code runs
    model = build_model(ns.model)
    result = check_load(model, index, prefix=ns.prefix)
    if ns.json:
        from paramtui.render.check_load import check_load_json
        from paramtui.render.json_out import write_json

        write_json(check_load_json(result, ns.model), sys.stdout)
    else:
        from paramtui.render.check_load import check_load_lines

        sys.stdout.write("".join(line + "\n" for line in check_load_lines(result, ns.model)))
    return 0 if result.loads_strict else EXIT_MISMATCH


def build_model(spec: str) -> Any:
    """Import MODULE and build the model from FACTORY (the user's code, by request)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--model wants MODULE:FACTORY (e.g. mypkg.models:build), not {spec!r}.")
    factory = _attribute(_import(module_name), module_name, attr)
    import torch

    if isinstance(factory, torch.nn.Module):
        return factory
    try:
        model = factory()
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        raise UnusableInput(f"{spec}() raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, torch.nn.Module):
        raise UnusableInput(
            f"{spec}() returned a {type(model).__name__}, not an nn.Module; name a factory "
            "that builds the model."
        )
    return model


def _import(name: str) -> Any:
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)  # like `python -m`: the user's own modules first
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UnusableInput(
            f"cannot import {name!r} ({exc}). Run paramtui from the folder holding it, or "
            "install it / add its folder to PYTHONPATH."
        ) from None
    except Exception as exc:  # noqa: BLE001 - importing runs the module's code
        raise UnusableInput(f"importing {name!r} raised {type(exc).__name__}: {exc}") from None


def _attribute(module: Any, module_name: str, dotted: str) -> Any:
    value = module
    for part in dotted.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise UnusableInput(f"{module_name!r} has no attribute {dotted!r}.") from None
    if not callable(value):
        raise UnusableInput(f"{module_name}:{dotted} is a {type(value).__name__}, not callable.")
    return value
