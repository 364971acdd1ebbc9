"""`repack lock` and `repack build --with-deps` for real: PyPI for django's closure, and a
LocalIndex serving crafted projects that are built in containers in dependency order."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist, pkg_info_text

pytestmark = pytest.mark.integration

DJANGO_42_SHA256 = "c36e2ab12824e2ac36afa8b2515a70c53c7742f0d6eaefa7311ec379558db997"


@pytest.mark.network
def test_lock_django_lists_only_what_debian_12_lacks(tmp_path: Path) -> None:
    lock = tmp_path / "repack.lock"
    proc = run_repack(["lock", "django==4.2", "-t", "debian-12", "-o", str(lock)])
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads(lock.read_text())
    (target,) = data["targets"]
    assert target["id"] == "debian-12"
    assert [(p["name"], p["version"], p["sha256"]) for p in target["packages"]] == [
        ("django", "4.2", DJANGO_42_SHA256)]
    provided = " ".join(target["provided"])
    assert "asgiref" in provided and "sqlparse" in provided
    assert "provided by Debian 12" in proc.stderr


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    """leaf-dep <- top-app, and broken-dep, whose sdist is not an archive at all (its
    dependencies come from the index's PEP 658 file, so only its build can fail)."""
    tmp = tmp_path_factory.mktemp("sdists")
    with LocalIndex() as index:
        for name, requires in (("leaf-dep", []), ("top-app", ["leaf-dep>=1.0"])):
            path = make_sdist(tmp, name, "1.0", {}, requires_dist=requires)
            index.add(name, path.name, path.read_bytes())
        index.add("broken-dep", "broken_dep-1.0.tar.gz", b"this is not a tarball\n" * 10,
                  metadata=pkg_info_text("broken-dep", "1.0").encode())
        path = make_sdist(tmp, "needs-broken", "1.0", {},
                          requires_dist=["broken-dep", "leaf-dep"])
        index.add("needs-broken", path.name, path.read_bytes())
        yield index


def test_build_with_deps_builds_the_dependency_first(crafted: LocalIndex,
                                                      tmp_path: Path) -> None:
    proc = run_repack(["build", "top-app", "--with-deps", "-t", "debian-12", "-o", str(tmp_path)],
                      env={"PIP_INDEX_URL": crafted.url})
    assert proc.returncode == 0, proc.stderr
    debs = sorted(p.name for p in (tmp_path / "debian-12").glob("*.deb"))
    assert debs == ["python3-leaf-dep_1.0-0repack1~deb12_all.deb",
                    "python3-top-app_1.0-0repack1~deb12_all.deb"]
    err = proc.stderr
    assert "build order for debian-12: leaf-dep 1.0, top-app 1.0" in err
    assert "build it with repack too" not in err     # leaf-dep is built by this very run
    # the import check installs both together: top-app's dependency comes from this run
    assert ("Import check on debian-12: 2 package(s), 2 module(s), 0 script(s)" in err
            or "import check for debian-12: passed before" in err)
    assert err.index("[debian-12/leaf-dep] › Building leaf-dep 1.0") < err.index(
        "[debian-12/top-app] › Building top-app 1.0")
    depends = subprocess.run(["dpkg-deb", "-f", tmp_path / "debian-12" / debs[1], "Depends"],
                             capture_output=True, text=True, check=True).stdout
    assert "python3-leaf-dep (>= 1)" in depends, depends


def test_failing_dependency_stops_with_a_report(crafted: LocalIndex, tmp_path: Path) -> None:
    # leaf-dep (built above, so a cache hit) and broken-dep start together; broken-dep fails
    # while unpacking, leaf-dep is kept, needs-broken is never started.
    proc = run_repack(["build", "needs-broken", "--with-deps", "-t", "debian-12",
                       "-o", str(tmp_path)], env={"PIP_INDEX_URL": crafted.url})
    assert proc.returncode == 5, proc.stderr
    (error,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert "broken-dep 1.0 for debian-12 failed" in error
    assert "built and kept leaf-dep 1.0 for debian-12" in error
    assert "not built needs-broken 1.0 for debian-12" in error
    assert [p.name for p in (tmp_path / "debian-12").glob("*.deb")] == [
        "python3-leaf-dep_1.0-0repack1~deb12_all.deb"]


def test_a_dependency_no_builder_can_build_stops_the_run_first(tmp_path: Path) -> None:
    """rusty-dep needs Rust crates (pyopenssl's newer cryptography on Debian 12): the run
    stops before anything is built, naming who needs it, not after its dependencies'
    builds (a cffi takeover refusal used to be the first thing said)."""
    with LocalIndex() as index:
        rusty = make_sdist(tmp_path / "sdists", "rusty-dep", "1.0",
                           {"pyproject.toml": b'[build-system]\nrequires = ["maturin>=1,<2"]\n'
                                              b'build-backend = "maturin"\n',
                            "Cargo.toml": b"[package]\nname = 'rusty'\n",
                            "src/lib.rs": b"pub fn f() {}\n"})
        index.add("rusty-dep", rusty.name, rusty.read_bytes())
        for name, requires in (("leaf-two", []), ("uses-rust", ["rusty-dep", "leaf-two"])):
            path = make_sdist(tmp_path / "sdists", name, "1.0", {}, requires_dist=requires)
            index.add(name, path.name, path.read_bytes())
        proc = run_repack(["build", "uses-rust", "--with-deps", "-t", "debian-12",
                           "-o", str(tmp_path / "out")], env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 7, proc.stderr
    assert "error: rusty-dep: needs a Rust toolchain and crates (its build backend is maturin)" \
        in proc.stderr
    assert "hint: needed by uses-rust 1.0 for debian-12; nothing was built" in proc.stderr
    assert "Building" not in proc.stderr
    assert not list((tmp_path / "out").glob("*/*.deb"))


def test_cycle_is_reported_not_looped_on(tmp_path: Path) -> None:
    """cyc-a -> cyc-b -> cyc-a through the real CLI: an error naming the cycle, exit 7,
    nothing downloaded but the metadata and nothing built."""
    with LocalIndex() as index:
        for name, other in (("cyc-a", "cyc-b"), ("cyc-b", "cyc-a")):
            path = make_sdist(tmp_path / "sdists", name, "1.0", {}, requires_dist=[other])
            index.add(name, path.name, path.read_bytes(),
                      metadata=pkg_info_text(name, "1.0", requires_dist=[other]).encode())
        proc = run_repack(["build", "cyc-a", "--with-deps", "-t", "debian-12", "-t", "el9",
                           "-o", str(tmp_path / "out")], env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 7, proc.stderr
    (error,) = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert "dependency cycle: cyc-a -> cyc-b -> cyc-a" in error
    assert not list((tmp_path / "out").rglob("*.deb")) and not list(
        (tmp_path / "out").rglob("*.rpm"))


def test_build_from_lock_builds_exactly_the_locked_files(crafted: LocalIndex,
                                                         tmp_path: Path) -> None:
    """lock, then build --lock: the same two packages (cache hits of the build above when it
    ran first), in the locked order; a lock whose sha256 differs from the index is refused."""
    lock = tmp_path / "repack.lock"
    env = {"PIP_INDEX_URL": crafted.url}
    proc = run_repack(["lock", "top-app", "-t", "debian-12", "-o", str(lock)], env=env)
    assert proc.returncode == 0, proc.stderr
    (target,) = tomllib.loads(lock.read_text())["targets"]
    assert [p["name"] for p in target["packages"]] == ["leaf-dep", "top-app"]

    out = tmp_path / "out"
    proc = run_repack(["build", "--lock", str(lock), "--json", "-o", str(out)], env=env)
    assert proc.returncode == 0, proc.stderr
    debs = sorted(p.name for p in (out / "debian-12").glob("*.deb"))
    assert debs == ["python3-leaf-dep_1.0-0repack1~deb12_all.deb",
                    "python3-top-app_1.0-0repack1~deb12_all.deb"]

    sha = target["packages"][0]["sha256"]
    lock.write_text(lock.read_text().replace(sha, "0" * 64))
    bad = tmp_path / "bad"
    proc = run_repack(["build", "--lock", str(lock), "-o", str(bad)], env=env)
    assert proc.returncode == 4, proc.stderr
    assert not bad.exists() or not any(p.is_file() for p in bad.rglob("*"))
