"""Saving an edit session: lossless, atomic, verified, in every direction."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.nn.utils import prune

import paramtui
from checkpoints import saved_as_device, tiny_net, training_checkpoint, write_full_model_pickle
from paramtui.core.errors import SaveRefused
from paramtui.edits import EditSession, Freeze, MakePrunePermanent, Prune, Zero
from paramtui.io.freeze import apply_freeze
from paramtui.io.save import default_save_path, save
from paramtui.io.verify import verify


def session_of(path: Path) -> EditSession:
    return EditSession(paramtui.open_checkpoint(path))


def bits(t: torch.Tensor) -> bytes:
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flat_state(obj: object, prefix: str = "") -> dict[str, torch.Tensor]:
    from checkpoints import flatten_loaded

    return flatten_loaded(obj, prefix)


@pytest.fixture
def train_ckpt(tmp_path: Path) -> Path:
    path = tmp_path / "train.pth"
    ckpt = training_checkpoint()
    weird = ckpt["model"]["layers.5.weight"]  # type: ignore[index]
    weird[0, 0] = float("nan")
    weird[0, 1] = -0.0
    torch.save(ckpt, path)
    return path


def test_record_rewrite_is_lossless(train_ckpt: Path, tmp_path: Path) -> None:
    before = digest(train_ckpt)
    session = session_of(train_ckpt)
    session.apply(Zero("model.head.weight"))  # tied with model.embed.weight
    session.apply(Freeze("model.layers.1"))
    out = tmp_path / "out.pth"
    report = save(session, str(out))
    assert report.verified and report.method == "record rewrite"
    assert digest(train_ckpt) == before  # the source is never written
    src = torch.load(train_ckpt, weights_only=True)
    got = torch.load(out, weights_only=True)
    assert got["model"]["embed.weight"].abs().sum() == 0
    assert got["model"]["head.weight"].data_ptr() == got["model"]["embed.weight"].data_ptr()
    edited = {"model.head.weight", "model.embed.weight"}
    for name, tensor in flat_state(src).items():
        if name not in edited:
            assert bits(flat_state(got)[name]) == bits(tensor), name  # NaN payload, -0.0 too
    assert got["model"]._metadata == src["model"]._metadata
    assert got["epoch"] == 3 and got["hparams"] == src["hparams"]
    assert got["optimizer"]["param_groups"] == src["optimizer"]["param_groups"]
    net = tiny_net()
    net.load_state_dict(got["model"], strict=True)
    report = apply_freeze(net, out)
    assert sorted(report.frozen) == ["layers.1.bias", "layers.1.weight"]
    assert report.prefix == "model." and not report.unmatched
    assert not net.layers[1].weight.requires_grad and net.layers[2].weight.requires_grad
    assert paramtui.open_checkpoint(out).tensor("model.layers.1.weight").requires_grad is False


def test_devices_survive_both_save_paths(tmp_path: Path) -> None:
    src = tmp_path / "gpu.pth"
    legacy = tmp_path / "gpu_legacy.pth"
    with saved_as_device("cuda:0"):
        torch.save(tiny_net().state_dict(), src)
        torch.save(tiny_net().state_dict(), legacy, _use_new_zipfile_serialization=False)
    for source, method in [(src, "record rewrite"), (legacy, "torch.save")]:
        session = session_of(source)
        session.apply(Zero("layers.2.weight"))
        out = tmp_path / f"out-{source.stem}.pth"
        report = save(session, str(out))
        assert report.verified and report.method == method
        assert {t.device for t in paramtui.open_checkpoint(out)} == {"cuda:0"}
        assert paramtui.open_checkpoint(out).shared_with("head.weight") == ["embed.weight"]


def test_unimportable_classes_stay_editable(tmp_path: Path) -> None:
    path = write_full_model_pickle(tmp_path)
    session = session_of(path)
    session.apply(Zero("body.2.weight"))
    out = tmp_path / "edited.pt"
    assert save(session, str(out)).verified
    assert "ptui_secret_model" not in sys.modules
    index = paramtui.open_checkpoint(out)
    assert index.tensor("body.0.weight").requires_grad is False  # recorded flags kept
    from paramtui.core.access import open_tensor

    assert open_tensor(index.tensor("body.2.weight")).abs().sum() == 0


def test_make_permanent_saves_through_torch(tmp_path: Path) -> None:
    net = tiny_net()
    prune.l1_unstructured(net.layers[4], "weight", amount=0.5)
    path = tmp_path / "pruned.pth"
    with saved_as_device("cuda:0"):
        torch.save(net.state_dict(), path)
    session = session_of(path)
    session.apply(MakePrunePermanent("layers.4"))
    out = tmp_path / "permanent.pth"
    report = save(session, str(out))
    assert report.method == "torch.save" and report.verified
    loaded = torch.load(out, weights_only=True, map_location="cpu")
    assert "layers.4.weight" in loaded and "layers.4.weight_orig" not in loaded
    assert torch.equal(loaded["layers.4.weight"], net.layers[4].weight)
    assert {t.device for t in paramtui.open_checkpoint(out)} == {"cuda:0"}


def test_safetensors_round_trip_keeps_metadata(tmp_path: Path) -> None:
    src = tmp_path / "m.safetensors"
    tensors = {"a.weight": torch.randn(4, 3), "b": torch.arange(5), "c": torch.ones(2).bfloat16()}
    save_file(tensors, src, metadata={"format": "pt", "note": "hello"})
    session = session_of(src)
    session.apply(Zero("a.weight"))
    session.apply(Freeze("a.weight"))
    out = tmp_path / "m.edited.safetensors"
    assert save(session, str(out)).verified
    with safe_open(out, "pt") as f:
        meta = f.metadata()
        assert meta["format"] == "pt" and meta["note"] == "hello"
        assert f.get_tensor("a.weight").abs().sum() == 0
        assert bits(f.get_tensor("c")) == bits(tensors["c"])
    assert paramtui.open_checkpoint(out).tensor("a.weight").requires_grad is False


def test_conversions(tmp_path: Path) -> None:
    state = tiny_net().state_dict()
    state.pop("head.weight")  # untied, so safetensors can hold it
    pth = tmp_path / "sd.pth"
    torch.save(state, pth)
    st = tmp_path / "sd.safetensors"
    assert save(session_of(pth), str(st)).verified
    back = tmp_path / "back.pth"
    assert save(session_of(st), str(back)).verified
    loaded = torch.load(back, weights_only=True)
    assert set(loaded) == set(state)
    assert all(bits(loaded[k]) == bits(v) for k, v in state.items())


def test_safetensors_refusals_name_the_problem(train_ckpt: Path, tmp_path: Path) -> None:
    with pytest.raises(SaveRefused, match="non-tensor entries.*share storage"):
        save(session_of(train_ckpt), str(tmp_path / "x.safetensors"))
    assert not (tmp_path / "x.safetensors").exists()
    complex_src = tmp_path / "c.pth"
    torch.save({"z": torch.zeros(2, dtype=torch.complex128)}, complex_src)
    with pytest.raises(SaveRefused, match="complex128"):
        save(session_of(complex_src), str(tmp_path / "c.safetensors"))


def test_existing_destination_needs_overwrite(train_ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pth"
    out.write_bytes(b"previous")
    with pytest.raises(SaveRefused, match="already exists"):
        save(session_of(train_ckpt), str(out))
    assert out.read_bytes() == b"previous"
    assert save(session_of(train_ckpt), str(out), overwrite=True).verified


def test_saving_over_the_mapped_source(train_ckpt: Path) -> None:
    session = session_of(train_ckpt)
    view = session.tensor("model.layers.3.weight")  # a live mmap view of the source
    expected = bits(view)
    session.apply(Zero("model.layers.2.weight"))
    assert save(session, str(train_ckpt), overwrite=True).verified
    assert bits(view) == expected  # the old mapping still reads the old bytes: no SIGBUS
    loaded = torch.load(train_ckpt, weights_only=True)
    assert loaded["model"]["layers.2.weight"].abs().sum() == 0


def test_default_save_path(tmp_path: Path) -> None:
    src = tmp_path / "model.pth"
    src.write_bytes(b"x")
    assert default_save_path(str(src)) == str(tmp_path / "model.edited.pth")
    (tmp_path / "model.edited.pth").write_bytes(b"x")
    assert default_save_path(str(src)) == str(tmp_path / "model.edited.2.pth")


def test_verify_catches_a_corrupted_output(train_ckpt: Path, tmp_path: Path) -> None:
    session = session_of(train_ckpt)
    out = tmp_path / "out.pth"
    save(session, str(out))
    info = paramtui.open_checkpoint(out).tensor("model.layers.7.weight")
    assert info.location is not None
    with open(out, "r+b") as f:
        f.seek(info.location.offset)
        f.write(b"\x01\x02\x03\x04")
    for source in (None, str(train_ckpt)):
        _, problems = verify(session, str(out), check_devices=True, rewritten_from=source)
        assert problems, source


def test_a_save_that_does_not_verify_replaces_nothing(
    train_ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paramtui.io.save_zip as save_zip
    from paramtui.io.zipwrite import copy_chunks

    def corrupting(writer, src, record):  # type: ignore[no-untyped-def]
        data = b"".join(copy_chunks(src, record.data_offset, record.size))
        if record.size == 24:
            data = bytes([data[0] ^ 1]) + data[1:]
        writer.write(record.name, [data], record.size, record.crc32)

    monkeypatch.setattr(save_zip, "_copy", corrupting)
    out = tmp_path / "out.pth"
    out.write_bytes(b"previous")
    with pytest.raises(SaveRefused, match="did not verify"):
        save(session_of(train_ckpt), str(out), overwrite=True)
    assert out.read_bytes() == b"previous"
    assert not list(tmp_path.glob("*.partial"))


def test_read_only_destination(tmp_path: Path, train_ckpt: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root on a file system without immutable folders")
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(SaveRefused, match="not writable|cannot write|Permission|Operation"):
            save(session_of(train_ckpt), str(folder / "out.pth"))
        assert list(folder.iterdir()) == []
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        folder.chmod(0o755)


KILLED_SAVE = """
import sys, time, paramtui
from paramtui.edits import EditSession, Zero
from paramtui.io import save as save_mod
from paramtui.io.zipwrite import ZipWriter
def slowed(real):
    def slow(self, *a, **k):
        time.sleep(0.05)
        return real(self, *a, **k)
    return slow
ZipWriter.write = slowed(ZipWriter.write)
ZipWriter.copy_from = slowed(ZipWriter.copy_from)
s = EditSession(paramtui.open_checkpoint(sys.argv[1]))
s.apply(Zero("w0"))
print("saving", flush=True)
save_mod.save(s, sys.argv[2], overwrite=True)
"""


def test_sigkill_during_save_leaves_everything_intact(tmp_path: Path) -> None:
    src = tmp_path / "big.pth"
    torch.save({f"w{i}": torch.randn(64, 64) for i in range(60)}, src)
    out = tmp_path / "out.pth"
    out.write_bytes(b"previous output")
    src_digest = digest(src)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVE, str(src), str(out)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "saving"
    deadline = time.time() + 30
    while not list(tmp_path.glob(".out.pth.*.partial")) and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # well inside the writing of the records
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert digest(src) == src_digest
    assert out.read_bytes() == b"previous output"
    paramtui.open_checkpoint(src)


def test_prune_then_save_matches_torch(tmp_path: Path) -> None:
    net = tiny_net()
    path = tmp_path / "sd.pth"
    torch.save(net.state_dict(), path)
    session = session_of(path)
    session.apply(Prune("layers.6.weight", amount=0.5))
    out = tmp_path / "pruned.pth"
    save(session, str(out))
    prune.l1_unstructured(net.layers[6], "weight", amount=0.5)
    prune.remove(net.layers[6], "weight")
    assert torch.equal(torch.load(out, weights_only=True)["layers.6.weight"], net.layers[6].weight)
