"""Packaging mistakes lintian and rpmlint catch (issue 11), on one tiny sdist built for
debian-12 and el9 from the loopback index: rsa 4.9's Apache-2.0 LICENSE and a README that
opens with its summary, jmespath 1.0.1's setup.py `scripts=` (el9: "Installed (but
unpackaged) file(s) found"), members dated 1970, a module with a "#!" line, a locale dir,
the same 120 kB file twice, a name ending in an ISO 639 code (python3-...-six), and distlib
0.4.4's Windows launcher (.exe, left out) and truncated ELF test fixture (lintian:
binary-with-bad-dynamic-table on the source), coverage's Apache NOTICE.txt, fonttools'
manual page in data_files (el9: "Installed (but unpackaged) file(s) found") and
psycopg2-binary's top directory, which its file name does not spell (el9: %prep could not
cd to it), and backports.tarfile's pkgutil-style `backports/__init__.py` (lintian:
python-module-has-overly-generic-name; left out on Debian targets).  The sdist is made by
tests/sdists.py (lint_traits_sdist); the linters are the host's."""

from __future__ import annotations

import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import build_json  # type: ignore[import-not-found]
from localindex import LocalIndex
from rpmcheck import rpm_q, rpmlint
from sdists import lint_traits_sdist, module_name

from repack.sourcedate import EARLIEST

pytestmark = pytest.mark.integration

NAME = "lint-traits-six"
UPLOADED = "2024-05-06T07:08:09Z"
MODULE = module_name(NAME)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("lint")
    # a fresh version per run: the build cache must not answer instead of a build
    version = f"1.0.{uuid.uuid4().int % 10**6}"
    archive = lint_traits_sdist(tmp / "sdist", NAME, version)
    with LocalIndex() as index:
        # PyPI's PEP 700 upload time is the build date (the members' 1970 is not)
        index.add(NAME, archive.name, archive.read_bytes(), upload_time=UPLOADED)
        out = tmp / "out"
        result = build_json(["--no-check", f"{NAME}=={version}", "-t", "debian-12", "-t", "el9",
                             "-o", str(out)], env={"PIP_INDEX_URL": index.url})
        yield {"result": result, "version": version}


def artifact(built: dict[str, Any], target: str, fmt: str) -> Path:
    (path,) = [Path(a["path"]) for a in built["result"]["artifacts"]
               if a["target"] == target and a["format"] == fmt]
    return path


def test_lintian_reports_none_of_the_traits(built: dict[str, Any]) -> None:
    changes = artifact(built, "debian-12", "changes")
    proc = subprocess.run(["lintian", "--fail-on", "error", "--tag-display-limit", "0",
                           changes], capture_output=True, text=True, check=False)
    report = proc.stdout + proc.stderr
    for tag in ("copyright-not-using-common-license-for-apache2",
                "copyright-file-contains-full-apache-2-license",
                "description-synopsis-is-duplicated", "package-contains-ancient-file",
                "binary-with-bad-dynamic-table", "missing-notice-file-for-apache-license",
                "python-module-has-overly-generic-name"):
        assert tag not in report, report
    assert proc.returncode == 0, report


def test_deb_copyright_points_to_common_licenses_and_dates_are_clamped(
        built: dict[str, Any], tmp_path: Path) -> None:
    deb = artifact(built, "debian-12", "deb")
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True,
                         check=True).stdout
    (tmp_path / "data.tar").write_bytes(tar)
    with tarfile.open(tmp_path / "data.tar") as data:
        members = data.getmembers()
        copyright = data.extractfile(f"./usr/share/doc/python3-{NAME}/copyright")
        assert copyright is not None
        text = copyright.read().decode()
    assert "/usr/share/common-licenses/Apache-2.0" in text
    assert "TERMS AND CONDITIONS" not in text
    # the sdist's members are dated 1970; nothing in the package is
    assert [m.name for m in members if m.mtime < EARLIEST] == []
    names = {m.name for m in members}
    assert f"./usr/bin/{NAME}-tool" in names and f"./usr/bin/{NAME}" in names
    # the Windows launcher is left out, the rest of its directory is not
    site = f"./usr/lib/python3/dist-packages/{MODULE}/data"
    assert f"{site}/big.txt" in names
    assert [n for n in names if n.lower().endswith(".exe")] == []
    assert f"./usr/share/doc/python3-{NAME}/NOTICE.txt" in names
    assert f"./usr/share/man/man1/{NAME}.1.gz" in names          # data_files
    # the namespace's declaration is left out, its portion is not (PEP 420 imports it)
    assert f"./usr/lib/python3/dist-packages/backports/{MODULE}/__init__.py" in names
    assert "./usr/lib/python3/dist-packages/backports/__init__.py" not in names


def test_rpmlint_reports_none_of_the_traits(built: dict[str, Any]) -> None:
    for fmt in ("rpm", "srpm"):
        proc = rpmlint(artifact(built, "el9", fmt))
        for tag in ("non-executable-script", "files-duplicated-waste", "files-duplicate ",
                    "no-dependency-on", "file-not-in-%lang"):
            assert tag not in proc.stdout, proc.stdout
        assert " 0 errors" in proc.stdout, proc.stdout


def test_el9_rpm_lists_the_setup_py_script(built: dict[str, Any]) -> None:
    """jmespath's case: a setup.py `scripts=` file is in no metadata, yet it is packaged."""
    rpm = artifact(built, "el9", "rpm")
    files = rpm_q(rpm, "--list")
    assert f"/usr/bin/{NAME}-tool" in files and f"/usr/bin/{NAME}" in files
    # fonttools' case: a data_files manual page, as brp-compress left it
    assert f"/usr/share/man/man1/{NAME}.1.gz" in files
    site = f"/usr/lib/python3.9/site-packages/{MODULE}"
    assert f"{site}/locale/de/LC_MESSAGES/{MODULE}.mo" in files
    assert f"{site}/data/big.txt" in files
    assert [f for f in files if f.lower().endswith(".exe")] == []    # the Windows launcher
    langs = rpm_q(rpm, "--qf", "[%{FILELANGS} %{FILENAMES}\n]")
    assert f"de {site}/locale/de/LC_MESSAGES/{MODULE}.mo" in langs    # as %find_lang marks it
    # the two identical data files are one inode (rpm --dump: path size mtime digest mode
    # owner group isconfig isdoc rdev symlink)
    dump = {line.split()[0]: line.split() for line in rpm_q(rpm, "--dump")}
    big, copy = dump[f"{site}/data/big.txt"], dump[f"{site}/data/big-copy.txt"]
    assert big[3] == copy[3]
    assert [path for path, fields in dump.items() if int(fields[2]) < EARLIEST] == []
    nlink = rpm_q(rpm, "--qf", "[%{FILENAMES} %{FILENLINKS}\\n]")
    assert f"{site}/data/big.txt 2" in nlink
