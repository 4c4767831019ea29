"""torch.export archives (`torch.export.save`, .pt2), listed from the archive's own JSON.

A PT2 archive holds, per model, `models/<m>.json` (the program: never run, only its signature is
read to tell parameters, buffers and constants apart), `data/weights/<m>_weights_config.json` and
`data/constants/<m>_constants_config.json` (name -> payload file, dtype, sizes, strides, storage
offset, device, requires_grad). Raw payloads map in place; tied weights share one payload.
Tensor subclasses are stored as small torch.save archives, mapped through their data.pkl.
"""

from __future__ import annotations

import json
from typing import Any

from paramtui.core.errors import UnusableInput
from paramtui.core.formats.pt2_payload import PayloadReader
from paramtui.core.model import BUFFER, OTHER, PARAMETER, CheckpointIndex, MetaEntry, TensorInfo
from paramtui.core.roles import infer_role

JSON_LIMIT = 256 << 20
_WEIGHTS = ("data/weights/", "{}_weights_config.json")
_CONSTANTS = ("data/constants/", "{}_constants_config.json")


def is_pt2(names: list[str]) -> bool:
    return any(n.count("/") == 1 and n.endswith("/archive_format") for n in names) or any(
        n.endswith("serialized_exported_program.json") for n in names
    )


def looks_like_pt2(path: str, head: bytes) -> bool:
    """A zip whose records say torch.export wrote it (torch.save zips, which put data.pkl first,
    are told apart from `head` alone, without reading the zip's directory)."""
    if not head.startswith(b"PK\x03\x04") or _first_record_name(head).endswith("/data.pkl"):
        return False
    from paramtui.core.formats.zipdir import read_records

    try:
        names = [r.name for r in read_records(path)]
    except (OSError, ValueError):
        return False  # the zip reader explains what is damaged
    return is_pt2(names)


def _first_record_name(head: bytes) -> str:
    """The name in the zip's first local header, when `head` holds all of it."""
    if len(head) < 30:
        return ""
    end = 30 + int.from_bytes(head[26:28], "little")
    return head[30:end].decode("utf-8", "replace") if end <= len(head) else ""


def open_pt2(path: str) -> CheckpointIndex:
    reader = PayloadReader(path)
    _check_kind(path, reader)
    models = reader.models()
    tensors: dict[str, TensorInfo] = {}
    values: dict[str, MetaEntry] = {}
    for model in models:
        roles = _signature_roles(reader.json(f"models/{model}.json"))
        prefix = "" if len(models) == 1 else f"{model}."
        for folder, config_name in (_WEIGHTS, _CONSTANTS):
            config = reader.json(folder + config_name.format(model)) or {}
            for name, meta in (config.get("config") or {}).items():
                full = prefix + str(name)
                info = _tensor(reader, folder, full, str(name), meta, roles)
                if info is None:
                    values[full] = MetaEntry(full, "object", "(pickled object; not read)")
                else:
                    tensors[full] = info
    return CheckpointIndex(
        path=path,
        format="torch.export archive",
        tensors=tensors,
        metadata=values,
        file_metadata=reader.file_metadata(models),
        files=[path],
        notes=[
            *reader.notes,
            "the exported program (its graph) is not run; only weights are listed",
        ],
    )


def _check_kind(path: str, reader: PayloadReader) -> None:
    if reader.text("archive_format") == "pt2" and reader.models():
        return
    if reader.has("serialized_exported_program.json"):
        why = "it was written by torch.export.save of torch < 2.6, a layout paramtui cannot list"
    elif reader.has_prefix("data/aotinductor/"):
        why = "it is an AOTInductor package: compiled code with its weights inside"
    else:
        why = "it holds no models/*.json program"
    raise UnusableInput(
        f"{path} is a torch.export archive, but {why}. paramtui lists the weights of archives "
        "written by torch.export.save (torch 2.6 or newer) without running anything; load this "
        "one in Python and save its state_dict() with torch.save to inspect it."
    )


def _signature_roles(program: dict[str, Any] | None) -> dict[str, str]:
    """Name -> role from the program's input specs (parameter, buffer, tensor constant)."""
    roles: dict[str, str] = {}
    specs = ((program or {}).get("graph_module") or {}).get("signature", {}).get("input_specs", [])
    kinds = {
        "parameter": ("parameter_name", PARAMETER),
        "buffer": ("buffer_name", BUFFER),
        "tensor_constant": ("tensor_constant_name", OTHER),
    }
    for spec in specs if isinstance(specs, list) else []:
        for kind, (key, role) in kinds.items():
            body = spec.get(kind) if isinstance(spec, dict) else None
            if isinstance(body, dict) and key in body:
                roles[str(body[key])] = role
    return roles


def _tensor(
    reader: PayloadReader,
    folder: str,
    full: str,
    name: str,
    meta: Any,
    roles: dict[str, str],
) -> TensorInfo | None:
    tensor_meta = meta.get("tensor_meta") if isinstance(meta, dict) else None
    if not isinstance(tensor_meta, dict):
        return None
    payload = folder + str(meta.get("path_name"))
    mapped = reader.locate(payload, bool(meta.get("use_pickle")))
    dtype = reader.dtype(tensor_meta.get("dtype"))
    role = roles.get(name) or (PARAMETER if meta.get("is_param") else None)
    shape = _ints(tensor_meta.get("sizes"))
    return TensorInfo(
        name=full,
        shape=shape,
        dtype=dtype,
        device=_device(tensor_meta.get("device")),
        stride=mapped.stride if mapped and mapped.stride else _ints(tensor_meta.get("strides")),
        storage_offset=mapped.storage_offset if mapped else _int(tensor_meta.get("storage_offset")),
        storage_id=payload,
        location=mapped.location if mapped else None,
        role=role or infer_role(full, dtype),
        role_recorded=role is not None,
        requires_grad=bool(tensor_meta.get("requires_grad")) if role == PARAMETER else None,
        layout=reader.layout(tensor_meta.get("layout")),
    )


def _ints(values: Any) -> tuple[int, ...]:
    return tuple(_int(v) for v in values) if isinstance(values, list) else ()


def _int(value: Any) -> int:
    if isinstance(value, dict) and isinstance(value.get("as_int"), int):
        return int(value["as_int"])
    raise UnusableInput(
        f"a torch.export archive gives a symbolic size ({json.dumps(value)[:80]}) for a weight; "
        "paramtui lists weights with concrete sizes only."
    )


def _device(value: Any) -> str | None:
    if not isinstance(value, dict) or not value.get("type"):
        return None
    index = value.get("index")
    return f"{value['type']}:{index}" if index is not None else str(value["type"])
