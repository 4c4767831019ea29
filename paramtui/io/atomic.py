"""Write a file so that the destination is either the old file or the complete new one.

The data goes to a temporary file in the destination folder, is fsync'd, then os.replace'd over
the destination (and the folder fsync'd). The source checkpoint may be mmap'd by this process:
replacing it swaps the directory entry, so the old mapping keeps its inode and never sees a
half-written file (writing into a mapped file would kill the process with SIGBUS).

Folders (a DCP checkpoint) are written the same way: into a temporary folder beside the
destination, checked, then renamed into place. A missing or empty destination is replaced in one
rename; a non-empty one (only a DCP checkpoint folder, and only when overwriting is confirmed) is
renamed aside first and removed once the new folder is in place, so the destination is never
missing for longer than between two renames and never half-written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

from paramtui.core.errors import SaveRefused

DCP_METADATA = ".metadata"  # the file that makes a folder a DCP checkpoint


def check_destination(dest: str, *, overwrite: bool) -> None:
    folder = os.path.dirname(os.path.abspath(dest))
    if os.path.isdir(dest):
        raise SaveRefused(
            f"{dest} is a folder; give a file name to save to (a DCP checkpoint folder is "
            "written with --format dcp, or format='dcp' from Python)."
        )
    if os.path.exists(dest) and not overwrite:
        raise SaveRefused(
            f"{dest} already exists. Choose a new name, or confirm overwriting it "
            "(--force on the command line); it is replaced atomically only once the new file "
            "is complete."
        )
    _check_parent(dest, folder)


def _check_parent(dest: str, folder: str) -> None:
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


def check_folder_destination(dest: str, *, overwrite: bool) -> None:
    """Refuse a folder destination that cannot or must not be replaced (before any work)."""
    parent = os.path.dirname(os.path.abspath(dest))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise SaveRefused(
            f"{dest} is a file, and a DCP checkpoint is a folder: give a new folder name."
        )
    if os.path.isdir(dest) and os.listdir(dest):
        if not os.path.isfile(os.path.join(dest, DCP_METADATA)):
            raise SaveRefused(
                f"{dest} is a folder that holds files but no DCP checkpoint, so paramtui will not "
                "replace it, even when asked to overwrite: give a new or empty folder name."
            )
        if not overwrite:
            raise SaveRefused(
                f"{dest} already holds a DCP checkpoint. Choose a new folder name, or confirm "
                "overwriting it (--force on the command line); it is replaced only once the new "
                "checkpoint is complete and verified."
            )
    _check_parent(dest, parent)


@contextlib.contextmanager
def atomic_folder(
    dest: str, *, overwrite: bool, check: Callable[[str], None] | None = None
) -> Iterator[str]:
    """Yield the path of an empty temporary folder beside `dest`; on success it becomes `dest`,
    on any failure it disappears. `check(temp_folder)` runs on the complete folder (its files
    fsync'd by the writer) before it replaces anything; if it raises, `dest` is left as it was."""
    check_folder_destination(dest, overwrite=overwrite)
    parent = os.path.dirname(os.path.abspath(dest))
    try:
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.", suffix=".partial", dir=parent)
    except OSError as exc:
        raise SaveRefused(
            f"cannot write in {parent}: {exc.strerror}. Nothing was written."
        ) from None
    try:
        yield tmp
        _fsync_folder(tmp)
        if check is not None:
            check(tmp)
        os.chmod(tmp, 0o755)
        _swap_in(tmp, dest, parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_folder(parent)


def _swap_in(tmp: str, dest: str, parent: str) -> None:
    if not os.path.isdir(dest) or not os.listdir(dest):
        os.replace(tmp, dest)  # renaming over an empty folder is one atomic step
        return
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.", suffix=".old", dir=parent)
    os.rmdir(old)  # only its unique name is wanted
    os.rename(dest, old)
    try:
        os.rename(tmp, dest)
    except OSError:
        os.rename(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)  # files still mapped stay readable until unmapped
