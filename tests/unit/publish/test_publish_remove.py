"""`repack repo remove` through the real CLI: -t TARGET, --dry-run, and the source packages
(.dsc with its files, .src.rpm) leaving with their binaries; the tree stays signed and
verifiable.  Real tiny .debs, a real .dsc, real rpms and a source rpm, a real key."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from debian import deb822
from repotools import make_deb  # type: ignore[import-not-found]
from rpmkit import build_rpm  # type: ignore[import-not-found]

from repack import cli

pytestmark = pytest.mark.process   # every test here runs a real local command


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def make_dsc(dest: Path, source: str, version: str, binary: str) -> Path:
    """A real (unsigned) source package: the .dsc and the tarball it names."""
    tar = dest / f"{source}_{version}.tar.xz"
    tar.write_bytes(b"not really a tarball, but a file with a digest\n")
    data = tar.read_bytes()
    dsc = dest / f"{source}_{version}.dsc"
    dsc.write_text(
        f"Format: 3.0 (native)\nSource: {source}\nBinary: {binary}\nArchitecture: all\n"
        f"Version: {version}\nMaintainer: Test <test@example.org>\n"
        f"Checksums-Sha256:\n {hashlib.sha256(data).hexdigest()} {len(data)} {tar.name}\n"
        f"Files:\n {hashlib.md5(data).hexdigest()} {len(data)} {tar.name}\n")
    return dsc


def publish_all(tmp: Path, home: Path) -> Path:
    """python3-a 1.0 (source python-a) for debian-12 and debian-13, and for fedora-42 with
    its source rpm; python3-b for debian-12."""
    out = tmp / "out"
    for tid in ("debian-12", "debian-13"):
        make_deb(out / tid, "python3-a", "1.0-1", source="python-a")
        make_dsc(out / tid, "python-a", "1.0-1", "python3-a")
    make_deb(out / "debian-12", "python3-b", "2-1")
    rpm = build_rpm(tmp / "build", "python3-a", "1.0")
    (out / "fedora-42").mkdir(parents=True)
    rpm.rename(out / "fedora-42" / rpm.name)
    top = tmp / "build" / "rpmbuild-python3-a-1.0-1"
    subprocess.run(["rpmbuild", "-bs", "--define", f"_topdir {top}", "--quiet",
                    str(top / "python3-a.spec")], check=True, capture_output=True)
    (srpm,) = (top / "SRPMS").glob("*.src.rpm")
    srpm.rename(out / "fedora-42" / srpm.name)
    repo = tmp / "repo"
    code, _, err = run("publish", out, "--repo", repo, "--gnupghome", home)
    assert code == 0, err
    return repo


def sources(repo: Path, codename: str) -> list[tuple[str, str]]:
    text = (repo / f"apt/dists/{codename}/main/source/Sources").read_text()
    return [(s["Package"], s["Version"])
            for s in deb822.Sources.iter_paragraphs(text, use_apt_pkg=False)]


def binaries(repo: Path, codename: str) -> list[str]:
    text = (repo / f"apt/dists/{codename}/main/binary-all/Packages").read_text()
    return [p["Package"] for p in deb822.Packages.iter_paragraphs(text, use_apt_pkg=False)]


def yum_files(repo: Path, tid: str) -> list[str]:
    return sorted(n for n in os.listdir(repo / "yum" / tid) if n.endswith(".rpm"))


def primary(repo: Path) -> str:
    """The primary metadata the signed repomd.xml names (the old one stays beside it)."""
    repomd = ET.parse(repo / "repodata/repomd.xml").getroot()
    ns = "{http://linux.duke.edu/metadata/repo}"
    (href,) = [d.find(f"{ns}location").attrib["href"]  # type: ignore[union-attr]
               for d in repomd.iter(f"{ns}data") if d.attrib["type"] == "primary"]
    return gzip.decompress((repo / href).read_bytes()).decode()


def test_dry_run_prints_what_would_go_and_changes_nothing(tmp_path: Path, home: Path) -> None:
    repo = publish_all(tmp_path, home)
    before = os.readlink(repo / ".repack" / "current")
    # no --gnupghome: a dry run needs no key
    code, out, err = run("repo", "remove", "python3-a", "--repo", repo, "--dry-run")
    assert code == 0, err
    pool = "pool/main/p/python-a"
    deb = f"{pool}/python3-a_1.0-1_all.deb"
    src = f"{pool}/python-a_1.0-1.dsc, {pool}/python-a_1.0-1.tar.xz"
    assert out.splitlines() == [
        f"would remove bookworm: python3-a 1.0-1 ({deb})",
        f"would remove bookworm: source python-a 1.0-1 ({src})",
        f"would remove trixie: python3-a 1.0-1 ({deb})",
        f"would remove trixie: source python-a 1.0-1 ({src})",
        "would remove fedora-42: python3-a-1.0-1.noarch.rpm",
        "would remove fedora-42: python3-a-1.0-1.src.rpm"]
    assert os.readlink(repo / ".repack" / "current") == before
    assert (repo / "apt/pool/main/p/python-a/python-a_1.0-1.dsc").is_file()
    code, out, _ = run("repo", "remove", "python3-a", "-t", "fedora-42", "--repo", repo,
                       "--dry-run")
    assert code == 0 and len(out.splitlines()) == 2 and "fedora-42" in out


def test_remove_from_one_target_takes_the_source_package_along(tmp_path: Path,
                                                                home: Path) -> None:
    repo = publish_all(tmp_path, home)
    assert sources(repo, "bookworm") == [("python-a", "1.0-1")]
    code, _, err = run("repo", "remove", "python3-a", "-t", "debian-12", "--repo", repo,
                       "--gnupghome", home)
    assert code == 0, err
    assert sources(repo, "bookworm") == [] and binaries(repo, "bookworm") == ["python3-b"]
    # the other targets keep theirs, and so the shared pool keeps the files
    assert sources(repo, "trixie") == [("python-a", "1.0-1")]
    assert binaries(repo, "trixie") == ["python3-a"]
    assert yum_files(repo, "fedora-42") == ["python3-a-1.0-1.noarch.rpm",
                                            "python3-a-1.0-1.src.rpm"]
    assert (repo / "apt/pool/main/p/python-a/python-a_1.0-1.tar.xz").is_file()
    assert run("repo", "verify", repo)[0] == 0

    code, _, err = run("repo", "remove", "python3-a=1.0", "-t", "fedora-42", "--repo", repo,
                       "--gnupghome", home)
    assert code == 0, err
    assert yum_files(repo, "fedora-42") == []
    assert "python3-a" not in primary(repo / "yum/fedora-42")
    assert run("repo", "verify", repo)[0] == 0

    code, _, err = run("repo", "remove", "python3-a", "--repo", repo, "--gnupghome", home)
    assert code == 0, err
    assert sources(repo, "trixie") == [] and binaries(repo, "trixie") == []
    assert not (repo / "apt/pool/main/p/python-a").exists()      # the last users are gone
    code, out, err = run("repo", "verify", repo)
    assert code == 0, out + err
    code, out, _ = run("repo", "list", "--repo", repo)
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["python3-b"]


def test_bad_requests_are_one_line_errors(tmp_path: Path, home: Path) -> None:
    repo = publish_all(tmp_path, home)
    code, _, err = run("repo", "remove", "python3-a", "-t", "nosuch", "--repo", repo,
                       "--dry-run")
    assert code == 2 and "unknown target" in err and "Traceback" not in err
    code, _, err = run("repo", "remove", "python3-b", "-t", "fedora-42", "--repo", repo,
                       "--gnupghome", home)
    assert code == 2 and "not in" in err and "fedora-42" in err
    code, _, err = run("repo", "remove", "python3-zz", "--repo", repo, "--dry-run")
    assert code == 2 and err.count("\n") <= 2
    code, _, err = run("repo", "remove", "x", "--repo", tmp_path / "nothing", "--dry-run")
    assert code == 2 and "not a repack repository" in err
    assert not (tmp_path / "nothing").exists()
