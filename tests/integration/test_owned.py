"""Names and files belong to their owners, through the real CLI (issue 10 items 3 and 4).

Hostile sdists are built here and served by a LocalIndex on loopback: PyPI ``apt`` 99.0 would
become python3-apt (Debian's python-apt), ``argparse`` 99.0 the interpreter package python3,
and console scripts named ``su`` or ``login`` would replace /bin/su and /bin/login on a
merged-/usr Debian 12, where dpkg sees no conflict.  Name refusals happen before any container
runs (only the builder image's archive data is read); the file check runs on the built
package, before anything is cached or delivered.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import default_files, make_sdist
from test_bad_input import assert_refused, publish  # type: ignore[import-not-found]

from repack import config, targets
from repack.container import contents, images

pytestmark = pytest.mark.integration


@pytest.fixture
def index() -> Iterator[LocalIndex]:
    with LocalIndex() as idx:
        yield idx


def build(index: LocalIndex, args: Sequence[str], out: Path,
          config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`repack build` in the normal cache (REPACK_CACHE_DIR): the builder image's archive data
    is needed to know the names, and is recovered from the engine, not bootstrapped again."""
    extra = ["--config", str(config)] if config is not None else []
    return run_repack(["build", "--no-check",
                       *args, *extra, "-o", str(out)], env={"PIP_INDEX_URL": index.url})


def repack_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "repack.toml"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- names (item 4)

def test_apt_from_pypi_is_not_debians_python_apt(index: LocalIndex, tmp_path: Path) -> None:
    publish(index, make_sdist(tmp_path, "apt", "99.0", {}), "apt")
    out = tmp_path / "out"
    proc = build(index, ["apt==99.0", "-t", "debian-12"], out)
    assert_refused(proc, 7, out, "apt", "python3-apt is taken in Debian 12 (bookworm)",
                   "the archive's package of python-apt", "not of apt")
    assert 'hint: choose a name for its package in repack.toml: [packages.apt] name = ' \
           '"python3-apt-pypi"' in proc.stderr
    assert "dpkg-buildpackage" not in proc.stderr and "network" not in proc.stderr


def test_argparse_from_pypi_is_not_the_interpreter(index: LocalIndex, tmp_path: Path) -> None:
    publish(index, make_sdist(tmp_path, "argparse", "99.0", {}), "argparse")
    out = tmp_path / "out"
    proc = build(index, ["argparse==99.0", "-t", "debian-12"], out)
    assert_refused(proc, 7, out, "argparse",
                   "dh-python maps argparse to Debian 12 (bookworm)'s package python3",
                   "which is the interpreter's own")
    assert '[packages.argparse] name = "python3-argparse"' in proc.stderr
    assert "dpkg-buildpackage" not in proc.stderr


def test_an_application_package_of_the_project_is_built_under_its_name(
        index: LocalIndex, tmp_path: Path) -> None:
    """dh-python maps awscli to Debian's application package awscli (no python3-awscli): a
    newer awscli is built as awscli, which replaces Debian's, /usr/bin/aws included."""
    publish(index, make_sdist(tmp_path, "awscli", "99.0", {},
                              scripts={"aws": "awscli:main"}), "awscli")
    out = tmp_path / "out"
    proc = build(index, ["awscli==99.0", "-t", "debian-12"], out)
    assert proc.returncode == 0, proc.stderr
    assert ("awscli: dh-python maps it to Debian 12 (bookworm)'s application package awscli "
            "(not a python3-* name): building awscli, which replaces it") in proc.stderr
    deb, = (out / "debian-12").glob("*.deb")
    assert deb.name == "awscli_99.0-0repack1~deb12_all.deb"
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    assert "./usr/bin/aws\n" in listing and "/dist-packages/awscli/" in listing


def test_a_dependency_on_a_taken_name_is_refused(index: LocalIndex, tmp_path: Path) -> None:
    """Depends: python3-apt for PyPI's apt would be met by Debian's python-apt."""
    publish(index, make_sdist(tmp_path, "needs-apt", "1.0", {}, requires_dist=["apt>=99"]),
            "needs-apt")
    out = tmp_path / "out"
    proc = build(index, ["needs-apt==1.0", "-t", "debian-12"], out)
    assert_refused(proc, 7, out, "needs-apt", "requirement 'apt>=99'",
                   "python3-apt is taken", "would be met by the wrong package")


def test_a_configured_name_that_is_taken_is_refused(index: LocalIndex, tmp_path: Path) -> None:
    publish(index, make_sdist(tmp_path, "apt", "99.0", {}), "apt")
    config = repack_toml(tmp_path, '[packages.apt]\nname = "python3-yaml"\n')
    out = tmp_path / "out"
    proc = build(index, ["apt==99.0", "-t", "debian-12"], out, config)
    assert_refused(proc, 7, out, "apt", "the configured package name python3-yaml is taken",
                   "the archive's package of pyyaml")


def test_rpm_target_refuses_the_interpreters_names(index: LocalIndex, tmp_path: Path) -> None:
    """No RHEL repository data is reachable: a known list of the distribution's own names."""
    publish(index, make_sdist(tmp_path, "libs", "99.0", {}), "libs")
    out = tmp_path / "out"
    proc = build(index, ["libs==99.0", "-t", "el9"], out)
    assert_refused(proc, 7, out, "libs", "python3-libs is taken in Enterprise Linux 9",
                   "the python3 interpreter")
    assert "rpmbuild" not in proc.stderr


def test_a_chosen_name_builds(index: LocalIndex, tmp_path: Path) -> None:
    """With a name chosen in repack.toml, PyPI's apt builds as python3-apt-pypi, and a
    dependent's Depends names that package; its files are still checked: an ``apt`` module
    would replace python-apt's."""
    config = repack_toml(tmp_path, '[packages.apt]\nname = "python3-apt-pypi"\n')
    publish(index, make_sdist(tmp_path, "apt", "99.0", {}), "apt")
    out = tmp_path / "out"
    proc = build(index, ["apt==99.0", "-t", "debian-12"], out, config)
    assert_refused(proc, 7, out, "apt", "python3-apt-pypi would replace "
                   "/usr/lib/python3/dist-packages/apt/__init__.py of Debian 12 (bookworm)'s "
                   "python3-apt")

    # 99.1 keeps its code in its own module
    pyproject = default_files("apt", "99.1")["pyproject.toml"].decode().replace(
        'packages = ["apt"]', 'packages = ["apt_pypi"]')
    publish(index, make_sdist(tmp_path, "apt", "99.1", {
        "pyproject.toml": pyproject.encode(), "apt_pypi/__init__.py": b"VERSION = '99.1'\n",
        }), "apt")
    publish(index, make_sdist(tmp_path, "needs-apt", "1.0", {}, requires_dist=["apt>=99"]),
            "needs-apt")
    proc = build(index, ["--json", "needs-apt==1.0", "--with-deps", "-t", "debian-12"], out,
                 config)
    assert proc.returncode == 0, proc.stderr
    debs = {a["package"]: Path(a["path"]) for a in json.loads(proc.stdout)["artifacts"]
            if a["format"] == "deb"}
    assert sorted(debs) == ["python3-apt-pypi", "python3-needs-apt"]
    depends = subprocess.run(["dpkg-deb", "-f", debs["python3-needs-apt"], "Depends"],
                             capture_output=True, text=True, check=True).stdout
    assert "python3-apt-pypi (>= 99)" in depends, depends
    assert "python3-apt " not in depends + " "


# --------------------------------------------------------------------------- files (item 3)

def evil_su(tmp_path: Path, index: LocalIndex) -> str:
    """An sdist whose console scripts are named su and login: on merged-/usr Debian 12 they
    would be /usr/bin/su and /usr/bin/login, the same files as util-linux's /bin/su and
    login's /bin/login.  A fresh sdist each run, so the build really runs."""
    nonce = f"NONCE = {uuid.uuid4().hex!r}\n".encode()
    archive = make_sdist(tmp_path / "sdist", "evil-su", "1.0", {"evil_su/_nonce.py": nonce},
                         scripts={"su": "evil_su:main", "login": "evil_su:main"})
    publish(index, archive, "evil-su")
    return "evil-su==1.0"


def test_console_scripts_su_and_login_are_refused(index: LocalIndex, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = build(index, [evil_su(tmp_path, index), "-t", "debian-12"], out)
    line = assert_refused(proc, 7, out, "evil-su", "python3-evil-su would replace",
                          "on merged /usr) of Debian 12 (bookworm)'s", "and 1 more file(s)")
    assert ("/bin/su (the same file as /usr/bin/su" in line
            or "/bin/login (the same file as /usr/bin/login" in line), line
    assert ('hint: if it is another program of the same name, leave it out in repack.toml: '
            '[packages.evil-su] exclude = [') in proc.stderr
    assert "; if replacing it is intended, allow it: allow-paths = [" in proc.stderr
    assert '"/usr/bin/su"' in proc.stderr and '"/usr/bin/login"' in proc.stderr
    # refused from the metadata, before anything was built
    assert "dpkg-buildpackage" not in proc.stderr and "network" not in proc.stderr


def test_files_the_metadata_does_not_announce_are_refused_after_the_build(
        index: LocalIndex, tmp_path: Path) -> None:
    """A script installed by setuptools' script-files is no console script: only the built
    package's file list shows /usr/bin/su, and the check on it refuses the package before it
    is cached or delivered."""
    name, module = "sneaky-su", "sneaky_su"
    pyproject = default_files(name, "1.0")["pyproject.toml"].decode().replace(
        f'packages = ["{module}"]\n', f'packages = ["{module}"]\nscript-files = ["bin/su"]\n')
    assert "script-files" in pyproject
    nonce = f"NONCE = {uuid.uuid4().hex!r}\n".encode()
    archive = make_sdist(tmp_path / "sdist", name, "1.0", {
        "pyproject.toml": pyproject.encode(), "bin/su": b"#!/bin/sh\necho pwned\n",
        f"{module}/_nonce.py": nonce})
    publish(index, archive, name)
    out = tmp_path / "out"
    proc = build(index, [f"{name}==1.0", "-t", "debian-12"], out)
    line = assert_refused(proc, 7, out, name,
                          "python3-sneaky-su would replace /bin/su (the same file as /usr/bin/su "
                          "on merged /usr) of Debian 12 (bookworm)'s util-linux")
    assert "more file" not in line
    assert "dpkg-buildpackage" in proc.stderr          # the file list of the built package
    assert "up to date" not in proc.stderr
    # the builder image's index by file name, made once from its archive.json, answered
    image = images.image_for(targets.load("debian-12"), "builder", config.load().cache_dir)
    owned = images.load_owned_files(image)
    assert owned is not None
    found = contents.lines_named(owned[0], ["su"], image.owned_index)
    assert found is not None and any(ln.split()[0] == "bin/su" for ln in found), found


def test_allowed_paths_build(index: LocalIndex, tmp_path: Path) -> None:
    """The user's explicit per-project allowance lets exactly those files through."""
    config = repack_toml(tmp_path, '[packages.evil-su]\nallow-paths = ["/usr/bin/su"]\n')
    out = tmp_path / "out"
    req = evil_su(tmp_path, index)
    proc = build(index, [req, "-t", "debian-12"], out, config)
    line = assert_refused(proc, 7, out, "evil-su", "/bin/login (the same file as /usr/bin/login")
    assert "/bin/su" not in line and "more file" not in line
    config.write_text('[packages.evil-su]\nallow-paths = ["/usr/bin/su", "/bin/login"]\n')
    proc = build(index, ["--json", req, "-t", "debian-12"], out, config)
    assert proc.returncode == 0, proc.stderr
    deb = next(Path(a["path"]) for a in json.loads(proc.stdout)["artifacts"]
               if a["format"] == "deb")
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                             check=True).stdout
    assert "./usr/bin/su" in listing and "./usr/bin/login" in listing


def test_another_build_of_debians_modules_builds_with_conflicts(
        index: LocalIndex, tmp_path: Path) -> None:
    """A project whose modules are a Debian package's (psycopg2-binary's are python3-psycopg2's;
    here `yaml`, Debian 12's python3-yaml) ships them when its table conflicts with that
    package: the file check, on the archive's real Contents, lets them through."""
    name = "yaml-fork"
    pyproject = default_files(name, "1.0")["pyproject.toml"].decode().replace(
        'packages = ["yaml_fork"]', 'packages = ["yaml"]')
    assert 'packages = ["yaml"]' in pyproject
    publish(index, make_sdist(tmp_path / "sdist", name, "1.0", {
        "pyproject.toml": pyproject.encode(), "yaml/__init__.py": b"FORK = True\n"}), name)
    config = repack_toml(tmp_path, '[packages.yaml-fork]\n'
                                   'conflicts = { deb = ["python3-yaml"] }\n')
    proc = build(index, ["--json", f"{name}==1.0", "-t", "debian-12"], tmp_path / "out", config)
    assert proc.returncode == 0, proc.stderr
    deb = next(Path(a["path"]) for a in json.loads(proc.stdout)["artifacts"]
               if a["format"] == "deb")
    fields = subprocess.run(["dpkg-deb", "-f", deb, "Conflicts"], capture_output=True,
                            text=True, check=True).stdout
    assert fields.strip() == "python3-yaml"
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                             check=True).stdout
    assert "./usr/lib/python3/dist-packages/yaml/__init__.py" in listing


def test_excluded_scripts_build_without_them(index: LocalIndex, tmp_path: Path) -> None:
    """Another program of the same name (mcp's `mcp` beside mmv's) is left out by `exclude`,
    which the refusal's hint names: the early check skips it, the package lacks it."""
    config = repack_toml(tmp_path, '[packages.evil-su]\nexclude = ["/usr/bin/su", '
                                   '"/usr/bin/log*"]\n')
    out = tmp_path / "out"
    proc = build(index, ["--json", evil_su(tmp_path, index), "-t", "debian-12"], out, config)
    assert proc.returncode == 0, proc.stderr
    deb = next(Path(a["path"]) for a in json.loads(proc.stdout)["artifacts"]
               if a["format"] == "deb")
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                             check=True).stdout
    assert "evil_su" in listing and "/usr/bin/" not in listing


def test_rpm_target_refuses_su_and_login(index: LocalIndex, tmp_path: Path) -> None:
    """No RHEL file lists are reachable: the files installed in the el9 builder (a Debian 11
    system) stand in for them; /usr/bin/su and /usr/bin/login are a base system's either way."""
    # metadata in setup.cfg: the el9 builder's setuptools 52 (Debian 11) reads no [project]
    nonce = f"NONCE = {uuid.uuid4().hex!r}\n".encode()
    archive = make_sdist(tmp_path / "sdist", "evil-su", "1.1", {
        "evil_su/_nonce.py": nonce,
        "pyproject.toml": b'[build-system]\nrequires = ["setuptools>=40.8"]\n'
                          b'build-backend = "setuptools.build_meta"\n',
        "setup.cfg": b"[metadata]\nname = evil-su\nversion = 1.1\n[options]\npackages = evil_su\n"
                     b"[options.entry_points]\nconsole_scripts =\n    su = evil_su:main\n"
                     b"    login = evil_su:main\n",
        # as setuptools' sdist writes it: where repack reads a static sdist's scripts
        "evil_su.egg-info/entry_points.txt": b"[console_scripts]\nlogin = evil_su:main\n"
                                             b"su = evil_su:main\n"})
    publish(index, archive, "evil-su")
    out = tmp_path / "out"
    proc = build(index, ["evil-su==1.1", "-t", "el9"], out)
    line = assert_refused(proc, 7, out, "evil-su", "python3-evil-su would replace",
                          "Enterprise Linux 9 (RHEL, Rocky, Alma)'s base system ships",
                          "standing in for its file lists", "and 1 more file(s)")
    assert "/usr/bin/su" in line or "/usr/bin/login" in line
    assert "rpmbuild" in proc.stderr                  # the file list of the built .rpm
    assert '"/usr/bin/su"' in proc.stderr and '"/usr/bin/login"' in proc.stderr


def test_debian_13_refuses_su_and_login_too(index: LocalIndex, tmp_path: Path) -> None:
    """Debian 13 has no /bin alias left (util-linux ships /usr/bin/su): the same refusal, from
    the metadata, without building."""
    out = tmp_path / "out"
    proc = build(index, [evil_su(tmp_path, index), "-t", "debian-13"], out)
    line = assert_refused(proc, 7, out, "evil-su", "python3-evil-su would replace /usr/bin/",
                          "of Debian 13 (trixie)'s", "and 1 more file(s)")
    assert "merged /usr" not in line
    assert "dpkg-buildpackage" not in proc.stderr
