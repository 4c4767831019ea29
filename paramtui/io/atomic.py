"""Write a file so that the destination is either the old file or the complete new one.

The data goes to a temporary file in the destination folder, is fsync'd, then os.replace'd over
the destination (and the folder fsync'd). The source checkpoint may be mmap'd by this process:
replacing it swaps the directory entry, so the old mapping keeps its inode and never sees a
half-written file (writing into a mapped file would kill the process with SIGBUS).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

from paramtui.core.errors import SaveRefused


def check_destination(dest: str, *, overwrite: bool) -> None:
    folder = os.path.dirname(os.path.abspath(dest))
    if os.path.isdir(dest):
        raise SaveRefused(f"{dest} is a folder; give a file name to save to.")
    if os.path.exists(dest) and not overwrite:
        raise SaveRefused(
            f"{dest} already exists. Choose a new name, or confirm overwriting it "
            "(--force on the command line); it is replaced atomically only once the new file "
            "is complete."
        )
    if not os.path.isdir(folder):
        raise SaveRefused(f"cannot save to {dest}: the folder {folder} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SaveRefused(
            f"cannot save to {dest}: the folder {folder} is not writable. Nothing was written; "
            "choose a destination in a folder you can write to."
        )


@contextlib.contextmanager
def atomic_output(
    dest: str, *, overwrite: bool, check: Callable[[str], None] | None = None
) -> Iterator[BinaryIO]:
    """Yield a binary file; on success it becomes `dest`, on any failure it disappears.

    `check(temp_path)` runs on the complete, fsync'd file before it replaces `dest`; if it
    raises, `dest` is left as it was."""
    check_destination(dest, overwrite=overwrite)
    folder = os.path.dirname(os.path.abspath(dest))
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(dest)}.", suffix=".partial", dir=folder
        )
    except OSError as exc:
        raise SaveRefused(
            f"cannot write in {folder}: {exc.strerror}. Nothing was written."
        ) from None
    os.close(fd)
    try:
        with open(tmp, "w+b") as f:  # f.name is the temporary path
            yield f
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
