#!/usr/bin/env bash
# Build the wheel users install and try it in a clean venv: `paramtui --version` and
# `paramtui summary` on a small generated file. The clean venv sees the dev venv's packages
# (torch among them) through a .pth line, so nothing is downloaded; paramtui itself comes only
# from the wheel (installed with --no-deps), never from the source tree.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV_PYTHON=${DEV_PYTHON:-.venv/bin/python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# From a copy of the files git knows: no stale build/ folder can add what the package lacks.
mkdir "$WORK/src"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -x -C "$WORK/src"
"$DEV_PYTHON" -m build --wheel --no-isolation --outdir "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log"; exit 1; }
WHEEL=$(ls "$WORK"/dist/paramtui-*.whl)
"$DEV_PYTHON" - "$WHEEL" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
missing = {"paramtui/tui/paramtui.tcss", "paramtui/analysis/stats/kernels.c"} - names
sys.exit(f"wheel check: missing from the wheel: {sorted(missing)}" if missing else 0)
PY

"$DEV_PYTHON" -m venv --without-pip "$WORK/venv"
PURE=$("$WORK/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
"$DEV_PYTHON" -c 'import sysconfig; print(sysconfig.get_path("purelib"))' >"$PURE/dev-venv.pth"
"$DEV_PYTHON" -m pip --python "$WORK/venv/bin/python" install --quiet --no-deps "$WHEEL"

cd "$WORK"  # away from the source tree, so only the wheel's paramtui can be imported
env -u PYTHONPATH "$WORK/venv/bin/python" -c 'import paramtui, sys; sys.exit(not paramtui.__file__.startswith(sys.prefix))' \
    || { echo "wheel check: paramtui was not imported from the wheel"; exit 1; }
env -u PYTHONPATH "$WORK/venv/bin/python" -c 'import torch; from safetensors.torch import save_file; save_file({"layer.weight": torch.ones(2, 3)}, "small.safetensors")'
env -u PYTHONPATH "$WORK/venv/bin/paramtui" --version
env -u PYTHONPATH "$WORK/venv/bin/paramtui" summary small.safetensors
echo "wheel check: $(basename "$WHEEL") installs and runs"
