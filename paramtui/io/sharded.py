"""Write a sharded Hugging Face folder from an edit session.

safetensors: `model-0000N-of-0000M.safetensors` + `model.safetensors.index.json`; torch:
`pytorch_model-0000N-of-0000M.bin` + `pytorch_model.bin.index.json`. The index holds
`weight_map` (tensor name -> shard file) and `metadata.total_size`. Names are split by size in
file order; names that share a storage (tied weights) always go to the same shard. Each shard is
written atomically and verified; the index is written last, so a folder whose index exists is
complete. The source's pages are released after each shard: memory stays bounded by a shard.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable

from paramtui.core.errors import SaveRefused
from paramtui.core.state import CheckpointState
from paramtui.io.atomic import atomic_output
from paramtui.io.report import SaveReport
from paramtui.io.save_file import save_file
from paramtui.io.save_safetensors import check_storable
from paramtui.io.sharded_bin import write_bin_shard
from paramtui.io.subset import SessionSubset

DEFAULT_SHARD_SIZE = 5 * 10**9  # transformers' default max_shard_size ("5GB")
LAYOUTS = {
    "safetensors": ("model-{:05d}-of-{:05d}.safetensors", "model.safetensors.index.json"),
    "torch": ("pytorch_model-{:05d}-of-{:05d}.bin", "pytorch_model.bin.index.json"),
}
_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*$")


def parse_size(text: str) -> int:
    """'2GB' -> 2*10**9, '500MiB' -> 500*2**20, '1000' -> 1000 bytes (as transformers reads
    max_shard_size: decimal units, binary with an 'i')."""
    match = _SIZE.match(text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS:
        raise SaveRefused(
            f"cannot read the shard size {text!r}: give a number of bytes with an optional unit "
            "(KB, MB, GB, or KiB, MiB, GiB), e.g. 2GB."
        )
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise SaveRefused(f"the shard size must be positive, not {text!r}.")
    return size


def shard_bytes(size: int | str | None) -> int:
    if size is None:
        return DEFAULT_SHARD_SIZE
    if isinstance(size, str):
        return parse_size(size)
    if size <= 0:
        raise SaveRefused(f"the shard size must be positive, not {size}.")
    return size


def plan_shards(session: CheckpointState, format: str, max_bytes: int) -> list[list[str]]:
    """Names split into shards of at most `max_bytes` of tensor data (a storage group larger
    than that gets a shard of its own), in file order, tied names kept together."""
    shards: list[list[str]] = [[]]
    used = 0
    for group in _storage_groups(session):
        size = _group_bytes(session, group, format)
        if shards[-1] and used + size > max_bytes:
            shards.append([])
            used = 0
        shards[-1].extend(group)
        used += size
    order = {name: i for i, name in enumerate(session.names())}
    return [sorted(shard, key=order.__getitem__) for shard in shards if shard]


def write_sharded(
    session: CheckpointState,
    folder: str,
    *,
    format: str = "safetensors",
    max_shard_size: int | str | None = None,
    overwrite: bool = False,
    allow_untie: bool = False,
    tensors_only: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SaveReport:
    """Write the state's tensors as a sharded folder, shards of at most `max_shard_size` bytes
    (or text such as "2GB"; default 5GB). Every shard is verified before it replaces anything
    (SaveRefused otherwise); the index is written last."""
    say = progress or (lambda _: None)
    start = time.perf_counter()
    notes = _check(session, format, allow_untie=allow_untie, tensors_only=tensors_only)
    shards = plan_shards(session, format, shard_bytes(max_shard_size))
    pattern, index_name = LAYOUTS[format]
    files = [pattern.format(i + 1, len(shards)) for i in range(len(shards))]
    _prepare_folder(session, folder, files + [index_name], overwrite)
    notes += _stale_files(folder, index_name, files)
    written, checks = 0, 0
    for number, (names, file) in enumerate(zip(shards, files, strict=True), 1):
        say(f"shard {number}/{len(shards)}: {file} ({len(names)} tensors)")
        size, checked = _write_shard(session, names, os.path.join(folder, file), format)
        written, checks = written + size, checks + checked
    where = {name: file for names, file in zip(shards, files, strict=True) for name in names}
    weight_map = {name: where[name] for name in session.names()}  # file order
    total = sum(_group_bytes(session, g, format) for g in _storage_groups(session))
    written += _write_index(os.path.join(folder, index_name), weight_map, total)
    session.mark_saved()
    edited = [n for n in session.names() if session.is_edited(n)]
    method = "sharded safetensors writer" if format == "safetensors" else "sharded torch.save"
    seconds = time.perf_counter() - start
    return SaveReport(
        folder, format, method, written, seconds, edited, True, checks, notes,
        files=files, index_file=index_name,
    )  # fmt: skip


def _check(
    session: CheckpointState, format: str, *, allow_untie: bool, tensors_only: bool
) -> list[str]:
    """Refuse what the folder cannot hold (before anything is written); notes on what changes."""
    if format == "safetensors":
        return check_storable(session, allow_untie=allow_untie, tensors_only=tensors_only)
    if format != "torch":
        raise SaveRefused(f"unknown shard format {format!r}: use 'safetensors' or 'torch'.")
    index = session.index
    if index.metadata and not tensors_only:
        shown = ", ".join(list(index.metadata)[:4])
        raise SaveRefused(
            f"cannot write a sharded folder: it holds {len(index.metadata)} non-tensor entries "
            f"({shown}, ...) that shards of a state_dict cannot store. Save to one .pth file to "
            "keep them, or drop them explicitly (--tensors-only)."
        )
    return (
        [f"{len(index.metadata)} non-tensor entries dropped (--tensors-only)"]
        if index.metadata
        else []
    )


def _prepare_folder(
    session: CheckpointState, folder: str, names: list[str], overwrite: bool
) -> None:
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise SaveRefused(f"{folder} is a file, not a folder; give a folder path for the shards.")
    sources = {os.path.realpath(p) for p in [session.index.path, *session.index.files]}
    if os.path.realpath(folder) in sources or any(
        os.path.realpath(os.path.join(folder, n)) in sources for n in names
    ):
        raise SaveRefused(
            f"{folder} holds the checkpoint being read; write the shards to a new folder."
        )
    existing = [n for n in names if os.path.exists(os.path.join(folder, n))]
    if existing and not overwrite:
        raise SaveRefused(
            f"{folder} already holds {', '.join(existing[:3])}"
            f"{' ...' if len(existing) > 3 else ''}. Choose a new folder, or confirm "
            "overwriting (--force on the command line)."
        )
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise SaveRefused(f"cannot create the folder {folder}: {exc.strerror}.") from None


def _stale_files(folder: str, index_name: str, files: list[str]) -> list[str]:
    """Shards of a previous index in `folder` that the new index no longer names (kept)."""
    try:
        with open(os.path.join(folder, index_name), encoding="utf-8") as f:
            old = set(json.load(f).get("weight_map", {}).values())
    except (OSError, ValueError, AttributeError):
        return []
    stale = sorted(str(name) for name in old - set(files))
    if not stale:
        return []
    return [
        f"{len(stale)} shard file(s) of the previous index left in place, no longer "
        f"named by the new one: {', '.join(stale[:3])}"
    ]


def _write_shard(
    session: CheckpointState, names: list[str], path: str, format: str
) -> tuple[int, int]:
    """(bytes written, tensors verified) for one shard file."""
    subset = SessionSubset(session, names)
    if format == "safetensors":
        report = save_file(
            subset, path, "safetensors", overwrite=True, allow_untie=True, tensors_only=True
        )
        size, checks = report.bytes_written, report.checks
    else:
        size, checks = write_bin_shard(subset, path)
    _release(session, names)
    return size, checks


def _write_index(path: str, weight_map: dict[str, str], total_size: int) -> int:
    document = {"metadata": {"total_size": total_size}, "weight_map": weight_map}
    data = (json.dumps(document, indent=2) + "\n").encode("utf-8")
    with atomic_output(path, overwrite=True) as out:
        out.write(data)
    return len(data)


def _storage_groups(session: CheckpointState) -> list[list[str]]:
    """Current names grouped by storage, groups in the order of their first name."""
    groups: dict[str, list[str]] = {}
    for name in session.names():
        groups.setdefault(session.info(name).storage_id, []).append(name)
    return list(groups.values())


def _group_bytes(session: CheckpointState, group: list[str], format: str) -> int:
    """Bytes a storage group takes in a shard: safetensors stores every name's elements; torch
    stores the whole storage once."""
    infos = [session.info(n) for n in group]
    if format == "safetensors":
        return sum(i.nbytes for i in infos)
    return max((i.location.nbytes if i.location else i.nbytes) for i in infos)


def _release(session: CheckpointState, names: list[str]) -> None:
    from paramtui.core.access import release_pages

    for name in names:
        info = session.info(name)
        if info.location is not None and not session.is_edited(name):
            release_pages(info)
