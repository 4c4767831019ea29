"""DCP folders, TorchScript, GGUF, torch.export archives and bare tensors, checked against each
ecosystem's own reader as the oracle (in the tests only: paramtui itself never runs file code)."""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest
import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.metadata import (
    ChunkStorageMetadata,
    MetadataIndex,
    TensorProperties,
)
from torch.distributed.checkpoint.planner import TensorWriteData, WriteItem, WriteItemType

import paramtui
from checkpoints import tiny_net, training_checkpoint
from paramtui.core import access
from paramtui.core.errors import UnsafePickle, UnusableInput
from paramtui.core.formats.dcp import chunk_infos
from paramtui.core.formats.dcp_load import load_tensor, load_tensors


def values(info) -> torch.Tensor:
    return access.open_tensor(info).clone()


def save_dcp(state: dict, folder: Path, **kw) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "assuming a single process"
        dcp.save(state, checkpoint_id=folder, **kw)
    return folder


def flat(obj, prefix: str = "") -> dict[str, object]:
    """The dotted names DCP gives a nested state dict."""
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, list):
        items = enumerate(obj)
    else:
        return {prefix: obj}
    out: dict[str, object] = {}
    for key, value in items:
        out.update(flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


class Rows(torch.Tensor):
    """A tensor that DCP saves as row blocks, exactly as a row-sharded DTensor is saved."""

    @staticmethod
    def __new__(cls, t: torch.Tensor, parts: int):
        obj = torch.Tensor._make_subclass(cls, t)
        step = -(-t.shape[0] // parts)
        obj.full, obj.blocks = t, [(i, min(step, t.shape[0] - i)) for i in range(0, len(t), step)]
        return obj

    def __create_write_items__(self, fqn, obj):
        t = self.full
        return [
            WriteItem(
                index=MetadataIndex(fqn, (start, *[0] * (t.dim() - 1))),
                type=WriteItemType.SHARD,
                tensor_data=TensorWriteData(
                    chunk=ChunkStorageMetadata(
                        offsets=torch.Size([start, *[0] * (t.dim() - 1)]),
                        sizes=torch.Size([n, *t.shape[1:]]),
                    ),
                    properties=TensorProperties.create_from_tensor(t),
                    size=t.size(),
                ),
            )
            for start, n in self.blocks
        ]

    def __get_tensor_shard__(self, index):
        start = index.offset[0]
        return self.full[start : start + dict(self.blocks)[start]]


# ---------------------------------------------------------------- DCP


def test_dcp_lists_every_fqn_with_values_from_the_distcp_files(tmp_path: Path) -> None:
    state = training_checkpoint()
    state["half"] = torch.randn(3, 2).to(torch.bfloat16)
    state["run"] = {"name": "tiny", "sizes": [1, 2]}
    folder = save_dcp(state, tmp_path / "ckpt")
    oracle = dcp.FileSystemReader(str(folder)).read_metadata().state_dict_metadata
    index = paramtui.open_checkpoint(folder)
    expected = {k: v for k, v in flat(state).items() if isinstance(v, torch.Tensor)}
    assert index.format == "torch distributed checkpoint"
    assert set(index.tensors) == set(expected)
    assert set(index.metadata) == set(oracle) - set(expected)
    for name, tensor in expected.items():
        info = index.tensor(name)
        assert info.shape == tuple(oracle[name].size) == tuple(tensor.shape), name
        assert info.dtype == str(tensor.dtype).removeprefix("torch."), name
        assert torch.equal(values(info), tensor), name
    assert index.metadata["epoch"].preview == "3"
    assert index.metadata["run.name"].preview == "'tiny'"
    assert index.tensor("model.layers.3.weight").role == "parameter"
    assert index.tensor("optimizer.state.5.exp_avg").role == "optimizer state"
    assert index.files == [str(folder / "__0_0.distcp")]


def test_dcp_single_tensor_reads_match_torchs_own_loader(tmp_path: Path) -> None:
    state = tiny_net().state_dict()
    folder = save_dcp(dict(state), tmp_path / "m")
    template = {k: torch.empty_like(v) for k, v in state.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dcp.load(template, checkpoint_id=folder)
    ours = load_tensors(str(folder))
    assert list(ours) == list(template)
    for name, tensor in template.items():
        assert torch.equal(ours[name], tensor), name
        assert torch.equal(values(paramtui.open_checkpoint(folder).tensor(name)), tensor)


def test_dcp_sharded_tensor_maps_each_chunk_and_loads_whole(tmp_path: Path) -> None:
    torch.manual_seed(0)
    full = torch.randn(7, 3)
    folder = save_dcp({"emb": Rows(full, 3), "bias": torch.ones(2)}, tmp_path / "sh")
    index = paramtui.open_checkpoint(folder)
    info = index.tensor("emb")
    assert (info.shape, info.layout, info.location) == ((7, 3), "dcp-sharded", None)
    assert "dcp-sharded" in (access.unviewable_reason(info) or "")
    assert any("several chunks" in n for n in index.notes)
    parts = chunk_infos(str(folder), "emb")
    assert [offsets for offsets, _ in parts] == [(0, 0), (3, 0), (6, 0)]
    for (row, _), part in parts:
        assert torch.equal(values(part), full[row : row + part.shape[0]])
    assert torch.equal(load_tensor(str(folder), "emb"), full)
    assert torch.equal(values(index.tensor("bias")), torch.ones(2))


def test_dcp_safetensors_serialization_maps_in_place(tmp_path: Path) -> None:
    from torch.distributed.checkpoint.filesystem import SerializationFormat

    torch.manual_seed(1)
    state = {"a": torch.randn(3, 2), "b": torch.arange(4), "n": 5}
    writer = dcp.FileSystemWriter(
        str(tmp_path / "st"), serialization_format=SerializationFormat.SAFETENSORS
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dcp.save(state, storage_writer=writer)
    index = paramtui.open_checkpoint(tmp_path / "st")
    assert torch.equal(values(index.tensor("a")), state["a"])
    assert torch.equal(values(index.tensor("b")), state["b"])
    assert index.metadata["n"].preview == "5"


def test_dcp_metadata_is_read_with_an_allow_list(tmp_path: Path) -> None:
    folder = save_dcp({"w": torch.ones(2)}, tmp_path / "evil")
    marker = tmp_path / "ran"
    (folder / ".metadata").write_bytes(f"cos\nsystem\n(S'touch {marker}'\ntR.".encode())
    with pytest.raises(UnsafePickle, match="os.system"):
        paramtui.open_checkpoint(folder)
    with pytest.raises(UnsafePickle, match="os.system"):
        load_tensors(str(folder), [])
    assert not marker.exists()


def test_dcp_metadata_file_path_and_missing_shard(tmp_path: Path) -> None:
    folder = save_dcp({"w": torch.ones(2)}, tmp_path / "c")
    assert list(paramtui.open_checkpoint(folder / ".metadata").tensors) == ["w"]
    (folder / "__0_0.distcp").unlink()
    with pytest.raises(UnusableInput, match="incomplete"):
        paramtui.open_checkpoint(folder)


def test_dcp_storage_outside_the_folder_is_refused(tmp_path: Path) -> None:
    folder = save_dcp({"w": torch.ones(2)}, tmp_path / "c")
    meta = dcp.FileSystemReader(str(folder)).read_metadata()  # our own file: safe to unpickle
    for info in meta.storage_data.values():
        info.relative_path = "../elsewhere.distcp"
    (tmp_path / "elsewhere.distcp").write_bytes((folder / "__0_0.distcp").read_bytes())
    (folder / ".metadata").write_bytes(pickle.dumps(meta))
    with pytest.raises(UnusableInput, match="outside the checkpoint folder"):
        paramtui.open_checkpoint(folder)


_GLOO_SCRIPT = """
import os, sys, torch, torch.distributed as dist, torch.distributed.checkpoint as dcp
import torch.multiprocessing as mp
def run(rank, out, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor
    from torch.distributed.device_mesh import init_device_mesh
    mesh = init_device_mesh("cpu", (2,))
    torch.manual_seed(0)
    full = torch.randn(6, 4)
    dcp.save({"w": distribute_tensor(full, mesh, [Shard(1)]),
              "r": distribute_tensor(torch.arange(5.0), mesh, [Replicate()]), "step": 3},
             checkpoint_id=out)
    dist.destroy_process_group()
if __name__ == "__main__":
    mp.spawn(run, args=(sys.argv[1], sys.argv[2]), nprocs=2)
"""


@pytest.mark.slow
def test_dcp_written_by_two_gloo_ranks(tmp_path: Path) -> None:
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    script = tmp_path / "save.py"
    script.write_text(_GLOO_SCRIPT)
    subprocess.run([sys.executable, script, tmp_path / "d", port], check=True, timeout=120)
    index = paramtui.open_checkpoint(tmp_path / "d")
    torch.manual_seed(0)
    full = torch.randn(6, 4)
    assert index.tensor("w").layout == "dcp-sharded"
    assert len(index.files) == 2 and index.file_metadata["dcp.files"] == "2"
    assert torch.equal(load_tensor(str(tmp_path / "d"), "w"), full)
    assert torch.equal(values(index.tensor("r")), torch.arange(5.0))
    assert [o for o, _ in chunk_infos(str(tmp_path / "d"), "w")] == [(0, 0), (0, 2)]


# ---------------------------------------------------------------- TorchScript


class Scripted(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.BatchNorm1d(4)])
        self.register_buffer("scale", torch.full((2,), 0.5))
        self.fc1.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc1(x)
        for layer in self.layers:
            x = layer(x)
        return x * self.scale.sum() + torch.tensor([1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_lists_module_paths_roles_and_trainability(tmp_path: Path, how: str) -> None:
    torch.manual_seed(0)
    module = Scripted().eval()
    compiled = (
        torch.jit.script(module) if how == "script" else torch.jit.trace(module, torch.randn(2, 3))
    )
    path = tmp_path / "m.pt"
    torch.jit.save(compiled, path, _extra_files={"notes.txt": "trained for 3 epochs"})
    index = paramtui.open_checkpoint(path)
    oracle = torch.jit.load(path).state_dict()
    assert index.format == "torchscript"
    assert set(index.tensors) == set(oracle)
    assert not any(n.startswith("__torch__") for n in index.tensors)
    for name, tensor in oracle.items():
        info = index.tensor(name)
        assert info.shape == tuple(tensor.shape) and torch.equal(values(info), tensor), name
        assert info.role_recorded, name
    params, buffers = dict(module.named_parameters()), dict(module.named_buffers())
    assert {n for n, t in index.tensors.items() if t.role == "parameter"} == set(params)
    assert {n for n, t in index.tensors.items() if t.role == "buffer"} == set(buffers)
    assert {n: index.tensor(n).requires_grad for n in params} == {
        n: p.requires_grad for n, p in params.items()
    }
    assert index.file_metadata["extra/notes.txt"] == "trained for 3 epochs"
    if how == "trace":
        assert any(m.type_name == "tensor constant" for m in index.metadata.values())


# ---------------------------------------------------------------- GGUF


def write_gguf(path: Path):
    gguf = pytest.importorskip("gguf")
    from gguf.quants import quantize

    rng = __import__("numpy").random.default_rng(0)
    weights = {
        "token_embd.weight": rng.standard_normal((6, 64)).astype("float32"),
        "blk.0.attn_q.weight": rng.standard_normal((2, 4, 64)).astype("float32"),
        "blk.0.ffn_up.weight": rng.standard_normal((8, 32)).astype("float32"),
    }
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(1)
    writer.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(20)])
    writer.add_tensor("token_embd.weight", weights["token_embd.weight"])
    writer.add_tensor("output_norm.weight", weights["blk.0.ffn_up.weight"].astype("float16"))
    writer.add_tensor(
        "blk.0.attn_q.weight",
        quantize(weights["blk.0.attn_q.weight"], gguf.GGMLQuantizationType.Q8_0),
        raw_dtype=gguf.GGMLQuantizationType.Q8_0,
    )
    writer.add_tensor(
        "blk.0.ffn_up.weight",
        quantize(weights["blk.0.ffn_up.weight"], gguf.GGMLQuantizationType.Q4_0),
        raw_dtype=gguf.GGMLQuantizationType.Q4_0,
    )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return gguf, weights


def test_gguf_tensors_types_sizes_and_metadata(tmp_path: Path) -> None:
    gguf, weights = write_gguf(tmp_path / "m.gguf")
    index = paramtui.open_checkpoint(tmp_path / "m.gguf")
    reader = gguf.GGUFReader(str(tmp_path / "m.gguf"))
    assert index.format == "gguf"
    assert list(index.tensors) == [t.name for t in reader.tensors]
    for t in reader.tensors:
        info = index.tensor(t.name)
        assert info.shape == tuple(reversed(t.shape.tolist()))
        assert info.nbytes == t.n_bytes and info.location.nbytes == t.n_bytes
    assert index.tensor("blk.0.attn_q.weight").shape == (2, 4, 64)
    assert [index.tensor(n).dtype for n in index.tensors] == [
        "float32", "float16", "gguf:Q8_0", "gguf:Q4_0"
    ]  # fmt: skip
    assert index.tensor("blk.0.attn_q.weight").role == "parameter"
    assert torch.equal(
        values(index.tensor("token_embd.weight")), torch.from_numpy(weights["token_embd.weight"])
    )
    assert index.file_metadata["llama.block_count"] == "1"
    assert index.file_metadata["tokenizer.ggml.tokens"].startswith("[20 × string] ['t0', 't1'")
    assert "gguf-quantized" in access.unviewable_reason(index.tensor("blk.0.ffn_up.weight"))


def test_gguf_dequantizes_in_bounded_row_chunks(tmp_path: Path) -> None:
    from paramtui.core.formats.gguf import dequantize_chunks

    gguf, weights = write_gguf(tmp_path / "m.gguf")
    index = paramtui.open_checkpoint(tmp_path / "m.gguf")
    reader = {t.name: t for t in gguf.GGUFReader(str(tmp_path / "m.gguf")).tensors}
    for name in ("blk.0.attn_q.weight", "blk.0.ffn_up.weight"):
        info = index.tensor(name)
        chunks = list(dequantize_chunks(info, rows_per_chunk=3))
        assert all(c.numel() <= 3 * info.shape[-1] for c in chunks)
        ours = torch.cat(chunks)
        oracle = gguf.quants.dequantize(reader[name].data, reader[name].tensor_type)
        assert torch.equal(ours, torch.from_numpy(oracle.reshape(-1)))
        assert torch.allclose(ours, torch.from_numpy(weights[name]).reshape(-1), atol=0.5)


def test_gguf_without_the_package_says_how_to_install(tmp_path: Path, monkeypatch) -> None:
    write_gguf(tmp_path / "m.gguf")
    monkeypatch.setitem(sys.modules, "gguf", None)
    with pytest.raises(UnusableInput, match=r"paramtui\[gguf\]"):
        paramtui.open_checkpoint(tmp_path / "m.gguf")


# ---------------------------------------------------------------- torch.export


class Exported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.embed.weight  # tied
        self.bn = nn.BatchNorm1d(3)
        self.register_buffer("scale", torch.full((3,), 2.0), persistent=False)
        self.offset = torch.arange(5.0)  # a lifted tensor constant

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.bn(self.embed(x)) * self.scale) + self.offset


def test_torch_export_archive_lists_weights_and_constants(tmp_path: Path) -> None:
    torch.manual_seed(0)
    program = torch.export.export(Exported().eval(), (torch.tensor([1, 2]),))
    torch.export.save(program, tmp_path / "m.pt2")
    index = paramtui.open_checkpoint(tmp_path / "m.pt2")
    expected = {**program.state_dict, **program.constants}
    assert index.format == "torch.export archive"
    assert set(index.tensors) == set(expected)
    for name, tensor in expected.items():
        info = index.tensor(name)
        assert (info.shape, info.dtype) == (tuple(tensor.shape), str(tensor.dtype)[6:]), name
        assert torch.equal(values(info), tensor), name
    roles = {n: (t.role, t.role_recorded) for n, t in index.tensors.items()}
    assert roles["embed.weight"] == ("parameter", True)
    assert roles["bn.running_mean"] == roles["scale"] == ("buffer", True)
    assert roles["offset"] == ("other", True)
    assert index.tensor("embed.weight").device == "cpu"
    assert index.shared_with("head.weight") == ["embed.weight"]  # tied: one payload


def test_pt2_without_a_program_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "bad.pt2"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("bad/archive_format", "pt2")
        z.writestr("bad/data/aotinductor/model/x.so", b"\0")
    with pytest.raises(UnusableInput, match="AOTInductor"):
        paramtui.open_checkpoint(path)


# ---------------------------------------------------------------- bare tensors and lists


def test_bare_tensor_and_lists_get_positional_names(tmp_path: Path) -> None:
    t = torch.arange(6.0).reshape(2, 3)
    torch.save(t, tmp_path / "t.pt")
    torch.save([t, torch.zeros(3, dtype=torch.int64), "tag"], tmp_path / "l.pt")
    torch.save((nn.Parameter(torch.ones(2)), {"a": t[1]}), tmp_path / "n.pt")
    assert list(paramtui.open_checkpoint(tmp_path / "t.pt").tensors) == ["tensor"]
    listed = paramtui.open_checkpoint(tmp_path / "l.pt")
    assert list(listed.tensors) == ["0", "1"] and listed.metadata["2"].preview == "'tag'"
    assert torch.equal(values(listed.tensor("0")), t)
    nested = paramtui.open_checkpoint(tmp_path / "n.pt")
    assert nested.tensor("0").role == "parameter" and nested.tensor("0").role_recorded
    assert torch.equal(values(nested.tensor("1.a")), t[1])


def test_new_formats_index_without_importing_torch(tmp_path: Path) -> None:
    pytest.importorskip("gguf")
    write_gguf(tmp_path / "m.gguf")
    save_dcp({"w": torch.ones(2)}, tmp_path / "d")
    code = (
        "import sys, paramtui\n"
        f"paramtui.open_checkpoint({str(tmp_path / 'm.gguf')!r})\n"
        f"paramtui.open_checkpoint({str(tmp_path / 'd')!r})\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_saving_a_gguf_with_quantized_tensors_is_refused_clearly(tmp_path: Path) -> None:
    import numpy as np

    gguf = pytest.importorskip("gguf")
    from paramtui.core.errors import SaveRefused
    from paramtui.edits import EditSession
    from paramtui.io.save import save

    path = tmp_path / "q.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    data = np.random.default_rng(0).standard_normal((4, 64)).astype(np.float32)
    writer.add_tensor(
        "w",
        gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0),
        raw_dtype=gguf.GGMLQuantizationType.Q8_0,
    )
    writer.add_tensor("b", data[0])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    session = EditSession(paramtui.open_checkpoint(path))
    with pytest.raises(SaveRefused, match="cannot be read as plain bytes"):
        save(session, str(tmp_path / "out.safetensors"))
    assert not (tmp_path / "out.safetensors").exists()
