"""The records of a PT2 (torch.export) archive: small JSON/text records and weight payloads."""

from __future__ import annotations

import json
import mmap
from dataclasses import dataclass
from typing import Any

from paramtui.core.errors import UnusableInput
from paramtui.core.formats.embedded_zip import read_embedded_zip, unpickle_embedded
from paramtui.core.formats.zipdir import ZipError, ZipRecord, read_records
from paramtui.core.model import DataLocation
from paramtui.core.unpickle import TensorRef

SMALL_LIMIT = 256 << 20
# torch._export.serde.schema.ScalarType and Layout codes
SCALAR_TYPES = {
    1: "uint8", 2: "int8", 3: "int16", 4: "int32", 5: "int64", 6: "float16", 7: "float32",
    8: "float64", 9: "complex32", 10: "complex64", 11: "complex128", 12: "bool", 13: "bfloat16",
    28: "uint16", 29: "float8_e4m3fn", 30: "float8_e5m2", 31: "float8_e4m3fnuz",
    32: "float8_e5m2fnuz", 33: "float8_e8m0fnu", 34: "uint32", 35: "uint64",
}  # fmt: skip
LAYOUTS = {1: "sparse_coo", 2: "sparse_csr", 3: "sparse_csc", 4: "sparse_bsr", 5: "sparse_bsc",
           6: "mkldnn", 7: "strided"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Placed:
    location: DataLocation
    stride: tuple[int, ...] | None  # None: as the JSON says
    storage_offset: int


class PayloadReader:
    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.records = {r.name: r for r in read_records(path)}
        except (ZipError, OSError, ValueError) as exc:
            raise UnusableInput(
                f"{path} looks like a torch.export archive but its zip structure is damaged "
                f"({exc}). Copy it again."
            ) from None
        roots = sorted(
            n for n in self.records if n.count("/") == 1 and n.endswith("/archive_format")
        )
        self.prefix = roots[0][: -len("archive_format")] if roots else _any_root(self.records)
        self.notes: list[str] = []

    def has(self, name: str) -> bool:
        return any(n.endswith(name) for n in self.records)

    def has_prefix(self, name: str) -> bool:
        return any(n.startswith(self.prefix + name) for n in self.records)

    def raw(self, name: str, limit: int = SMALL_LIMIT) -> bytes | None:
        record = self.records.get(self.prefix + name)
        if record is None or record.method != 0 or record.size > limit:
            return None
        with open(self.path, "rb") as f:
            f.seek(record.data_offset)
            return f.read(record.size)

    def text(self, name: str) -> str | None:
        data = self.raw(name, limit=4096)
        return data.decode("utf-8", "replace").strip() if data is not None else None

    def json(self, name: str) -> dict[str, Any] | None:
        data = self.raw(name)
        try:
            value = json.loads(data) if data is not None else None
        except ValueError:
            self.notes.append(f"{name} is not valid JSON; skipped")
            return None
        return value if isinstance(value, dict) else None

    def models(self) -> list[str]:
        start = self.prefix + "models/"
        return sorted(
            n[len(start) : -len(".json")]
            for n in self.records
            if n.startswith(start) and n.endswith(".json") and "/" not in n[len(start) :]
        )

    def file_metadata(self, models: list[str]) -> dict[str, str]:
        out = {"pt2.archive_version": self.text("archive_version") or "unknown"}
        out["pt2.models"] = ", ".join(models)
        program = self.json(f"models/{models[0]}.json") if models else None
        if program:
            out["pt2.torch_version"] = str(program.get("torch_version", "unknown"))
            out["pt2.schema_version"] = json.dumps(program.get("schema_version"))
        return out

    def dtype(self, code: Any) -> str:
        return SCALAR_TYPES.get(code, "unknown") if isinstance(code, int) else "unknown"

    def layout(self, code: Any) -> str:
        return LAYOUTS.get(code, "unknown") if isinstance(code, int) else "strided"

    def locate(self, name: str, pickled: bool) -> Placed | None:
        record = self.records.get(self.prefix + name)
        if record is None or record.method != 0:
            self.notes.append(f"{name} is missing or compressed; its tensor is not read in place")
            return None
        if not pickled:
            return Placed(DataLocation(self.path, record.data_offset, record.size), None, 0)
        return self._locate_pickled(name, record)

    def _locate_pickled(self, name: str, record: ZipRecord) -> Placed | None:
        """A tensor subclass saved as a torch.save archive inside the archive."""
        try:
            with (
                open(self.path, "rb") as f,
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm,
            ):
                inner = read_embedded_zip(mm, record.data_offset, record.size)
                ref = unpickle_embedded(mm, inner).obj
        except (ZipError, OSError, ValueError, EOFError, TypeError, UnusableInput):
            ref = None
        storage = ref.storage if isinstance(ref, TensorRef) else None
        found = inner.record(f"data/{storage.key}") if storage is not None else None
        if not isinstance(ref, TensorRef) or storage is None or found is None:
            self.notes.append(f"{name} holds a pickled tensor subclass that is not read in place")
            return None
        location = DataLocation(self.path, found[0], min(found[1], storage.nbytes))
        return Placed(location, ref.stride, ref.storage_offset)


def _any_root(records: dict[str, ZipRecord]) -> str:
    first = next(iter(records), "")
    return first.partition("/")[0] + "/" if "/" in first else ""
