"""Channels, `repo promote` and `repo rollback` through the real CLI, with real tiny .debs
and rpms and a real key; and the pure naming rules of repack.publish.channels."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from debian import deb822
from repotools import make_deb  # type: ignore[import-not-found]
from rpmkit import build_rpm  # type: ignore[import-not-found]

from repack import cli
from repack.errors import ConfigError, HostError
from repack.publish import channels, publisher, yum
from repack.targets import TARGET_ID


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


# -- pure ----------------------------------------------------------------------------------

def test_channel_names() -> None:
    assert channels.check(None) is None and channels.check("stable") is None
    assert channels.check("testing") == "testing" and channels.check("rc2") == "rc2"
    for bad in ("security", "Testing", "2fast", "a-b", "a_b", "a/b", "..", "", "x" * 17,
                "testing\n"):
        with pytest.raises(ConfigError):
            channels.check(bad)


def test_layout_never_collides_with_a_target_or_the_default() -> None:
    assert channels.apt_suite("bookworm", None) == "bookworm"
    assert channels.apt_suite("bookworm", "testing") == "bookworm-testing"
    assert channels.yum_dir("el9", None) == "el9"
    assert channels.yum_dir("el9", "testing") == "el9_testing"
    assert not TARGET_ID.fullmatch(channels.yum_dir("el9", "testing"))
    assert channels.split_yum_dir("el9_testing") == ("el9", "testing")
    assert channels.split_yum_dir("fedora-42") == ("fedora-42", None)
    known = ["bookworm", "trixie"]
    assert channels.split_suite("bookworm", known) == ("bookworm", None)
    assert channels.split_suite("bookworm-testing", known) == ("bookworm", "testing")
    assert channels.split_suite("bookworm-security", known) is None
    assert channels.split_suite("sid-testing", known) is None


# -- through the CLI -----------------------------------------------------------------------

def release(repo: Path, suite: str) -> deb822.Release:
    return deb822.Release((repo / f"apt/dists/{suite}/Release").read_text())


def binaries(repo: Path, suite: str) -> list[tuple[str, str, str]]:
    path = repo / f"apt/dists/{suite}/main/binary-all/Packages"
    if not path.is_file():
        return []
    return [(p["Package"], p["Version"], p["SHA256"])
            for p in deb822.Packages.iter_paragraphs(path.read_text(), use_apt_pkg=False)]


def rpms(repo: Path, where: str) -> list[str]:
    """The rpm file names the signed primary metadata of yum/<where> lists."""
    base = repo / "yum" / where
    if not (base / "repodata/repomd.xml").is_file():
        return []
    ns = "{http://linux.duke.edu/metadata/repo}"
    (href,) = [d.find(f"{ns}location").attrib["href"]  # type: ignore[union-attr]
               for d in ET.parse(base / "repodata/repomd.xml").getroot().iter(f"{ns}data")
               if d.attrib["type"] == "primary"]
    text = gzip.decompress((base / href).read_bytes()).decode()
    return sorted(Path(h).name for h in
                  (loc.split('"')[1] for loc in text.split("<location href=")[1:]))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def artifacts(tmp: Path, version: str) -> Path:
    out = tmp / f"out-{version}"
    make_deb(out / "debian-12", "python3-a", f"{version}-1")
    (out / "fedora-42").mkdir(parents=True)
    rpm = build_rpm(tmp / "build", "python3-a", version)
    rpm.rename(out / "fedora-42" / rpm.name)
    return out


@pytest.mark.process
def test_publish_promote_rollback(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    key = ("--repo", repo, "--gnupghome", home)
    v1 = artifacts(tmp_path, "1.0")
    code, _, err = run("publish", v1, "--channel", "testing", *key)
    assert code == 0, err
    assert [b[:2] for b in binaries(repo, "bookworm-testing")] == [("python3-a", "1.0-1")]
    # the stable suite and yum repository are there, empty: their clients work already
    assert binaries(repo, "bookworm") == [] and release(repo, "bookworm")["SHA256"]
    assert release(repo, "bookworm-testing")["Suite"] == "bookworm-testing"
    assert not (repo / "apt/dists/bookworm-testing-security").exists()
    assert rpms(repo, "fedora-42_testing") == ["python3-a-1.0-1.noarch.rpm"]
    assert rpms(repo, "fedora-42") == [] and (repo / "yum/fedora-42/repodata").is_dir()
    clients = sorted(os.listdir(repo / "client"))
    assert "repack-bookworm-testing.sources" in clients
    assert {"repack-fedora-42_testing.repo", "repack-fedora-42.repo",
            "repack-bookworm.sources"} <= set(clients)
    assert "Suites: bookworm-testing\n" in (
        repo / "client/repack-bookworm-testing.sources").read_text()
    assert run("repo", "verify", repo)[0] == 0
    # the channel's yum directory serves on its own, copied with its symlinks kept
    copy = tmp_path / "served" / "fedora-42_testing"
    shutil.copytree(repo / "yum/fedora-42_testing", copy, symlinks=True)
    assert not [p for p in copy.rglob("*") if p.is_symlink()]
    assert yum.verify_target(copy, repo / "keys/repack.asc") == []
    code, out, _ = run("repo", "list", "--repo", repo, "--channel", "testing")
    assert code == 0 and "bookworm-testing" in out and "fedora-42_testing" in out
    code, out, _ = run("repo", "list", "--repo", repo, "--channel", "stable")
    assert code == 0 and "python3-a" not in out

    code, _, err = run("repo", "promote", "A==1.0", "--from", "testing", "--to", "stable",
                       *key)
    assert code == 0, err
    (deb,) = binaries(repo, "bookworm")
    assert deb == binaries(repo, "bookworm-testing")[0]      # the same file, same sha256
    assert rpms(repo, "fedora-42") == ["python3-a-1.0-1.noarch.rpm"]
    name = "python3-a-1.0-1.noarch.rpm"
    assert sha(repo / "yum/fedora-42" / name) == sha(repo / "yum/fedora-42_testing" / name)
    assert run("repo", "verify", repo)[0] == 0
    before = os.readlink(repo / ".repack/current")
    code, _, err = run("repo", "promote", "a", "--from", "testing", "--to", "stable", *key)
    assert code == 0 and "nothing new" in err
    assert os.readlink(repo / ".repack/current") == before

    code, out, err = run("repo", "remove", "python3-a", "--channel", "testing", "--dry-run",
                         "--repo", repo)
    assert code == 0, err
    assert [line.split()[2] for line in out.splitlines()] == ["bookworm-testing:",
                                                              "fedora-42_testing:"]
    code, _, err = run("repo", "remove", "python3-a", "--channel", "testing", *key)
    assert code == 0, err
    assert binaries(repo, "bookworm-testing") == [] and rpms(repo, "fedora-42_testing") == []
    assert [b[:2] for b in binaries(repo, "bookworm")] == [("python3-a", "1.0-1")]
    assert (repo / "yum/fedora-42" / name).is_file()
    assert run("repo", "verify", repo)[0] == 0

    v2 = artifacts(tmp_path, "2.0")
    assert run("publish", v2, *key)[0] == 0
    assert [b[1] for b in binaries(repo, "bookworm")] == ["1.0-1", "2.0-1"]
    dated = parsedate_to_datetime(release(repo, "bookworm")["Date"])
    code, _, err = run("repo", "rollback", *key)
    assert code == 0, err
    assert [b[1] for b in binaries(repo, "bookworm")] == ["1.0-1"]
    assert rpms(repo, "fedora-42") == [name]
    assert parsedate_to_datetime(release(repo, "bookworm")["Date"]) >= dated
    assert run("repo", "verify", repo)[0] == 0
    code, out, _ = run("repo", "generations", "--repo", repo)
    assert code == 0
    (old, _, by), (_new, _, *restored) = (line.split(maxsplit=2) for line in out.splitlines())
    assert by == "publish" and restored == [f"rollback (of gen-{int(old[4:]) - 1:06d})  [live]"]
    code, _, err = run("repo", "rollback", *key)             # and back again
    assert code == 0, err
    assert [b[1] for b in binaries(repo, "bookworm")] == ["1.0-1", "2.0-1"]
    assert run("repo", "verify", repo)[0] == 0
    code, _, err = run("publish", artifacts(tmp_path, "3.0"), *key)   # publishing goes on
    assert code == 0, err
    assert [b[1] for b in binaries(repo, "bookworm")] == ["1.0-1", "2.0-1", "3.0-1"]
    assert run("repo", "verify", repo)[0] == 0


@pytest.mark.process
def test_bad_requests_are_one_line_errors(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    key = ("--repo", repo, "--gnupghome", home)
    out = tmp_path / "out"
    make_deb(out / "debian-12", "python3-a", "1.0-1")
    code, _, err = run("publish", out, "--channel", "Bad/Name", *key)
    assert code == 2 and "not a valid channel name" in err and not repo.exists()
    assert run("publish", out, "--channel", "testing", *key)[0] == 0
    for args, words in (
            (("promote", "zz", "--from", "testing", "--to", "stable"), "not in channel testing"),
            (("promote", "a==9", "--from", "testing", "--to", "stable"), "version 9"),
            (("promote", "a", "--from", "stable", "--to", "testing"), "not in channel stable"),
            (("promote", "a", "--from", "testing", "--to", "testing"), "both"),
            (("promote", "a", "--from", "testing", "--to", "stable", "-t", "nosuch"),
             "unknown target"),
            (("rollback", "--to", "gen-000099"), "no such generation"),
            (("rollback",), "no earlier generation"),
            (("remove", "python3-a", "--channel", "stable", "--dry-run"), "in channel stable"),
            (("remove", "python3-a", "--channel", "a.b", "--dry-run"), "not a valid channel")):
        code, _, err = run("repo", *args, *key)
        assert code == 2 and words in err and "Traceback" not in err, (args, err)
        assert err.count("\n") <= 2


@pytest.mark.process
def test_a_failed_rollback_changes_nothing(tmp_path: Path, home: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    key = ("--repo", repo, "--gnupghome", home)
    assert run("publish", artifacts(tmp_path, "1.0"), *key)[0] == 0
    assert run("publish", artifacts(tmp_path, "2.0"), *key)[0] == 0
    live = os.readlink(repo / ".repack/current")
    kept = run("repo", "generations", "--repo", repo)[1]

    def disk_full(*args: object, **kwargs: object) -> None:
        raise HostError("disk full")
    monkeypatch.setattr(publisher, "write_repodata", disk_full)   # mid-transaction
    code, _, err = run("repo", "rollback", *key)
    assert code == 12 and "disk full" in err
    assert os.readlink(repo / ".repack/current") == live
    assert run("repo", "generations", "--repo", repo)[1] == kept
    assert run("repo", "verify", repo)[0] == 0
    monkeypatch.undo()
    code, _, err = run("repo", "rollback", *key)
    assert code == 0, err
    assert [b[1] for b in binaries(repo, "bookworm")] == ["1.0-1"]
    assert run("repo", "verify", repo)[0] == 0
