"""Real RPM builds of real PyPI sdists for el9 and fedora-42, linted and installed with dnf.

el9: django==4.2 with its Python dependencies asgiref==3.6.0 (no typing_extensions on
Python 3.9) and sqlparse==0.4.4 (flit_core, which bullseye lacks in a new enough version:
it comes from the index as a verified wheel), in one command.  They are installed with dnf
into an empty --installroot from a createrepo_c repository, together with one stub package
that provides only the base interpreter; then the builder's Python 3.9 imports django from
the installed tree.  fedora-42: sqlparse alone, to see the trixie-based builder work.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, build_json  # type: ignore[import-not-found]

from repack import config, targets
from repack.build import images
from repack.build.engine import Engine, Mount

pytestmark = pytest.mark.integration

RPMLINTRC = ROOT / "templates" / "rpm" / "repack.rpmlintrc"
STUB_SPEC = """\
Name: repack-test-python-stub
Version: 3.9
Release: 1
Summary: Test stub: the target's base interpreter and nothing else
License: MIT
BuildArch: noarch
Provides: python(abi) = 3.9

%description
Stands in for EL9's python3 in an empty installroot.

%install
mkdir -p %{buildroot}/usr/bin
ln -s python3.9 %{buildroot}/usr/bin/python3

%files
/usr/bin/python3
"""


@pytest.fixture(scope="module")
def el9(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("out")
    result = build_json(["sqlparse==0.4.4", "asgiref==3.6.0", "django==4.2", "-t", "el9",
                         "-o", str(out)])
    return {"out": out, "result": result}


@pytest.fixture(scope="module")
def fedora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("out")
    return {"out": out,
            "result": build_json(["sqlparse==0.4.4", "-t", "fedora-42", "-o", str(out)])}


def artifact(result: dict[str, Any], package: str, fmt: str) -> Path:
    (path,) = [Path(a["path"]) for a in result["artifacts"]
               if a["package"] == package and a["format"] == fmt]
    return path


def rpm_q(path: Path, *query: str) -> list[str]:
    proc = subprocess.run(["rpm", "-qp", *query, path], capture_output=True, text=True,
                          check=True)
    return proc.stdout.splitlines()


def test_django_artifacts(el9: dict[str, Any]) -> None:
    result = el9["result"]
    rpm = artifact(result, "python3-django", "rpm")
    srpm = artifact(result, "python3-django", "srpm")
    assert rpm == el9["out"] / "el9" / "python3-django-4.2-0.repack1.el9.noarch.rpm"
    assert srpm.name == "python3-django-4.2-0.repack1.el9.src.rpm"
    for a in result["artifacts"]:
        assert hashlib.sha256(Path(a["path"]).read_bytes()).hexdigest() == a["sha256"]
    info = "\n".join(rpm_q(rpm, "--info"))
    assert "Build Host  : repack-debian-11-builder" in info


def test_django_relations(el9: dict[str, Any]) -> None:
    rpm = artifact(el9["result"], "python3-django", "rpm")
    provides = rpm_q(rpm, "--provides")
    assert "python3dist(django) = 4.2" in provides
    assert "python3.9dist(django) = 4.2" in provides
    requires = rpm_q(rpm, "--requires")
    assert "python(abi) = 3.9" in requires
    assert "(python3dist(asgiref) >= 3.6 with python3dist(asgiref) < 4~~)" in requires
    assert "python3dist(sqlparse) >= 0.3.1" in requires
    assert not any("argon2" in r or "bcrypt" in r for r in requires)   # extras never required
    files = rpm_q(rpm, "--list")
    assert "/usr/bin/django-admin" in files
    assert "/usr/lib/python3.9/site-packages/django/__init__.py" in files
    assert any(f.endswith("__init__.cpython-39.pyc") for f in files)
    assert not any("dist-packages" in f for f in files)


def test_source0_is_the_verified_sdist(el9: dict[str, Any], tmp_path: Path) -> None:
    (source,) = [s for s in el9["result"]["sources"] if s["project"] == "django"]
    srpm = artifact(el9["result"], "python3-django", "srpm")
    cpio = subprocess.run(["rpm2cpio", srpm], capture_output=True, check=True).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], input=cpio, cwd=tmp_path, check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Django-4.2.tar.gz",
                                                          "python3-django.spec"]
    digest = hashlib.sha256((tmp_path / "Django-4.2.tar.gz").read_bytes()).hexdigest()
    assert digest == source["sha256"]


def rpmlint(path: Path) -> subprocess.CompletedProcess[str]:
    # One file at a time: rpmlint 2.4 mixes up the specs of several .src.rpm in one run.
    return subprocess.run(["rpmlint", "--ignore-unused-rpmlintrc", "-r", RPMLINTRC, path],
                          capture_output=True, text=True, check=False)


def test_rpmlint_no_errors(el9: dict[str, Any], fedora: dict[str, Any]) -> None:
    paths = [Path(a["path"]) for r in (el9, fedora) for a in r["result"]["artifacts"]]
    assert len(paths) == 8
    for path in paths:
        proc = rpmlint(path)
        assert " 0 errors" in proc.stdout, f"{path.name}:\n{proc.stdout}\n{proc.stderr}"


def test_fedora_uses_its_own_paths(fedora: dict[str, Any]) -> None:
    rpm = artifact(fedora["result"], "python3-sqlparse", "rpm")
    assert rpm.name == "python3-sqlparse-0.4.4-0.repack1.fc42.noarch.rpm"
    assert "python(abi) = 3.13" in rpm_q(rpm, "--requires")
    assert "python3.13dist(sqlparse) = 0.4.4" in rpm_q(rpm, "--provides")
    files = rpm_q(rpm, "--list")
    assert "/usr/lib/python3.13/site-packages/sqlparse/__init__.py" in files
    assert "Build Host  : repack-debian-13-builder" in "\n".join(rpm_q(rpm, "--info"))


def stub_package(tmp: Path) -> Path:
    (tmp / "stub.spec").write_text(STUB_SPEC)
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {tmp / 'top'}",
                    tmp / "stub.spec"], check=True, capture_output=True)
    (rpm,) = (tmp / "top" / "RPMS" / "noarch").glob("*.rpm")
    return rpm


def test_django_installs_with_dnf_and_imports(el9: dict[str, Any], tmp_path: Path,
                                              container_engine: Engine) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    rpms = [Path(a["path"]) for a in el9["result"]["artifacts"] if a["format"] == "rpm"]
    for path in [stub_package(tmp_path), *rpms]:
        os.link(path, repo / path.name)
    subprocess.run(["createrepo_c", "--quiet", repo], check=True)
    (tmp_path / "dnf.conf").write_text("[main]\n")
    root = tmp_path / "root"
    dnf = subprocess.run(
        ["dnf", "-y", "-q", "-c", tmp_path / "dnf.conf", f"--installroot={root}",
         "--setopt=reposdir=/dev/null", f"--setopt=cachedir={tmp_path / 'cache'}",
         f"--repofrompath=local,{repo}", "--repo=local", "--nogpgcheck",  # signing: issue 5
         "--releasever=9", "--setopt=install_weak_deps=False", "install", "python3-django"],
        capture_output=True, text=True, check=False)
    assert dnf.returncode == 0, dnf.stdout + dnf.stderr
    site = root / "usr/lib/python3.9/site-packages"
    assert {"django", "asgiref", "sqlparse"} <= {p.name for p in site.iterdir()}
    # The target's Python version, from the el9 builder image (Debian 11's 3.9.2).
    image = images.image_for(targets.load("el9"), "builder", config.load().cache_dir)
    script = ("import django, asgiref, sqlparse; "
              "print(django.__version__, asgiref.__file__, sqlparse.__file__)")
    argv = container_engine.run_argv(
        image.tag, ["python3", "-c", script],
        mounts=[Mount(source=root, target="/installroot", readonly=True)],
        env={"PYTHONPATH": "/installroot/usr/lib/python3.9/site-packages"})
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    version, asgiref_file, sqlparse_file = proc.stdout.split()
    assert version == "4.2"
    assert asgiref_file.startswith("/installroot/") and sqlparse_file.startswith("/installroot/")
