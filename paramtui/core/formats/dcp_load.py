"""Reading DCP tensors with torch's own reader: `dcp.load` into empty templates.

This is what the sharded tensors need (their chunks are assembled by torch), and it also reads
single-chunk ones. The `.metadata` torch sees is unpickled under paramtui's allow-list (torch's
own reader would `pickle.load` it); chunk payloads are read by torch with `weights_only=True`.
Non-tensor ("bytes") entries are never passed to torch's loader, which unpickles them with
`weights_only=False`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from paramtui.core.errors import UnusableInput
from paramtui.core.formats.dcp import METADATA_FILE, tensor_specs
from paramtui.core.formats.dcp_metadata import load_real

if TYPE_CHECKING:
    import torch


def load_tensors(folder: str, names: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
    """The named tensors (every tensor when None) of DCP folder `folder`, as CPU tensors."""
    import torch
    from torch.distributed.checkpoint.state_dict_loader import load

    specs = tensor_specs(folder)
    wanted = list(specs) if names is None else list(names)
    templates: dict[str, Any] = {}
    for name in wanted:
        spec = specs.get(name)
        dtype = getattr(torch, spec.dtype, None) if spec is not None else None
        if spec is None or not isinstance(dtype, torch.dtype):
            raise UnusableInput(
                f"'{name}' is not a readable tensor of the DCP checkpoint {folder}."
            )
        templates[name] = torch.empty(spec.shape, dtype=dtype)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "assuming a single process"
            load(templates, storage_reader=_checked_reader(folder), no_dist=True)
    except UnusableInput:
        raise
    except Exception as exc:  # noqa: BLE001 - torch raises CheckpointException wrapping anything
        raise UnusableInput(
            f"torch's DCP reader could not read {', '.join(wanted[:3])} from {folder} "
            f"({type(exc).__name__}: {_last_line(exc)}). Tensors saved in one chunk are still "
            "read in place by paramtui."
        ) from None
    return templates


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no details"


def load_tensor(folder: str, name: str) -> torch.Tensor:
    return load_tensors(folder, [name])[name]


def _checked_reader(folder: str) -> Any:
    from torch.distributed.checkpoint.filesystem import FileSystemReader
    from torch.distributed.checkpoint.metadata import StorageMeta

    class CheckedReader(FileSystemReader):
        def read_metadata(self, *args: Any, **kwargs: Any) -> Any:
            path = os.path.join(folder, METADATA_FILE)
            with open(path, "rb") as f:
                metadata = load_real(path, f.read())
            if getattr(metadata, "storage_meta", None) is None:
                metadata.storage_meta = StorageMeta()
            metadata.storage_meta.load_id = self.load_id
            return metadata

    return CheckedReader(folder)
