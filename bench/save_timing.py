"""Run in a fresh process by bench/run.py: one save, its time and this process's peak RSS.

`save SRC DEST`: open SRC, zero one tensor, save to DEST (verified), print JSON.
`floor SRC`: the same start-up (imports, index, session) without saving: the RSS floor.
`cp SRC DEST`: copy with `cp`, then fsync DEST (our saves fsync too)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time


def peak_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    mode, src = sys.argv[1], sys.argv[2]
    if mode == "cp":
        start = time.perf_counter()
        subprocess.run(["cp", src, sys.argv[3]], check=True)
        fd = os.open(sys.argv[3], os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        print(
            json.dumps(
                {
                    "seconds": time.perf_counter() - start,
                    "peak_mib": peak_mib(resource.RUSAGE_CHILDREN),
                }
            )
        )
        return
    import torch  # noqa: F401 - part of the floor either way

    import paramtui
    from paramtui.edits import EditSession, Zero
    from paramtui.io.save import save

    session = EditSession(paramtui.open_checkpoint(src))
    session.apply(Zero("model.layers.3.self_attn.q_proj.weight"))
    if mode == "floor":
        print(json.dumps({"peak_mib": peak_mib()}))
        return
    start = time.perf_counter()
    report = save(session, sys.argv[3], overwrite=True)
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - start,
                "peak_mib": peak_mib(),
                "method": report.method,
                "verified": report.verified,
            }
        )
    )


if __name__ == "__main__":
    main()
