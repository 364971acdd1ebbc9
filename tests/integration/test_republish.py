"""Revisions and versions through the real CLI.

Republishing, as the CI template runs it (build, then publish), with
real apt and dnf clients:

- the same build again is a no-op: `repack build` says it is identical to the published one
  and `repack publish` changes nothing;
- a build that differs (here: another maintainer in repack.toml) under a published revision
  is refused by `publish` with a hint naming the next revision;
- `repack build` against the repository (`[publish] repo` of repack.toml) builds it as the
  next revision instead, its changelog saying why, and apt and dnf upgrade to it;
- a release the target's archive already ships is said so, and both packages keep the version
  as published (six 1.16.0 -> python3-six-1.16.0-0.repack1.el9, python3-six_1.16.0-0repack1~deb12).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from rpmkit import dnf, installed, python_stub, stop_agent  # type: ignore[import-not-found]
from sdists import make_sdist

from repack.container.engine import Engine, Mount

pytestmark = pytest.mark.integration

NAME = "rev-demo"
VERSION = "2.5.0"
DEB = "python3-rev-demo"
PYPROJECT = b"""[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
"""
SETUP_PY = b"""from setuptools import setup
setup(name="rev-demo", version="2.5.0", packages=["rev_demo"], license="MIT",
      description="A tiny test package", python_requires=">=3.8")
"""
CONFIG = """[maintainer]
name = "{who}"
email = "packages@example.org"

[publish]
repo = "repo"
gnupghome = "gnupg"
"""


def deb_version(n: int) -> str:
    return f"2.5.0-0repack{n}~deb12"        # the release as published, like the rpm


def rpm_nvr(n: int) -> str:
    return f"{DEB}-{VERSION}-0.repack{n}.el9"     # rpm: the version as published


def test_a_rebuild_is_republished_as_the_next_revision(
        tmp_path: Path, container_engine: Engine, base_image: Callable[[str], str]) -> None:
    work = tmp_path.resolve()
    # unique per run, so that the build cache never answers instead of the first build
    sdist = make_sdist(work / "sdists", NAME, VERSION, {
        "pyproject.toml": PYPROJECT, "setup.py": SETUP_PY, "NONCE": str(time.time_ns()).encode()})
    config = work / "repack.toml"

    with LocalIndex() as index:
        index.add(NAME, sdist.name, sdist.read_bytes(), upload_time="2024-05-01T12:30:00Z")

        def repack(*args: str, code: int = 0) -> str:
            proc = run_repack([*args], env={"PIP_INDEX_URL": index.url, "REPACK_PASSPHRASE": ""},
                              cwd=work)
            assert proc.returncode == code, proc.stdout + proc.stderr
            return proc.stdout + proc.stderr

        def build(out: str, *args: str, targets: tuple[str, ...] = ("debian-12", "el9")) -> str:
            # --no-check: apt and dnf install what was published at the end
            return repack("build", f"{NAME}=={VERSION}", *[a for t in targets for a in ("-t", t)],
                          "-o", out, "--no-check", *args)

        try:
            config.write_text(CONFIG.format(who="First Team"))
            build("out1")                           # no repository yet: revision 1
            repack("key", "generate", "--email", "packages@example.org", "--no-passphrase")
            shutil.copy(python_stub(work), work / "out1" / "el9")   # EL9's python3
            assert "added" in repack("publish", "out1")

            # the CI's second run: the same build, published again, changes nothing
            again = build("out2")
            assert again.count("identical to the build published in") == 2, again
            assert "nothing new: the repository is unchanged" in repack("publish", "out2")

            # another maintainer: a different package under the published revision 1
            config.write_text(CONFIG.format(who="Second Team"))
            # as repack did before: refused by publish.
            # For debian-12 only: publish adds the families side by side and reports the
            # first family's refusal, apt's, so an el9 build here would be refused unseen
            # (the yum refusal is test_publish_yum's)
            build("out3", "--revision", "1", targets=("debian-12",))
            refused = repack("publish", "out3", code=4)
            assert "already published" in refused and "--revision 2" in refused, refused

            # against the repository, the build becomes revision 2 and says why
            bumped = build("out4")
            assert bumped.count("building revision 2") == 2, bumped
            names = sorted(p.name for p in (work / "out4").rglob("*") if p.is_file())
            assert not [n for n in names if "repack1" in n], names   # superseded: gone
            (deb,) = (work / "out4" / "debian-12").glob("*.deb")
            assert deb.name == f"{DEB}_{deb_version(2)}_all.deb"
            changelog = subprocess.run(
                ["sh", "-c", (f"dpkg-deb --fsys-tarfile {deb} | tar -xOf - "
                 f"./usr/share/doc/{DEB}/changelog.Debian.gz | gzip -d")],
                capture_output=True, text=True, check=True).stdout
            assert f"({deb_version(2)})" in changelog, changelog
            assert (f"Rebuilt: the build published as {deb_version(1)} differs (control "
                    "field Maintainer: First Team <packages@example.org> != Second Team "
                    "<packages@example.org>).") in " ".join(changelog.split()), changelog
            (rpm,) = (work / "out4" / "el9").glob("*.noarch.rpm")
            rpm_log = subprocess.run(["rpm", "-qp", "--changelog", str(rpm)],
                                     capture_output=True, text=True, check=True).stdout
            assert "Rebuilt: the build published as" in rpm_log, rpm_log
            explained = repack("explain", str(deb))
            assert "  revision:  2: the build published as" in explained, explained
            assert "added" in repack("publish", "out4")
            # a second machine rebuilds revision 2 from its record, reason and all
            assert f"identical: {deb.name}" in repack("rebuild", str(deb))
            # and the rebuild of revision 2 is identical to it, read where it is served
            # (as the CI template's build jobs do): nothing to do
            server = subprocess.Popen(
                [sys.executable, "-m", "repack", "serve", str(work / "repo"), "--port", "0"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                env={**os.environ, "REPACK_SERVE_QUIET": "1"})
            try:
                assert server.stdout is not None
                url = server.stdout.readline().strip()
                same = build("out5", "--against", url)
            finally:
                server.terminate()
                server.wait(timeout=10)
            assert same.count("identical to the build published in http") == 2, same
            assert "(revision 2)" in same, same
        finally:
            stop_agent(work / "gnupg")

    repo = work / "repo"
    # apt: revision 1 installed first, then upgraded to revision 2
    argv = container_engine.run_argv(
        base_image("debian-12"), ["sh", "-euxc", APT_SCRIPT], network="host",
        env={"REPO": str(repo)}, mounts=[Mount(source=repo, target=str(repo), readonly=True)])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert f"FIRST {deb_version(1)}" in log and f"UPGRADED {deb_version(2)}" in log, log

    # dnf: the same from the generated client/repack-el9.repo, gpgcheck and repo_gpgcheck on
    repos, root = work / "repos.d", work / "root"
    repos.mkdir()
    shutil.copy(repo / "client" / "repack-el9.repo", repos / "repack.repo")
    first = dnf(repos, root, "install", rpm_nvr(1), "python3-stub")
    assert first.returncode == 0, first.stdout + first.stderr
    assert installed(root) == [rpm_nvr(1), "python3-stub-3.9.18-1"]
    upgrade = dnf(repos, root, "upgrade")
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert installed(root) == [rpm_nvr(2), "python3-stub-3.9.18-1"]


APT_SCRIPT = rf"""
install -d /etc/apt/keyrings
cp "$REPO/keys/repack.gpg" /etc/apt/keyrings/repack.gpg
cp "$REPO/client/repack-bookworm.sources" /etc/apt/sources.list.d/repack.sources
apt-get update
apt-cache policy {DEB}
apt-get install -y --no-install-recommends {DEB}={deb_version(1)}
echo "FIRST $(dpkg-query -W -f='${{Version}}' {DEB})"
apt-get upgrade -y
echo "UPGRADED $(dpkg-query -W -f='${{Version}}' {DEB})"
"""


def test_a_release_the_archive_ships_is_named(tmp_path: Path) -> None:
    """A project called six, 1.16.0: Debian 12 ships python3-six 1.16.0-4 (dh-python maps six
    to it), so the build says apt will prefer Debian's; the rpm and the .deb keep 1.16.0."""
    setup = SETUP_PY.replace(b"rev-demo", b"six").replace(b"2.5.0", b"1.16.0").replace(
        b"rev_demo", b"six")     # make_sdist writes the package <name>/
    sdist = make_sdist(tmp_path / "sdists", "six", "1.16.0", {
        "pyproject.toml": PYPROJECT, "setup.py": setup, "NONCE": str(time.time_ns()).encode()})
    with LocalIndex() as index:
        index.add("six", sdist.name, sdist.read_bytes(), upload_time="2024-05-01T12:30:00Z")
        proc = run_repack(["build", "--no-check", "six==1.16.0", "-t", "debian-12", "-t", "el9",
                           "-o", str(tmp_path / "out")], env={"PIP_INDEX_URL": index.url})
    assert proc.returncode == 0, proc.stderr
    assert ("warning: six: Debian 12 (bookworm) already ships python3-six 1.16.0-4, the same "
            "upstream version 1.16.0; apt installs the higher of 1.16.0-0repack1~deb12 and "
            "1.16.0-4: Debian's") in " ".join(proc.stderr.split()), proc.stderr
    assert [p.name for p in (tmp_path / "out" / "el9").glob("*.noarch.rpm")] == [
        "python3-six-1.16.0-0.repack1.el9.noarch.rpm"]
    assert [p.name for p in (tmp_path / "out" / "debian-12").glob("*.deb")] == [
        "python3-six_1.16.0-0repack1~deb12_all.deb"]
