"""`repack repo list` through the real CLI: a repository published from real tiny .debs
and rpms (with provenance records), signed with a real throwaway key."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from repotools import fake_record, make_deb  # type: ignore[import-not-found]
from rpmkit import build_rpm  # type: ignore[import-not-found]

from repack import cli
from repack.model import Advisory

GHSA_A = "GHSA-aaaa-bbbb-cccc"
GHSA_B = "GHSA-dddd-eeee-ffff"


def advisory(ident: str, fixed_in: str) -> Advisory:
    return Advisory(id=ident, aliases=("CVE-2099-0001",) if ident == GHSA_A else (),
                    summary="a hole", fixed_in=(fixed_in,), link=None)


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, home: Path) -> Path:
    tmp = tmp_path_factory.mktemp("list")
    deb_dir = tmp / "out" / "debian-12"
    old = fake_record("a", "1.0")
    make_deb(deb_dir, "python3-a", "1.0-1",
             record=replace(old, vulnerabilities=(advisory(GHSA_A, "1.1"),)))
    root = tmp / "repo"
    code, _, err = run("publish", deb_dir, "--repo", root, "--gnupghome", home)
    assert code == 0, err
    new = fake_record("a", "1.1")
    hostile = ("tls", "sha256:index\x1b[31m\u202e")          # a record is untrusted text
    for f in (deb_dir / "python3-a_1.0-1_all.deb",):
        f.unlink()
    make_deb(deb_dir, "python3-a", "1.1-1",
             record=replace(new, fixes=(advisory(GHSA_A, "1.1"),), verified=hostile))
    b = fake_record("b", "2")
    make_deb(deb_dir, "python3-b", "2-1",
             record=replace(b, vulnerabilities=(advisory(GHSA_B, "3"),)))
    rpm_dir = tmp / "out" / "fedora-42"
    rpm_dir.mkdir(parents=True)
    rpm = build_rpm(tmp / "build", "python3-c", "1.0")
    rpm.rename(rpm_dir / rpm.name)
    for f in (tmp / "out").rglob("*.*"):
        os.utime(f, (1e9, 1e9))          # built long ago: "published" is not the build time
    code, _, err = run("publish", tmp / "out", "--repo", root, "--gnupghome", home)
    assert code == 0, err
    return root


@pytest.mark.process
def test_json_lists_every_package_version_and_target(repo: Path) -> None:
    code, out, err = run("repo", "list", "--repo", repo, "--json")
    assert code == 0, err
    doc = json.loads(out)
    got = {(e["name"], e["version"], e["target"]): e for e in doc}
    assert sorted(got) == [("python3-a", "1.0-1", "debian-12"), ("python3-a", "1.1-1", "debian-12"),
                           ("python3-b", "2-1", "debian-12"),
                           ("python3-c", "1.0-1", "fedora-42")]
    a_old, a_new = got["python3-a", "1.0-1", "debian-12"], got["python3-a", "1.1-1", "debian-12"]
    b, c = got["python3-b", "2-1", "debian-12"], got["python3-c", "1.0-1", "fedora-42"]
    # the fix of 1.1 made it a security update: also in bookworm-security
    assert (a_new["channel"], a_new["security"]) == ("bookworm+security", True)
    assert (a_old["channel"], a_old["security"]) == ("bookworm", False)
    assert (c["channel"], c["security"]) == ("fedora-42", False)
    # known advisories, and which of them no newer published version fixes
    assert a_old["vulnerabilities"] == [GHSA_A, "CVE-2099-0001"] and a_old["pending"] == []
    assert a_new["fixes"] == [GHSA_A, "CVE-2099-0001"]
    assert b["vulnerabilities"] == [GHSA_B] and b["pending"] == [GHSA_B]
    # how verified: the record's list, cleaned of control and format characters
    assert a_old["verified"] == ["tls", "sha256:index"]
    assert a_new["verified"] == ["tls", "sha256:index[31m"]
    assert c["verified"] == ["tls", "sha256:index"] and c["record"] == "ok"
    assert (c["project"], c["upstream_version"]) == ("c", "1.0")
    # published: the moment the file entered the tree (its mtime), and the file is there
    for e in doc:
        path = repo / e["file"]
        assert path.is_file()
        assert e["published"].endswith("Z")
        assert e["published"][:4] == datetime.now(UTC).strftime("%Y")
    assert a_old["file"] == "apt/pool/main/p/python3-a/python3-a_1.0-1_all.deb"


@pytest.mark.process
def test_text_output_and_target_filter(repo: Path) -> None:
    code, out, err = run("repo", "list", "--repo", repo, "-t", "fedora-42")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["PACKAGE", "VERSION", "TARGET", "CHANNEL", "PUBLISHED",
                                "VERIFIED", "PENDING"]
    assert len(lines) == 2 and lines[1].split()[:4] == ["python3-c", "1.0-1", "fedora-42",
                                                        "fedora-42"]
    assert lines[1].split()[5:] == ["tls,sha256:index", "-"]
    code, out, _ = run("repo", "list", "--repo", repo)
    rows = [line.split() for line in out.splitlines()[1:]]
    assert [r[0] for r in rows] == ["python3-a", "python3-a", "python3-b", "python3-c"]
    assert rows[2][-1] == GHSA_B
    assert "\x1b" not in out


@pytest.mark.process
def test_listing_changes_nothing(repo: Path) -> None:
    before = os.readlink(repo / ".repack" / "current")
    run("repo", "list", "--repo", repo, "--json")
    assert os.readlink(repo / ".repack" / "current") == before


@pytest.mark.process
def test_bad_input_is_one_line_with_exit_2(repo: Path, tmp_path: Path) -> None:
    code, out, err = run("repo", "list", "--repo", repo, "-t", "nosuch")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "nosuch" in err and "Traceback" not in err
    code, _, err = run("repo", "list", "--repo", tmp_path)
    assert code == 2 and "not a repack repository" in err and "Traceback" not in err


def test_help_explains_it() -> None:
    code, out, _ = run("repo", "list", "--help")
    assert code == 0 and "--json" in out and "PENDING" in out


@pytest.mark.process
def test_a_damaged_package_is_listed_as_unreadable_not_a_crash(tmp_path: Path,
                                                                home: Path) -> None:
    out = tmp_path / "out" / "debian-12"
    make_deb(out, "python3-d", "1.0-1")
    root = tmp_path / "repo"
    assert run("publish", out, "--repo", root, "--gnupghome", home)[0] == 0
    pool = root / "apt/pool/main/p/python3-d/python3-d_1.0-1_all.deb"
    pool.write_bytes(b"!<arch>\n\x1b[2Jgarbage")           # damaged on disk, not by publish
    code, text, err = run("repo", "list", "--repo", root, "--json")
    assert code == 0, err
    (entry,) = json.loads(text)
    assert entry["record"].startswith("unreadable: ") and entry["verified"] == []
    assert "\x1b" not in entry["record"]
    code, text, _ = run("repo", "list", "--repo", root)
    assert code == 0 and "unreadable" in text.splitlines()[1]
