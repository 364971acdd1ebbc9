"""Spliced yum metadata (repack.publish.repodata): the old packages' gzip members are
reused as they are, the result reads as one document (Python's gzip, createrepo_c) and
equals what createrepo_c makes of the same rpms; real rpmbuild, createrepo_c and gpg."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from rpmkit import build_rpm, make_signer, stop_agent  # type: ignore[import-not-found]

from repack.gpg import Signer
from repack.publish import repodata, yum

pytestmark = pytest.mark.process   # every test here runs a real local command


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signer]:
    s = make_signer(tmp_path_factory.mktemp("gnupg"))
    yield s
    stop_agent(s.gnupghome)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four unsigned rpms, built once: publish_yum signs copies in its stage, never these."""
    work = tmp_path_factory.mktemp("build")
    return [build_rpm(work, f"python3-m{i}", "1.0") for i in range(4)]


def primary(repo: Path) -> bytes:
    return repodata.current_files(repo / "repodata")["primary"].read_bytes()


def listed(packed: bytes) -> list[str]:
    root = ET.fromstring(gzip.decompress(packed))
    names = sorted(ET.tostring(p).decode() for p in root)
    assert int(root.attrib["packages"]) == len(names)
    return names


def test_splices_reuse_the_old_members(tmp_path: Path, signer: Signer,
                                       built: list[Path]) -> None:
    stage = tmp_path / "stage"
    yum.publish_yum(stage, "el9", built[:1], signer)        # createrepo_c: one member
    repo = stage / "yum" / "el9"
    assert len(repodata.gzip_members(primary(repo))) == 1
    yum.publish_yum(stage, "el9", built[1:2], signer)       # start tag, packages, end tag
    before = repodata.gzip_members(primary(repo))
    assert len(before) == 3
    for rpm in built[2:]:
        yum.publish_yum(stage, "el9", [rpm], signer)
    after = repodata.gzip_members(primary(repo))
    assert len(after) == 5 and after[1][0] == before[1][0]   # copied, not recompressed
    full = tmp_path / "full"
    shutil.copytree(repo, full, ignore=shutil.ignore_patterns("repodata"))
    subprocess.run(["createrepo_c", "--quiet", "--no-database", "--general-compress-type", "gz",
                    str(full)],
                   check=True)
    for kind in repodata.ROOTS:
        ours = repodata.current_files(repo / "repodata")[kind].read_bytes()
        theirs = repodata.current_files(full / "repodata")[kind].read_bytes()
        assert listed(ours) == listed(theirs), kind
    assert yum.verify_yum(stage, signer_key(signer, tmp_path)) == []
    # remove and prune run createrepo_c --update over the spliced files
    subprocess.run(["createrepo_c", "--update", "--quiet", "--skip-stat", "--no-database",
                    "--general-compress-type", "gz", str(repo)],
                   check=True)
    assert len(listed(primary(repo))) == 4


def signer_key(signer: Signer, tmp: Path) -> Path:
    key = tmp / "key.asc"
    key.write_bytes(signer.export_public(armor=True))
    return key


def test_past_max_members_they_are_packed_into_one(tmp_path: Path, signer: Signer,
                                                   built: list[Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repodata, "MAX_MEMBERS", 2)
    stage = tmp_path / "stage"
    for rpm in built:
        yum.publish_yum(stage, "el9", [rpm], signer)
    repo = stage / "yum" / "el9"
    counts = len(repodata.gzip_members(primary(repo)))
    assert counts == 3                       # 1, 3, 4, then packed: 3
    assert len(listed(primary(repo))) == 4
