"""templates/rpm/repack.rpmlintrc against real rpmlint: each filter hides what it says and
nothing else, on a small rpm built with the host's rpmbuild (binutils, from dpkg-dev, makes
its static archive and extension)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from rpmcheck import RPMLINTRC, rpmlint  # tests/ is on sys.path

pytestmark = [pytest.mark.process,
              pytest.mark.skipif(not (shutil.which("rpmbuild") and shutil.which("rpmlint")),
                                 reason="needs rpmbuild and rpmlint")]

SITEARCH = "/usr/lib64/python3.9/site-packages"
SPEC = f"""\
Name: python3-six
Version: 1.0
Release: 1
Summary: Test package with a name rpmlint reads as a language pack
License: MIT
URL: https://example.org/
BuildArch: x86_64

%description
A module with a "#!" line in the site-packages of native code, and a
static archive there stripped of its debug sections as rpm's
brp-strip-static-archive strips it, and a limited-API extension that
uses no libc symbol (tornado's speedups.abi3.so): no NEEDED entry.

%install
mkdir -p %{{buildroot}}{SITEARCH}/demo
printf '#!/usr/bin/python3\\nprint(1)\\n' > %{{buildroot}}{SITEARCH}/demo/cli.py
chmod 0644 %{{buildroot}}{SITEARCH}/demo/cli.py
mkdir -p %{{buildroot}}{SITEARCH}/demo/lib
printf '.text\\n.globl f\\nf:\\n ret\\n' > f.s
as -g -o f.o f.s
ar rcs %{{buildroot}}{SITEARCH}/demo/lib/libnpymath.a f.o
strip -g %{{buildroot}}{SITEARCH}/demo/lib/libnpymath.a
printf '.section .note.GNU-stack,"",@progbits\n.text\n' > s.s
printf '.globl PyInit_speedups\nPyInit_speedups:\n ret\n' >> s.s
as -o s.o s.s
ld -shared -o %{{buildroot}}{SITEARCH}/demo/speedups.abi3.so s.o

%files
{SITEARCH}/demo/

%changelog
* Mon Jan 01 2024 repack <repack@example.invalid> - 1.0-1
- test
"""


def test_filters_cover_lib64_language_named_packages_and_static_archives(tmp_path: Path) -> None:
    (tmp_path / "six.spec").write_text(SPEC)
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {tmp_path / 'top'}",
                    "--define", "_build_id_links none", tmp_path / "six.spec"],
                   check=True, capture_output=True)
    (rpm,) = (tmp_path / "top" / "RPMS" / "x86_64").glob("*.rpm")
    bare = subprocess.run(["rpmlint", rpm], capture_output=True, text=True, check=False).stdout
    # what rpmlint says without repack's filters: the tags are real
    assert f"E: non-executable-script {SITEARCH}/demo/cli.py" in bare
    assert "E: no-dependency-on locales-six" in bare
    assert f"E: static-library-without-debuginfo {SITEARCH}/demo/lib/libnpymath.a" in bare
    assert f"E: shared-library-without-dependency-information {SITEARCH}/demo/speedups.abi3.so" \
        in bare
    filtered = rpmlint(rpm).stdout
    for tag in ("non-executable-script", "no-dependency-on", "static-library-without-debuginfo",
                "shared-library-without-dependency-information"):
        assert tag not in filtered, filtered
    assert " 0 errors" in filtered, filtered
    assert RPMLINTRC.is_file()
