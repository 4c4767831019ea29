"""Plant anomalies in a checkpoint nobody built for the scan: the demo model, really trained.

    python bench/plant_anomalies.py OUT.pth [--source CKPT]
    paramtui scan OUT.pth --fail-on any        # finds each one; exit code 3

Two edits go through paramtui's own edit layer (zeroing a weight; structured pruning of 2% of
a weight's rows), the rest through torch on the loaded training checkpoint: a NaN in one
weight, an Inf in Adam's state, one layer's output projection scaled by 1000, one MLP weight
cast to bfloat16, and one layer's weight copied over another's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import torch

from paramtui import open_checkpoint
from paramtui.demo import build_demo
from paramtui.edits.ops import Prune, Zero
from paramtui.edits.session import EditSession
from paramtui.io.save import save

PLANTED = [
    ("all_zero", "model.blocks.2.attn.v_proj.weight", "paramtui edit: Zero"),
    ("dead_rows", "model.blocks.3.mlp.fc1.weight", "paramtui edit: Prune 2% of rows (dim 0)"),
    ("nan", "model.blocks.1.attn.k_proj.weight", "torch: one element set to NaN"),
    ("inf", "optimizer.state.9.exp_avg_sq", "torch: one element set to +Inf"),
    ("exploding", "model.blocks.3.attn.o_proj.weight", "torch: multiplied by 1000"),
    ("dtype_mix", "model.blocks.2.mlp.fc1.weight", "torch: cast to bfloat16"),
    ("duplicate", "model.blocks.2.mlp.fc2.weight", "torch: copy of model.blocks.1.mlp.fc2"),
]


def plant(source: str, out: str) -> None:
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as tmp:
        edited = os.path.join(tmp, "edited.pth")
        session = EditSession(open_checkpoint(source))
        session.apply(Zero("model.blocks.2.attn.v_proj.weight"))
        session.apply(Prune("model.blocks.3.mlp.fc1.weight", amount=0.02, structured_dim=0))
        save(session, edited)
        checkpoint = torch.load(edited, weights_only=True)
    model, moments = checkpoint["model"], checkpoint["optimizer"]["state"]
    with torch.no_grad():
        model["blocks.1.attn.k_proj.weight"][7, 3] = float("nan")
        moments[9]["exp_avg_sq"].view(-1)[0] = float("inf")
        model["blocks.3.attn.o_proj.weight"].mul_(1000)
        model["blocks.2.mlp.fc1.weight"] = model["blocks.2.mlp.fc1.weight"].to(torch.bfloat16)
        model["blocks.2.mlp.fc2.weight"] = model["blocks.1.mlp.fc2.weight"].clone()
    torch.save(checkpoint, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="checkpoint to write")
    parser.add_argument("--source", help="training checkpoint to start from (default: demo)")
    ns = parser.parse_args(argv)
    source = ns.source or build_demo()
    plant(source, ns.out)
    print(f"planted into {ns.out} (from {source}):")
    for kind, name, how in PLANTED:
        print(f"  {kind:10s} {name:38s} {how}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
