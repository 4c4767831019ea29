"""The counting kernels of kernels.c, compiled with the machine's C compiler on first use.

Statistics need a table of bit patterns and a chunk's moments in one read of the data; torch
makes several passes for that. When a C compiler is available ($CC, else cc) the kernels are
compiled once per machine, CPU and source (-O3 -march=native), kept beside the statistics cache
($PARAMTUI_CACHE/native, else ~/.cache/paramtui/native) and loaded with ctypes, which releases the
GIL during each call so worker threads run in parallel. Without a compiler, or with
PARAMTUI_NATIVE=0, `kernels()` is None and the statistics use torch alone (same results, slower).
Nothing here runs code from a checkpoint: the only source compiled is kernels.c.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).with_name("kernels.c")
FLAG_SETS = (["-O3", "-march=native"], ["-O3"])  # the second where -march=native is refused
COMPILE_SECONDS = 60

_lock = threading.Lock()
_loaded: list[Any] = []  # [library or None] once decided
status = "not loaded yet"  # whether the kernels are in use and why (printed by make bench)


def kernels() -> Any | None:
    """The loaded library (functions f32_chunk, u16_table, u8_table), or None."""
    if _loaded:
        return _loaded[0]
    with _lock:
        if not _loaded:
            _loaded.append(_load())
    return _loaded[0]


def _load() -> Any | None:
    global status
    if os.environ.get("PARAMTUI_NATIVE", "") == "0":
        status = "off (PARAMTUI_NATIVE=0)"
        return None
    compiler = shutil.which(os.environ.get("CC") or "cc")
    if compiler is None:
        status = "off: no C compiler found (set CC); torch is used instead"
        return None
    try:
        path = _built(compiler)
        try:
            library = ctypes.CDLL(str(path))
        except OSError:  # a damaged file in the cache: build it again, once
            path.unlink()
            library = ctypes.CDLL(str(_built(compiler)))
    except (OSError, subprocess.SubprocessError) as exc:
        status = f"off: compiling kernels.c failed ({_first_line(exc)}); torch is used instead"
        return None
    _declare(library)
    status = f"on ({path})"
    return library


def _built(compiler: str) -> Path:
    """The compiled library for this source, compiler and CPU, building it if needed."""
    source = SOURCE.read_bytes()
    identity = hashlib.sha256(source + compiler.encode() + _cpu().encode()).hexdigest()[:16]
    folder = _folder()
    target = folder / f"kernels-{identity}.so"
    if target.exists() and _private(target):
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not _private(folder, writable_by=0o002):
            raise PermissionError(folder)
    except OSError:  # no cache folder only we can write to: build for this process only
        folder = Path(tempfile.mkdtemp(prefix="paramtui-native-"))
        target = folder / target.name
    errors = []
    for flags in FLAG_SETS:
        fd, temp = tempfile.mkstemp(suffix=".so", dir=folder)
        os.close(fd)
        command = [compiler, *flags, "-shared", "-fPIC", "-o", temp, str(SOURCE)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_SECONDS)
        if done.returncode == 0:
            os.replace(temp, target)  # another process may have raced us: same bytes
            return target
        os.unlink(temp)
        errors.append(done.stderr.strip() or f"exit {done.returncode}")
    raise OSError(errors[-1])


def _private(path: Path, writable_by: int = 0o022) -> bool:
    """Whether `path` is ours and neither group nor others (`writable_by` bits) can write to it:
    a library someone else could have placed there must not be loaded."""
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & writable_by


def _folder() -> Path:
    if os.environ.get("PARAMTUI_CACHE"):
        return Path(os.environ["PARAMTUI_CACHE"]) / "native"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "paramtui" / "native"


def _cpu() -> str:
    """What -march=native depends on: the CPU's model and feature flags."""
    lines = []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":")[0].strip() in ("model name", "flags", "Features", "CPU part"):
                    lines.append(line)
                if not line.strip() and lines:
                    break  # the first processor is enough
    except OSError:
        pass
    return platform.machine() + "".join(lines)


def _declare(library: Any) -> None:
    pointer, count = ctypes.c_void_p, ctypes.c_int64
    library.f32_chunk.argtypes = [pointer, count, pointer, pointer]
    library.f32_chunk.restype = None
    for name in ("u16_table", "u8_table"):
        getattr(library, name).argtypes = [pointer, count, pointer]
        getattr(library, name).restype = None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
