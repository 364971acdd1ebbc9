"""A newer release of a project Debian ships takes its own project's files over (issue 11).

Debian 12 builds sqlparse into python3-sqlparse (the module, dh-python's dist map) and
sqlformat (/usr/bin/sqlformat), both from source package sqlparse.  A newer sqlparse from the
index puts its console script sqlformat into python3-sqlparse: repack builds it with
Replaces and Breaks on sqlformat, and apt upgrades a system that has Debian's sqlformat
installed cleanly (sqlformat removed as Breaks says, our /usr/bin/sqlformat in place).
Two tiny builds (the second ships sqlformat as a setuptools script file, which the metadata
does not announce: it is built again with the relations), one container, and one refusal
before anything is built (an older alembic than Debian's, whose alembic python3-oslo.db
needs); the other refusals are unit tests (tests/unit/test_takeover.py).

When packages of other sources depend on the owner, the package Provides it too: Debian 12's
confget source builds python3-confget (the module) and confget (/usr/bin/confget), which nsca
depends on.  A tiny confget 99.0 built by repack takes /usr/bin/confget over with Replaces,
Breaks and Provides: confget (= 99.0-0repack1~deb12); apt removes Debian's confget and nsca
stays installed, its dependency met by our package (the smallest such trio in bookworm).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import in_container, local_repo, run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import default_files, make_sdist
from test_bad_input import publish  # type: ignore[import-not-found]

from repack.container.engine import Engine, Mount

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`repack build sqlparse==99.0 -t debian-12` of a tiny sqlparse whose console script is
    sqlformat (a fresh sdist each run, so the build really runs)."""
    yield build_99(tmp_path_factory.mktemp("sameproject"), "sqlparse", "sqlformat",
                   "sqlformat of sqlparse 99.0, built by repack")


def build_99(tmp: Path, project: str, script: str, says: str) -> dict[str, Any]:
    """A tiny *project* 99.0 whose console script *script* prints *says*, built for
    debian-12 (a fresh sdist each run, so the build really runs)."""
    code = (f"def main():\n    print({says!r})\n".encode()
            + f"NONCE = {uuid.uuid4().hex!r}\n".encode())
    archive = make_sdist(tmp / "sdist", project, "99.0", {f"{project}/__init__.py": code},
                         scripts={script: f"{project}:main"})
    with LocalIndex() as index:
        publish(index, archive, project)
        proc = run_repack(["build", "--json", "--no-check", f"{project}==99.0", "-t",
                           "debian-12", "-o", str(tmp / "out")],
                          env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 0, proc.stderr
    deb = next(Path(a["path"]) for a in json.loads(proc.stdout)["artifacts"]
               if a["format"] == "deb")
    return {"deb": deb, "stderr": proc.stderr, "tmp": tmp}


def field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_package_declares_the_takeover(built: dict[str, Any]) -> None:
    deb = built["deb"]
    assert field(deb, "Package") == "python3-sqlparse"
    # Debian 12 has sqlformat 0.4.2-1: every revision of 0.4.2 is broken and replaced
    assert field(deb, "Replaces") == "sqlformat (<< 0.4.2+repack~)"
    assert field(deb, "Breaks") == "sqlformat (<< 0.4.2+repack~)"
    assert ("python3-sqlparse takes /usr/bin/sqlformat over from Debian 12 (bookworm)'s "
            "sqlformat (the same project: source package sqlparse)") in built["stderr"]
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                             check=True).stdout
    assert "./usr/bin/sqlformat" in listing


def take_over(built: dict[str, Any], engine: Engine, image: str, *, first: str, package: str,
              script: str, then: str = "") -> str:
    """In a clean container: Debian's *first* installed, then our *package* from a flat
    repository; prints who owns /usr/bin/*script* before and after, the audit, the
    script's output and what *then* prints."""
    repo = local_repo([built["deb"]], built["tmp"] / "repo")
    commands = f"""
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends {first}
dpkg -S /usr/bin/{script}
echo 'deb [trusted=yes] file:/repo ./' > /etc/apt/sources.list.d/repack.list
apt-get update -q
apt-get install -y -q --no-install-recommends {package}
dpkg -S /usr/bin/{script} | sed 's/^/owner after: /'
dpkg-query -W -f='${{Package}} ${{Version}} ${{db:Status-Abbrev}}\\n' {package}
dpkg-query -W -f='${{Package}} ${{db:Status-Abbrev}}\\n' {script} 2>&1 || true
dpkg --audit && echo 'audit clean'
{script}
{then}
"""
    out = in_container(engine, image, commands,
                       mounts=[Mount(source=repo, target="/repo", readonly=True)])
    assert f"{script}: /usr/bin/{script}" in out                     # Debian's, first
    assert f"owner after: {package}: /usr/bin/{script}" in out
    assert f"{package} 99.0-0repack1~deb12 ii" in out
    assert f"{script} ii" not in out                                 # removed as Breaks says
    assert "audit clean" in out
    return out


def test_apt_upgrades_debians_sqlformat_cleanly(built: dict[str, Any], container_engine: Engine,
                                                base_image: Callable[[str], str]) -> None:
    out = take_over(built, container_engine, base_image("debian-12"), first="sqlformat",
                    package="python3-sqlparse", script="sqlformat")
    assert "sqlformat of sqlparse 99.0, built by repack" in out


def test_a_file_the_metadata_does_not_announce_builds_again_with_the_relations(
        tmp_path: Path) -> None:
    """sqlformat as a setuptools script file: no console script, so only the built package
    shows /usr/bin/sqlformat; the build runs again with Replaces and Breaks, then passes."""
    pyproject = default_files("sqlparse", "99.1")["pyproject.toml"].decode().replace(
        'packages = ["sqlparse"]\n', 'packages = ["sqlparse"]\nscript-files = ["bin/sqlformat"]\n')
    assert "script-files" in pyproject
    nonce = f"NONCE = {uuid.uuid4().hex!r}\n".encode()
    archive = make_sdist(tmp_path / "sdist", "sqlparse", "99.1", {
        "pyproject.toml": pyproject.encode(), "bin/sqlformat": b"#!/bin/sh\necho sqlformat\n",
        "sqlparse/_nonce.py": nonce})
    with LocalIndex() as index:
        publish(index, archive, "sqlparse")
        proc = run_repack(["build", "--json", "--no-check", "sqlparse==99.1", "-t", "debian-12",
                           "-o", str(tmp_path / "out")], env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 0, proc.stderr
    assert "sqlparse: building it again with Replaces and Breaks on them" in proc.stderr
    assert proc.stderr.count("dpkg-buildpackage python-sqlparse 99.1") == 2, proc.stderr
    deb = next(Path(a["path"]) for a in json.loads(proc.stdout)["artifacts"]
               if a["format"] == "deb")
    assert field(deb, "Replaces") == field(deb, "Breaks") == "sqlformat (<< 0.4.2+repack~)"


def test_an_owner_other_sources_need_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    """An alembic older than Debian's would take /usr/bin/alembic from Debian's alembic,
    which python3-oslo.db (another source) depends on: Breaks would make apt remove it too,
    and a downgrade may not Provide alembic for it, so exit 7 with the reason, from the
    builder image's real bookworm data, before a build."""
    archive = make_sdist(tmp_path / "sdist", "alembic", "1.0",
                         {"alembic/__init__.py": b"def main():\n    pass\n"},
                         scripts={"alembic": "alembic:main"})
    with LocalIndex() as index:
        publish(index, archive, "alembic")
        proc = run_repack(["build", "alembic==1.0", "-t", "debian-12",
                           "-o", str(tmp_path / "out")], env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 7, proc.stderr
    assert ("error: alembic: python3-alembic would replace /usr/bin/alembic of Debian 12 "
            "(bookworm)'s alembic, which python3-oslo.db (another source) depends on\n"
            in proc.stderr)
    assert ("python3-alembic cannot provide alembic for them: 1.0-0repack1~deb12 is not "
            "newer than alembic 1.8.1-2; allow-paths does not help") in proc.stderr
    assert "dpkg-buildpackage" not in proc.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.deb"))


@pytest.fixture(scope="module")
def provided(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`repack build confget==99.0 -t debian-12` of a tiny confget whose console script is
    confget, which nsca (another source) needs from Debian's confget."""
    yield build_99(tmp_path_factory.mktemp("provides"), "confget", "confget",
                   "confget 99.0, built by repack")


def test_the_package_provides_an_owner_other_sources_need(provided: dict[str, Any]) -> None:
    deb = provided["deb"]
    assert field(deb, "Package") == "python3-confget"
    assert field(deb, "Provides") == "confget (= 99.0-0repack1~deb12)"
    assert field(deb, "Replaces") == field(deb, "Breaks") == "confget (<< 4.1.1+repack~)"
    assert ("python3-confget takes /usr/bin/confget over from Debian 12 (bookworm)'s confget "
            "(the same project: source package confget) and provides confget for nsca and "
            "1 more") in provided["stderr"]
    # declared from the metadata's console script before the build: built once
    assert "building it again" not in provided["stderr"]


def test_apt_keeps_the_dependers_of_the_owner(provided: dict[str, Any], container_engine: Engine,
                                              base_image: Callable[[str], str]) -> None:
    """nsca first, with Debian's confget; then our python3-confget: confget goes, nsca
    stays, and removing our package would take nsca with it: the Provides is what meets its
    dependency now."""
    out = take_over(provided, container_engine, base_image("debian-12"), first="nsca",
                    package="python3-confget", script="confget",
                    then="dpkg -s nsca | sed -n 's/^Status: /nsca status: /p'\n"
                         "apt-get -s remove python3-confget | sed -n 's/^Remv /would remove: /p'")
    assert "nsca status: install ok installed" in out
    assert "confget 99.0, built by repack" in out
    removed = [line.split()[2] for line in out.splitlines()
               if line.startswith("would remove: ")]
    assert "python3-confget" in removed and "nsca" in removed, out
