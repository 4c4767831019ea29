"""Remembered statistics: in memory (an LRU) and on disk (one small JSON file per result).

A result is valid for one exact input: the file (real path, size, mtime, ctime, inode, device),
the tensor (name, byte offset, shape, stride, dtype, layout), the number of bins and the engine's
version. Any change to the file changes its identity, so stale entries are never read back; they
age out. File times tick coarsely (a few milliseconds), so a file changed less than RACY_SECONDS
ago is not cached at all: it could change again within the same tick, keeping its identity.

Disk entries live in $PARAMTUI_CACHE, else $XDG_CACHE_HOME/paramtui/stats, else
~/.cache/paramtui/stats; each is written to a temporary file and renamed into place, the folder
is kept under DISK_LIMIT bytes by deleting the least recently used files, and a file that cannot
be read or does not match its key is ignored (and removed). PARAMTUI_NO_CACHE=1 turns the disk
cache off. Everything here is safe to delete at any time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from paramtui.core.model import TensorInfo

MEMORY_ENTRIES = 512
DISK_LIMIT = 64 << 20  # bytes
DISK_MIN_ELEMENTS = 1 << 20  # smaller tensors are recomputed faster than a file is read
RACY_SECONDS = 2.0
FORMAT = "paramtui.stats-cache/1"

_lock = threading.Lock()
_memory: OrderedDict[str, Any] = OrderedDict()
_disk_bytes: dict[str, int] = {}  # folder -> bytes written since it was last measured


def key_for(info: TensorInfo, bins: int, version: int) -> str | None:
    """The cache key of `info`'s statistics, or None when its file cannot be identified or
    changed a moment ago."""
    if info.location is None:
        return None
    try:
        st = os.stat(info.location.path)
        real = os.path.realpath(info.location.path)
    except OSError:
        return None
    if time.time() - st.st_mtime < RACY_SECONDS:
        return None
    parts = {
        "version": version,
        "file": [real, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev],
        "name": info.name,
        "offset": info.location.offset + info.storage_offset * info.itemsize,
        "shape": list(info.shape),
        "stride": list(info.stride),
        "dtype": info.dtype,
        "layout": info.layout,
        "bins": bins,
    }
    return json.dumps(parts, sort_keys=True, separators=(",", ":"))


def recall(key: str) -> Any | None:
    """The value remembered in memory for `key`, or None."""
    with _lock:
        if key in _memory:
            _memory.move_to_end(key)
            return _memory[key]
    return None


def remember(key: str, value: Any) -> None:
    with _lock:
        _memory[key] = value
        _memory.move_to_end(key)
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)


def forget_all() -> None:
    """Empty the in-memory cache (the disk cache stays)."""
    with _lock:
        _memory.clear()


def directory() -> Path | None:
    """Where disk entries go, or None when the disk cache is turned off."""
    if os.environ.get("PARAMTUI_NO_CACHE", "") not in ("", "0"):
        return None
    if os.environ.get("PARAMTUI_CACHE"):
        return Path(os.environ["PARAMTUI_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "paramtui" / "stats"


def load(key: str) -> dict[str, Any] | None:
    """The JSON value stored on disk for `key`, or None (missing, damaged or not matching)."""
    folder = directory()
    if folder is None:
        return None
    path = _path(folder, key)
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
        if entry.get("format") != FORMAT or entry.get("key") != key:
            raise ValueError("not this entry")
        value = entry["value"]
        if not isinstance(value, dict):
            raise ValueError("not a result")
        os.utime(path)  # recently used: evicted last
        return value
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        _remove(path)
        return None


def store(key: str, value: dict[str, Any]) -> None:
    """Write `value` for `key` atomically; failures (read-only home, full disk) are ignored."""
    folder = directory()
    if folder is None:
        return
    text = json.dumps({"format": FORMAT, "key": key, "value": value}, separators=(",", ":"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temp, _path(folder, key))
    except OSError:
        return
    _account(folder, len(text))


def _path(folder: Path, key: str) -> Path:
    return folder / (hashlib.sha256(key.encode()).hexdigest()[:40] + ".json")


def _account(folder: Path, written: int) -> None:
    """Keep the folder under DISK_LIMIT: measured on the first write and whenever the bytes
    written since could have crossed the limit."""
    name = str(folder)
    with _lock:
        if name in _disk_bytes and _disk_bytes[name] + written <= DISK_LIMIT // 8:
            _disk_bytes[name] += written
            return
        _disk_bytes[name] = 0
    evict(folder, DISK_LIMIT)


def evict(folder: Path, limit: int) -> None:
    """Delete the least recently used entries until the folder holds at most `limit` bytes
    (down to 3/4 of it, so this does not run on every write)."""
    entries = []
    for path in folder.glob("*.json"):
        try:
            st = path.stat()
        except OSError:
            continue
        entries.append((st.st_mtime_ns, st.st_size, path))
    total = sum(size for _, size, _ in entries)
    if total <= limit:
        return
    for _, size, path in sorted(entries, key=lambda e: e[0]):
        _remove(path)
        total -= size
        if total <= limit * 3 // 4:
            break


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
