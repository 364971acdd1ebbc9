"""Checks on built rpms shared by the integration tests: rpm -qp, rpmlint, dnf installroot.

    from rpmcheck import dnf_install, rpm_q, rpmlint   # tests/ is on sys.path

No EL9 or Fedora base system can be had here, so `dnf_install` adds one stub package that
provides the base interpreter (python(abi) = 3.X, /usr/bin/python3) and nothing else; every
Python dependency must come from the rpms given.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RPMLINTRC = ROOT / "templates" / "rpm" / "repack.rpmlintrc"

STUB_SPEC = """\
Name: repack-test-python-stub
Version: {python}
Release: 1
Summary: Test stub: the target's base interpreter and nothing else
License: MIT
BuildArch: noarch
Provides: python(abi) = {python}

%description
Stands in for the target's python3 in an empty installroot.

%install
mkdir -p %{{buildroot}}/usr/bin
ln -s python{python} %{{buildroot}}/usr/bin/python3

%files
/usr/bin/python3
"""


def rpm_q(path: Path, *query: str) -> list[str]:
    proc = subprocess.run(["rpm", "-qp", *query, path], capture_output=True, text=True,
                          check=True)
    return proc.stdout.splitlines()


def rpmlint(path: Path) -> subprocess.CompletedProcess[str]:
    # One file at a time: rpmlint 2.4 mixes up the specs of several .src.rpm in one run.
    return subprocess.run(["rpmlint", "--ignore-unused-rpmlintrc", "-r", RPMLINTRC, path],
                          capture_output=True, text=True, check=False)


def stub_package(tmp: Path, python: str = "3.9") -> Path:
    (tmp / "stub.spec").write_text(STUB_SPEC.format(python=python))
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {tmp / 'top'}",
                    tmp / "stub.spec"], check=True, capture_output=True)
    (rpm,) = (tmp / "top" / "RPMS" / "noarch").glob("*.rpm")
    return rpm


def dnf_install(rpms: Sequence[Path], packages: Sequence[str], tmp: Path, *,
                python: str = "3.9", releasever: str = "9") -> Path:
    """Install `packages` with dnf into an empty installroot from a createrepo_c repository
    of `rpms` plus the interpreter stub for `python`; return the installroot."""
    repo = tmp / "repo"
    repo.mkdir()
    for path in [stub_package(tmp, python), *rpms]:
        os.link(path, repo / path.name)
    subprocess.run(["createrepo_c", "--quiet", repo], check=True)
    (tmp / "dnf.conf").write_text("[main]\n")
    root = tmp / "root"
    dnf = subprocess.run(
        ["dnf", "-y", "-q", "-c", tmp / "dnf.conf", f"--installroot={root}",
         "--setopt=reposdir=/dev/null", f"--setopt=cachedir={tmp / 'cache'}",
         f"--repofrompath=local,{repo}", "--repo=local", "--nogpgcheck",  # signing: issue 5
         f"--releasever={releasever}", "--setopt=install_weak_deps=False", "install",
         *packages],
        capture_output=True, text=True, check=False)
    assert dnf.returncode == 0, dnf.stdout + dnf.stderr
    return root
