"""repack.sync's planning (pure) and the [repository] table of repack.toml; the command's
dry run against a lock file and a repository not published yet (no network, no process)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from repack import cli, config, sync
from repack.errors import ConfigError, IntegrityError
from repack.model import Advisory
from repack.plan import lockfile
from repack.sync import Found, Held, Wanted

A, B, C = "a" * 64, "b" * 64, "c" * 64


def load(tmp_path: Path, text: str) -> config.Settings:
    f = tmp_path / "repack.toml"
    f.write_text(text)
    return config.load(f, environ={"XDG_CONFIG_HOME": str(tmp_path / "none")})


# -- the [repository] table ----------------------------------------------------------------

def test_repository_table(tmp_path: Path) -> None:
    """Paths beside the file; the default channel and named ones, one source each;
    path/name/url unset fall back to [publish] (at run time)."""
    s = load(tmp_path, '[publish]\nrepo = "pub"\n\n[repository]\npath = "repo"\n'
                       'name = "example"\nurl = "https://p.example.org/r"\n'
                       'targets = ["debian-12", "el9"]\nrequirements = ["django>=4.2,<5", '
                       '"requests"]\n\n[repository.channels.testing]\n'
                       'requirements-file = "req-testing.txt"\n\n'
                       '[repository.channels.locked]\nlock = "sub/repack.lock"\n')
    r = s.repository
    assert r is not None
    assert r.path == tmp_path / "repo" and (r.name, r.url) == ("example",
                                                               "https://p.example.org/r")
    assert r.targets == ("debian-12", "el9")
    assert r.channels[None].requirements == ("django>=4.2,<5", "requests")
    assert r.channels["testing"].requirements_file == tmp_path / "req-testing.txt"
    assert r.channels["locked"].lock == tmp_path / "sub/repack.lock"
    assert load(tmp_path, "").repository is None


@pytest.mark.parametrize("text, message", [
    ('repository = 3\n', r"\[repository\] must be a table"),
    ('[repository]\ntargets = ["debian-12"]\nrequirement = ["a"]\n',
     r"unknown key\(s\) 'requirement' \(did you mean 'requirements'\?\)"),
    ('[repository]\nrequirements = ["a"]\n', "targets must be a non-empty list"),
    ('[repository]\ntargets = []\nrequirements = ["a"]\n', "targets must be a non-empty list"),
    ('[repository]\ntargets = ["el9", "el9"]\nrequirements = ["a"]\n', "distinct"),
    ('[repository]\ntargets = ["el9"]\n', "names nothing to publish"),
    ('[repository]\ntargets = ["el9"]\nrequirements = ["a"]\nlock = "x.lock"\n',
     "exactly one of requirements, requirements-file and lock"),
    ('[repository]\ntargets = ["el9"]\nrequirements = []\n', "non-empty list of PEP 508"),
    ('[repository]\ntargets = ["el9"]\nrequirements = ["django=="]\n',
     "'django==' is not a valid PEP 508 requirement"),
    ('[repository]\ntargets = ["el9"]\nlock = ""\n', "lock must be a file name"),
    ('[repository]\ntargets = ["el9"]\npath = 3\nlock = "l"\n', "path must be a non-empty"),
    ('[repository]\ntargets = ["el9"]\n[repository.channels.Test]\nlock = "l"\n',
     r"\[repository.channels.Test\]: a channel name is lowercase"),
    ('[repository]\ntargets = ["el9"]\n[repository.channels.t]\nlocks = "l"\n',
     r"\[repository.channels.t\] unknown key\(s\) 'locks' \(did you mean 'lock'\?\)"),
    ('[repository]\ntargets = ["el9"]\n[repository.channels.t]\n',
     "needs exactly one of requirements"),
])
def test_bad_repository_table(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, text)


def test_repository_only_in_the_project_file(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user = tmp_path / "xdg/repack/config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[repository]\ntargets = ["el9"]\nlock = "l"\n')
    with pytest.raises(ConfigError, match="belongs in the project's repack.toml"):
        config.load(None, environ={}, cwd=tmp_path)


# -- planning ------------------------------------------------------------------------------

def entry(name: str, version: str, *, record: str = "ok", project: str | None = "foo",
          upstream: str | None = "1.0", sha256: str | None = A,
          target: str = "debian-12") -> Found:
    return Found(name=name, version=version, target=target, record=record, project=project,
                 upstream_version=upstream, sdist_sha256=sha256)


def test_held_trusts_only_valid_records() -> None:
    found, skipped = sync.held([
        entry("python3-foo", "1.0-0repack1~deb12", project="Foo_Bar"),
        entry("python3-x", "1", record="missing", project=None),
        entry("python3-y", "1", record="unreadable: truncated"),
        entry("python3-z", "1", upstream="not a version"),
        entry("python3-w", "1", sha256="abc"),
        entry("python3-v", "1", sha256=None)])
    assert found == [Held(project="foo-bar", version="1.0", sha256=A, target="debian-12",
                          package="python3-foo")]
    assert [(s.package, s.why) for s in skipped] == [
        ("python3-x", "it has no provenance record"),
        ("python3-y", "its provenance record is unreadable: truncated"),
        ("python3-z", "its provenance record names no valid project and version"),
        ("python3-w", "its provenance record has no valid sdist sha256"),
        ("python3-v", "its provenance record is incomplete")]
    assert skipped[0].line() == "skip python3-x 1 debian-12: it has no provenance record"


def want(project: str, version: str, sha256: str = A, target: str = "debian-12",
         depends: tuple[str, ...] = ()) -> Wanted:
    return Wanted(project=project, version=version, sha256=sha256, target=target,
                  depends=depends)


def have(project: str, version: str, sha256: str = A, target: str = "debian-12") -> Held:
    return Held(project=project, version=version, sha256=sha256, target=target,
                package=f"python3-{project}")


def test_compare_builds_only_what_is_missing() -> None:
    c = sync.compare(
        [want("foo", "1.0"), want("bar", "2.0", B), want("baz", "3"), want("foo", "1.0",
                                                                          target="el9")],
        [have("foo", "1.0"), have("bar", "1.9", C), have("bar", "1.10", C), have("baz", "3.0")])
    assert c.current == (want("foo", "1.0"), want("baz", "3"))     # 3 == 3.0 (PEP 440)
    assert [(u.wanted.project, u.wanted.target, u.published) for u in c.updates] == [
        ("bar", "debian-12", "1.10"), ("foo", "el9", None)]
    assert c.updates[0].line() == "build bar 2.0 debian-12 (update from 1.10)"
    assert c.updates[1].line() == "build foo 1.0 el9 (new)"
    assert sync.compare([], [have("foo", "1.0")]).updates == ()


def test_compare_refuses_a_published_version_from_another_sdist() -> None:
    with pytest.raises(IntegrityError, match=f"publishes python3-foo of foo 1.0 built from "
                                             f"sdist sha256:{A}; \\[repository\\] now asks "
                                             f"for sha256:{B}") as e:
        sync.compare([want("foo", "1.0", B)], [have("foo", "1.0", A)])
    assert e.value.exit_code == 4


def test_security_only_keeps_fixes_and_their_missing_dependencies() -> None:
    c = sync.compare([want("lib", "2"), want("app", "1.1", depends=("lib", "old")),
                      want("old", "1"), want("other", "3"), want("new", "1")],
                     [have("app", "1.0"), have("old", "1"), have("other", "2")])
    fix = Advisory(id="PYSEC-2026-7", aliases=(), summary="", fixed_in=("1.1",), link=None)
    s = sync.security_only(c, {("app", "debian-12"): (fix,), ("other", "debian-12"): ()})
    assert [(u.wanted.project, u.fixes) for u in s.updates] == [("lib", ()), ("app", (fix,))]
    assert s.updates[1].line() == ("build app 1.1 debian-12 (security update from 1.0: fixes "
                                   "PYSEC-2026-7)")
    assert [s.line() for s in s.skipped] == [
        "skip other 3 debian-12: not a security update (2 published)",
        "skip new 1 debian-12: not a security update (not published yet)"]
    assert s.current == c.current
    assert sync.security_only(c, {}).updates == ()


LOCK = f"""version = 2
index = "https://pypi.org/simple/"
requested = ["app"]

[[targets]]
id = "debian-12"
provided = []

[[targets.packages]]
name = "lib"
version = "1.0"
filename = "lib-1.0.tar.gz"
sha256 = "{A}"
depends = []

[[targets.packages]]
name = "app"
version = "2.0"
filename = "app-2.0.tar.gz"
sha256 = "{B}"
depends = ["lib"]
"""


def test_wanted_from_lock(tmp_path: Path) -> None:
    (tmp_path / "repack.lock").write_text(LOCK)
    lock = lockfile.load(tmp_path / "repack.lock")
    assert sync.wanted_from_lock(lock, ["debian-12"]) == [
        want("lib", "1.0", A), want("app", "2.0", B, depends=("lib",))]
    with pytest.raises(ConfigError, match="the lock file has no target el9"):
        sync.wanted_from_lock(lock, ["debian-12", "el9"])


def test_read_lock_agrees_with_the_lockfile_loader(tmp_path: Path) -> None:
    """The light reader (no index client imported) reads what lockfile.load reads, and
    leaves anything not plainly well-formed to it (None)."""
    path = tmp_path / "repack.lock"
    path.write_text(LOCK)
    assert sync.read_lock(path, ["debian-12"]) == sync.wanted_from_lock(
        lockfile.load(path), ["debian-12"])
    with pytest.raises(ConfigError, match="the lock file has no target el9"):
        sync.read_lock(path, ["el9"])
    for broken in (LOCK.replace(A, "zz"), LOCK.replace("version = 2", "version = 9"),
                   LOCK.replace('version = "1.0"', 'version = "one"'), LOCK[:-3]):
        path.write_text(broken)
        assert sync.read_lock(path, ["debian-12"]) is None
        with pytest.raises(ConfigError):
            lockfile.load(path)


# -- the command (dry run: nothing built, nothing asked of the network) ---------------------

def test_dry_run_json_of_a_new_repository(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")   # never asked
    (tmp_path / "repack.lock").write_text(LOCK)
    (tmp_path / "repack.toml").write_text('[repository]\npath = "repo"\n'
                                          'targets = ["debian-12"]\nlock = "repack.lock"\n')
    result = CliRunner().invoke(cli.cli, ["sync", "--dry-run", "--json", "--config",
                                          str(tmp_path / "repack.toml")])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["repository"] == str(tmp_path / "repo") and out["dry_run"] is True
    assert [(a["project"], a["version"], a["sha256"], a["published"]) for a in out["add"]] == [
        ("lib", "1.0", A, None), ("app", "2.0", B, None)]
    assert out["current"] == out["skipped"] == out["published"] == []
    assert "build app 2.0 debian-12 (new)" in result.stderr
    assert not (tmp_path / "repo").exists()        # a dry run writes nothing


@pytest.mark.parametrize("args, text, message", [
    ([], "", "no [repository] table"),
    (["--channel", "Te$t"], ('[repository]\ntargets = ["debian-12"]\nlock = "l"\n'
                             '[repository.channels.testing]\nlock = "l"\n'),
     "'Te$t' is not a valid channel name"),
    ([], ('[repository]\ntargets = ["debian-12"]\nlock = "l"\n'
          '[repository.channels.stable]\nlock = "l"\n'),
     "[repository.channels.stable]: stable is the default channel"),
    (["--channel", "nope"], '[repository]\ntargets = ["debian-12"]\nlock = "l"\n',
     "no channel nope in [repository]"),
    ([], '[repository]\ntargets = ["debian-12"]\nlock = "l"\n', "no repository: set path"),
    ([], '[repository]\npath = "r"\ntargets = ["debian-99"]\nlock = "l"\n',
     "unknown target 'debian-99'"),
])
def test_sync_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                     text: str, message: str) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    (tmp_path / "repack.toml").write_text(text)
    result = CliRunner().invoke(cli.cli, ["sync", "--dry-run", *args, "--config",
                                          str(tmp_path / "repack.toml")])
    assert result.exit_code == 2, result.output
    assert f"error: {message}" in result.output


def publish_fake(repo: Path, debs: dict[str, Path]) -> None:
    """A live generation whose apt db lists these .debs (rel path -> file) for bookworm:
    what `repack publish` leaves, without its signatures (sync reads none of them)."""
    gen = repo / ".repack" / "gen-000001"
    records = []
    for rel, deb in debs.items():
        (gen / "apt" / rel).parent.mkdir(parents=True, exist_ok=True)
        deb.replace(gen / "apt" / rel)
        name, version, _ = deb.name.split("_")
        records.append({"Package": name, "Version": version, "Architecture": "all",
                        "Filename": rel})
    (gen / "db" / "apt").mkdir(parents=True)
    (gen / "db" / "apt" / "bookworm.json").write_text(json.dumps(
        {"packages": records, "sources": []}))
    (repo / ".repack" / "current").symlink_to("gen-000001")


@pytest.mark.process      # dpkg-deb builds the packages
def test_dry_run_reads_the_published_records_once(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The records decide (a package without one is a skip, not a build); what was read is
    kept in the cache by file identity, and a replaced file is read again."""
    from repotools import fake_record, make_deb  # type: ignore[import-not-found]

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.setenv("REPACK_CACHE_DIR", str(tmp_path / "cache"))
    lib_sha = fake_record("lib", "1.0").sha256
    (tmp_path / "repack.lock").write_text(LOCK.replace(A, lib_sha))
    (tmp_path / "repack.toml").write_text('[repository]\npath = "repo"\n'
                                          'targets = ["debian-12"]\nlock = "repack.lock"\n')
    debs = tmp_path / "debs"
    publish_fake(tmp_path / "repo", {
        "pool/main/l/lib/python3-lib_1.0-0repack1~deb12_all.deb":
            make_deb(debs, "python3-lib", "1.0-0repack1~deb12"),
        "pool/main/a/app/python3-app_1.0-0repack1~deb12_all.deb":
            make_deb(debs, "python3-app", "1.0-0repack1~deb12"),
        "pool/main/o/odd/python3-odd_1.0-1_all.deb":
            make_deb(debs, "python3-odd", "1.0-1", record=False)})

    def dry_run() -> dict[str, Any]:
        result = CliRunner().invoke(cli.cli, ["sync", "--dry-run", "--json", "--config",
                                              str(tmp_path / "repack.toml")])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    first = dry_run()
    assert [(a["project"], a["version"], a["published"]) for a in first["add"]] == [
        ("app", "2.0", "1.0")]
    assert first["current"] == [{"project": "lib", "version": "1.0", "target": "debian-12"}]
    assert first["skipped"] == [{"package": "python3-odd", "version": "1.0-1",
                                 "target": "debian-12", "why": "it has no provenance record"}]
    (cache,) = (tmp_path / "cache" / "sync").iterdir()
    assert "python3-lib" in cache.read_text()
    assert dry_run() == first                   # from the cache, the same answer

    # the lib package replaced by one of another sdist: read again, and refused (exit 4)
    pool = tmp_path / "repo/.repack/gen-000001/apt/pool/main/l/lib"
    other = make_deb(debs, "python3-lib", "1.0-0repack1~deb12",
                     record=dataclasses.replace(fake_record("lib", "1.0"), sha256=C))
    other.replace(pool / "python3-lib_1.0-0repack1~deb12_all.deb")
    result = CliRunner().invoke(cli.cli, ["sync", "--dry-run", "--config",
                                          str(tmp_path / "repack.toml")])
    assert result.exit_code == 4, result.output
    assert (f"built from sdist sha256:{C}; [repository] now asks for sha256:{lib_sha}"
            in result.output)
