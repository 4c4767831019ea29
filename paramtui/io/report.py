"""What a save did: one report for every writer (a file, a sharded folder, a DCP folder)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class SaveReport:
    path: str  # the file written, or the folder (sharded or DCP)
    format: str  # "torch", "safetensors" or "dcp"
    method: str  # "record rewrite", "torch.save", "safetensors writer", DCP's save, ...
    bytes_written: int
    seconds: float
    edited: list[str]
    verified: bool
    checks: int  # tensors compared with the state after writing
    notes: list[str] = field(default_factory=list)
    replaced_source: bool = False  # the state's source was overwritten: reopen to go on
    files: list[str] = field(default_factory=list)  # a sharded folder's shards, in order
    index_file: str = ""  # a sharded folder's index (written last)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
