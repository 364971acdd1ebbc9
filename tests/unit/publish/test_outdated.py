"""`repack outdated` through the real CLI: a repository published from real tiny .debs and
rpms (with provenance records, signed with a real throwaway key), compared with a real
loopback index that serves releases, Requires-Python and PyPI's JSON API advisories."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from localindex import LocalIndex  # type: ignore[import-not-found]
from repotools import make_deb  # type: ignore[import-not-found]
from rpmkit import build_rpm  # type: ignore[import-not-found]

from repack import cli
from repack.errors import EXIT_CODES, SECURITY_PENDING, UPDATES_PENDING

GHSA = "GHSA-aaaa-bbbb-cccc"
PYSEC = "PYSEC-2099-7"


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def sdist(index: LocalIndex, project: str, version: str, *,
          requires_python: str | None = None) -> None:
    index.add(project, f"{project}-{version}.tar.gz", f"{project} {version}".encode(),
              requires_python=requires_python)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, home: Path) -> Path:
    """alpha 1.0 and 1.1 (debian-12), beta 2.0 (debian-12 and debian-13), gamma 3.0
    (debian-12), and python3-c 1.0 (an rpm of project c, fedora-42)."""
    tmp = tmp_path_factory.mktemp("outdated")
    out = tmp / "out"
    make_deb(out / "debian-12", "python3-alpha", "1.0-0repack1~deb12")
    make_deb(out / "debian-12", "python3-alpha", "1.1-0repack1~deb12")
    make_deb(out / "debian-12", "python3-beta", "2.0-0repack1~deb12")
    make_deb(out / "debian-13", "python3-beta", "2.0-0repack1~deb13")
    make_deb(out / "debian-12", "python3-gamma", "3.0-0repack1~deb12")
    (out / "fedora-42").mkdir(parents=True)
    rpm = build_rpm(tmp / "build", "python3-c", "1.0")
    rpm.rename(out / "fedora-42" / rpm.name)
    root = tmp / "repo"
    code, _, err = run("publish", out, "--repo", root, "--gnupghome", home)
    assert code == 0, err
    return root


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalIndex]:
    """alpha: 1.2 fixes an advisory of 1.1 (and one of 1.0 that 1.1 fixed already);
    beta: 2.1 needs Python 3.12 (Debian 12 has 3.11, Debian 13 3.13), no advisories;
    gamma: 3.0 is the newest; c: 1.0 is the newest."""
    with LocalIndex() as idx:
        for v in ("1.0", "1.1", "1.2"):
            sdist(idx, "alpha", v)
        idx.add_vulnerability("alpha", "1.0", id="GHSA-0000-1111-2222", fixed_in=["1.1"])
        idx.add_vulnerability("alpha", "1.1", id=GHSA, aliases=["CVE-2099-0001"],
                              fixed_in=["1.2"])
        idx.add_vulnerability("alpha", "1.1", id=PYSEC, fixed_in=["1.2"])
        sdist(idx, "beta", "2.0")
        sdist(idx, "beta", "2.1", requires_python=">=3.12")
        sdist(idx, "gamma", "3.0")
        sdist(idx, "c", "1.0")
        monkeypatch.setenv("PIP_INDEX_URL", idx.url)
        yield idx


@pytest.mark.process
def test_lines_for_what_is_behind_and_security_exit_code(repo: Path, index: LocalIndex) -> None:
    code, out, err = run("outdated", "--repo", repo)
    assert code == SECURITY_PENDING == 101, err
    lines = out.splitlines()
    # the newest published alpha (1.1) is compared; 1.2 fixes both of its advisories
    assert lines == [
        f"alpha debian-12: 1.1 -> 1.2  security: fixes {GHSA} (CVE-2099-0001), {PYSEC}",
        "beta debian-13: 2.0 -> 2.1",
        "3 up to date, 2 outdated (1 with a security update)",
    ]
    # nothing per up-to-date project, and no "resolved ..." chatter either
    assert "gamma" not in out + err and "resolved" not in err


@pytest.mark.process
def test_json_report(repo: Path, index: LocalIndex) -> None:
    code, out, err = run("outdated", "--repo", repo, "--json")
    assert code == SECURITY_PENDING, err
    doc = json.loads(out)
    alpha, beta = doc["behind"]
    assert (alpha["project"], alpha["target"], alpha["published"], alpha["newest"],
            alpha["security"], alpha["packages"]) == (
        "alpha", "debian-12", "1.1", "1.2", True, ["python3-alpha"])
    assert [(f["id"], f["aliases"]) for f in alpha["fixes"]] == [
        (GHSA, ["CVE-2099-0001"]), (PYSEC, [])]
    assert (beta["target"], beta["security"], beta["fixes"]) == ("debian-13", False, [])
    assert beta["advisories_checked"] is True
    assert sorted((c["project"], c["target"]) for c in doc["current"]) == [
        ("beta", "debian-12"), ("c", "fedora-42"), ("gamma", "debian-12")]
    assert doc["skipped"] == []


@pytest.mark.process
def test_merely_outdated_is_its_own_exit_code(repo: Path, index: LocalIndex) -> None:
    code, out, err = run("outdated", "--repo", repo, "-t", "debian-13")
    assert code == UPDATES_PENDING == 100, err
    assert out.splitlines() == ["beta debian-13: 2.0 -> 2.1",
                                "0 up to date, 1 outdated (0 with a security update)"]
    assert code in EXIT_CODES and code != SECURITY_PENDING


@pytest.mark.process
def test_nothing_pending_is_exit_0_and_only_a_summary(repo: Path, index: LocalIndex) -> None:
    code, out, err = run("outdated", "--repo", repo, "-t", "fedora-42")
    assert code == 0, err
    assert out.splitlines() == ["1 up to date, 0 outdated (0 with a security update)"]


@pytest.mark.process
def test_advisory_published_after_the_build_counts(repo: Path, index: LocalIndex) -> None:
    """The record of gamma 3.0 lists no advisory; the index lists one now, fixed in 3.1."""
    index.add_vulnerability("gamma", "3.0", id="GHSA-3333-4444-5555", fixed_in=["3.1"])
    sdist(index, "gamma", "3.1")
    code, out, _ = run("outdated", "--repo", repo, "-t", "debian-12", "--json")
    assert code == SECURITY_PENDING
    gamma = next(b for b in json.loads(out)["behind"] if b["project"] == "gamma")
    assert [f["id"] for f in gamma["fixes"]] == ["GHSA-3333-4444-5555"]


@pytest.mark.process
def test_still_vulnerable_newest_is_no_security_update(repo: Path, index: LocalIndex) -> None:
    """An advisory the newer release still has is fixed by nothing."""
    index.add_vulnerability("alpha", "1.2", id=PYSEC, fixed_in=["1.3"])
    index.vulnerabilities["alpha", "1.1"] = [
        v for v in index.vulnerabilities["alpha", "1.1"] if v["id"] == PYSEC]
    code, out, _ = run("outdated", "--repo", repo, "-t", "debian-12")
    assert code == UPDATES_PENDING
    assert out.splitlines()[0] == "alpha debian-12: 1.1 -> 1.2"


@pytest.mark.process
def test_index_without_advisory_data_says_so(repo: Path, index: LocalIndex) -> None:
    index.per_release_json = False
    code, out, _ = run("outdated", "--repo", repo, "-t", "debian-13")
    assert code == UPDATES_PENDING
    assert out.splitlines()[0] == ("beta debian-13: 2.0 -> 2.1  (advisories not checked: "
                                   "the index has no data for them)")


@pytest.mark.process
def test_unreachable_index_is_one_line_exit_3(repo: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    with LocalIndex() as idx:
        url = idx.url
    monkeypatch.setenv("PIP_INDEX_URL", url)
    code, out, err = run("outdated", "--repo", repo, "-t", "fedora-42")
    assert code == 3 and out == ""
    assert err.startswith("error: c: index ") and "unreachable" in err
    assert "Traceback" not in err


@pytest.mark.process
def test_a_project_gone_from_the_index_is_exit_3(repo: Path, index: LocalIndex,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with LocalIndex() as empty:
        monkeypatch.setenv("PIP_INDEX_URL", empty.url)
        code, _, err = run("outdated", "--repo", repo, "-t", "fedora-42")
    assert code == 3 and err.startswith("error: c: not found on ")


@pytest.mark.process
def test_repo_from_config_and_an_unreadable_package(tmp_path: Path, home: Path,
                                                    index: LocalIndex) -> None:
    out = tmp_path / "out" / "debian-12"
    make_deb(out, "python3-gamma", "3.0-0repack1~deb12")
    make_deb(out, "python3-delta", "1.0-1")
    root = tmp_path / "srv"
    assert run("publish", out, "--repo", root, "--gnupghome", home)[0] == 0
    pool = root / "apt/pool/main/p/python3-delta/python3-delta_1.0-1_all.deb"
    pool.write_bytes(b"!<arch>\n\x1b[2Jgarbage")        # damaged on disk: no record to read
    (tmp_path / "repack.toml").write_text('[publish]\nrepo = "srv"\n')
    code, text, err = run("outdated", "--config", tmp_path / "repack.toml")
    assert code == 0, err
    assert text.splitlines() == [
        "1 up to date, 0 outdated (0 with a security update), 1 not checked"]
    assert "warning: python3-delta 1.0-1 (debian-12): not checked: its provenance " \
           "record is unreadable: " in err and "\x1b" not in err


def test_no_repo_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    code, _, err = run("outdated")
    assert code == 2 and "no repository" in err
