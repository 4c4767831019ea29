"""The fast central-directory reader agrees with zipfile, zip64 included."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from paramtui.core.formats.zipdir import ZipError, read_stored_records


@pytest.mark.parametrize("force_zip64", [False, True])
def test_matches_zipfile(tmp_path: Path, force_zip64: bool) -> None:
    path = tmp_path / "a.zip"
    payloads = {f"archive/data/{i}": bytes(range(i % 250)) * (i + 1) for i in range(40)}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, payload in payloads.items():
            with zf.open(name, "w", force_zip64=force_zip64) as f:
                f.write(payload)
        zf.writestr("archive/deflated", b"x" * 100, compress_type=zipfile.ZIP_DEFLATED)
    records = read_stored_records(str(path))
    data = path.read_bytes()
    assert set(records) == set(payloads)  # the deflated record is not mappable, so not listed
    for name, payload in payloads.items():
        offset, size = records[name]
        assert data[offset : offset + size] == payload


def test_truncated_zip(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x", b"y" * 1000)
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ZipError):
        read_stored_records(str(path))
