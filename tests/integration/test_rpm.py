"""Real RPM builds of real PyPI sdists for el9 and fedora-42: rpm -qp, Source0, rpmlint.

el9: django==4.2 from the session's one-command closure build (`django_closure` in
conftest.py: django, asgiref, sqlparse and typing-extensions for Python 3.9, sqlparse with
a build backend that bullseye lacks, from the index as a verified wheel).  Linting every
el9 rpm and installing them with dnf is test_django_closure.py's job.  fedora-42: sqlparse
0.6.1 alone (hatchling from verified wheels in the trixie-based builder), linted, installed
with dnf and imported with Python 3.13.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import build_json  # type: ignore[import-not-found]
from rpmcheck import dnf_install, rpm_q, rpmlint

from repack import config, targets
from repack.container import images
from repack.container.engine import Engine, Mount

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def el9(django_closure: dict[str, Any]) -> dict[str, Any]:
    result = django_closure["result"]
    artifacts = [a for a in result["artifacts"] if a["target"] == "el9"]
    return {"out": django_closure["out"], "result": {**result, "artifacts": artifacts}}


@pytest.fixture(scope="module")
def fedora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("out")
    return {"out": out,
            "result": build_json(["sqlparse==0.6.1", "-t", "fedora-42", "-o", str(out)])}


def artifact(result: dict[str, Any], package: str, fmt: str) -> Path:
    (path,) = [Path(a["path"]) for a in result["artifacts"]
               if a["package"] == package and a["format"] == fmt]
    return path


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
                                                          "python3-django.spec",
                                                          "repack-provenance.json"]
    digest = hashlib.sha256((tmp_path / "Django-4.2.tar.gz").read_bytes()).hexdigest()
    assert digest == source["sha256"]


def test_fedora_rpmlint_no_errors(fedora: dict[str, Any]) -> None:
    paths = [Path(a["path"]) for a in fedora["result"]["artifacts"]]
    assert len(paths) == 2
    for path in paths:
        proc = rpmlint(path)
        assert " 0 errors" in proc.stdout, f"{path.name}:\n{proc.stdout}\n{proc.stderr}"


def test_fedora_uses_its_own_paths(fedora: dict[str, Any]) -> None:
    rpm = artifact(fedora["result"], "python3-sqlparse", "rpm")
    assert rpm.name == "python3-sqlparse-0.6.1-0.repack1.fc42.noarch.rpm"
    assert "python(abi) = 3.13" in rpm_q(rpm, "--requires")
    assert "python3.13dist(sqlparse) = 0.6.1" in rpm_q(rpm, "--provides")
    files = rpm_q(rpm, "--list")
    assert "/usr/lib/python3.13/site-packages/sqlparse/__init__.py" in files
    assert "Build Host  : repack-debian-13-builder" in "\n".join(rpm_q(rpm, "--info"))


PROBE_313 = ("import sys, sqlparse; "
             "print(sys.version.split()[0], sqlparse.__version__, sqlparse.__file__)")


def test_fedora_installs_with_dnf_and_imports(fedora: dict[str, Any], container_engine: Engine,
                                              tmp_path: Path) -> None:
    """sqlparse 0.6.1 builds with hatchling, newer than trixie's: the wheels (and a newer
    packaging than the one apt installed) come verified from the index into the offline
    builder.  The rpm installs with dnf and Python 3.13 of the fedora-42 builder imports it."""
    rpm = artifact(fedora["result"], "python3-sqlparse", "rpm")
    root = dnf_install([rpm], ["python3-sqlparse"], tmp_path, python="3.13", releasever="42")
    image = images.image_for(targets.load("fedora-42"), "builder", config.load().cache_dir)
    site = "/installroot/usr/lib/python3.13/site-packages"
    argv = container_engine.run_argv(
        image.tag, ["python3", "-c", PROBE_313],
        mounts=[Mount(source=root, target="/installroot", readonly=True)],
        env={"PYTHONPATH": site})
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    python, version, path = proc.stdout.split()
    assert python.startswith("3.13.") and version == "0.6.1"
    assert path == f"{site}/sqlparse/__init__.py"
