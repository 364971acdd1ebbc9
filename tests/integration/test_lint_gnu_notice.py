"""A license that is the FSF's notice of a GNU license under a name that is no DEP-5
expression (psycopg2-binary 2.9.13: `License: LGPL with exceptions`, a LICENSE saying "under
the terms of the GNU Lesser General Public License as published by the Free Software
Foundation, either version 3 ..."): debian/copyright keeps the notice and points to
/usr/share/common-licenses/LGPL-3, which lintian wants (copyright-not-using-common-license-
for-lgpl, an error, failed the breadth benchmark's psycopg2-binary).  Built from the loopback
index with the host's lintian."""

from __future__ import annotations

import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest
from conftest import build_json  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import default_files, make_sdist, pkg_info_text

pytestmark = pytest.mark.integration

NAME = "gnu-notice-demo"
NOTICE = b"""gnu-notice-demo and the LGPL
----------------------------

gnu-notice-demo is free software: you can redistribute it and/or modify it
under the terms of the GNU Lesser General Public License as published
by the Free Software Foundation, either version 3 of the License, or
(at your option) any later version.

In addition, as a special exception, the copyright holders give
permission to link this program with the OpenSSL library.
"""


def test_a_gnu_notice_is_lint_clean(tmp_path: Path) -> None:
    # a fresh version per run: the build cache must not answer instead of a build
    version = f"1.0.{uuid.uuid4().int % 10**6}"
    pyproject = default_files(NAME, version)["pyproject.toml"].replace(
        b'license = {text = "MIT"}', b'license = {text = "LGPL with exceptions"}')
    pkg_info = pkg_info_text(NAME, version).replace("License: MIT",
                                                    "License: LGPL with exceptions")
    archive = make_sdist(tmp_path / "sdist", NAME, version,
                         {"pyproject.toml": pyproject, "LICENSE": NOTICE}, pkg_info=pkg_info)
    with LocalIndex() as index:
        index.add(NAME, archive.name, archive.read_bytes())
        result = build_json(["--no-check", f"{NAME}=={version}", "-t", "debian-13",
                             "-o", str(tmp_path / "out")], env={"PIP_INDEX_URL": index.url})
    (changes,) = [Path(a["path"]) for a in result["artifacts"] if a["format"] == "changes"]
    proc = subprocess.run(["lintian", "--fail-on", "error", "--tag-display-limit", "0",
                           changes], capture_output=True, text=True, check=False)
    report = proc.stdout + proc.stderr
    assert "copyright-not-using-common-license-for-lgpl" not in report, report
    assert proc.returncode == 0, report
    (deb,) = [Path(a["path"]) for a in result["artifacts"] if a["format"] == "deb"]
    text = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True,
                          check=True).stdout
    (tmp_path / "data.tar").write_bytes(text)
    with tarfile.open(tmp_path / "data.tar") as data:
        member = data.extractfile(f"./usr/share/doc/python3-{NAME}/copyright")
        assert member is not None
        copyright_text = member.read().decode()
    assert "License: LGPL with exceptions" in copyright_text
    assert "special exception" in copyright_text      # the notice stays
    assert "/usr/share/common-licenses/LGPL-3." in copyright_text
