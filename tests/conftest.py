import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # tests/*_helpers.py and checkpoints.py

# No test run reads or writes the user's cache (statistics, demo checkpoint); subprocesses
# started by tests inherit this.
os.environ.setdefault("PARAMTUI_CACHE", tempfile.mkdtemp(prefix="paramtui-test-cache-"))

# CI runs the property tests with a fixed seed, so a landing never depends on luck; local runs
# keep exploring new examples.
if os.environ.get("CI"):
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    settings.load_profile("ci")
