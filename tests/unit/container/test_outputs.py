"""repack.container.outputs.read_dist_info: what the PEP 517 metadata hook (upstream code)
wrote, read beneath the build tree; real files in tmp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repack.container.outputs import read_dist_info
from repack.errors import BuildError, MetadataError


def _dist_info(root: Path, name: str = "demo-1.0.dist-info", *,
               entry_points: str | None = None) -> Path:
    info = root / "metadata" / name
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)
    return info


def test_metadata_and_entry_points(tmp_path: Path) -> None:
    _dist_info(tmp_path, entry_points="[console_scripts]\ndemo = demo:main\n")
    metadata, entry_points = read_dist_info(tmp_path, "metadata", project="demo")
    assert metadata.startswith(b"Metadata-Version: 2.1\nName: demo\n")
    assert entry_points == "[console_scripts]\ndemo = demo:main\n"


def test_no_entry_points_is_none(tmp_path: Path) -> None:
    _dist_info(tmp_path)
    assert read_dist_info(tmp_path, "metadata")[1] is None


@pytest.mark.parametrize("names", [(), ("a-1.dist-info", "b-1.dist-info")])
def test_not_exactly_one_dist_info_is_refused(tmp_path: Path, names: tuple[str, ...]) -> None:
    (tmp_path / "metadata").mkdir()
    for name in names:
        _dist_info(tmp_path, name)
    with pytest.raises(MetadataError, match="no single .dist-info"):
        read_dist_info(tmp_path, "metadata", project="demo")


def test_a_symlinked_metadata_is_not_followed(tmp_path: Path) -> None:
    info = _dist_info(tmp_path)
    secret = tmp_path / "host-secret"
    secret.write_text("not for the package")
    (info / "METADATA").unlink()
    os.symlink(secret, info / "METADATA")
    with pytest.raises(BuildError):
        read_dist_info(tmp_path, "metadata", project="demo")
