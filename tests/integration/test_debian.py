"""Real builds of real PyPI sdists, linted with lintian and installed with apt.

django==4.2 for debian-12 (setuptools, PKG-INFO 2.1 so metadata comes from the PEP 517
hook in the container) and tomli==2.3.0 for debian-13 (flit_core, pyproject only).
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import build_json, in_container, local_repo  # type: ignore[import-not-found]
from debian.deb822 import Deb822

from repack.container.engine import Engine, Mount

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def django(django_closure: dict[str, Any]) -> dict[str, Any]:
    """django's debian-12 part of the session's closure build (conftest.py): asgiref and
    sqlparse come from Debian 12, so django is its only build for this target."""
    result = django_closure["result"]
    return {"out": django_closure["out"], "result": {
        "artifacts": [a for a in result["artifacts"] if a["target"] == "debian-12"],
        "sources": [s for s in result["sources"] if s["project"] == "django"]}}


@pytest.fixture(scope="module")
def tomli(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("out")
    return {"out": out, "result": build_json(["tomli==2.3.0", "-t", "debian-13", "-o", str(out)])}


def artifact(result: dict[str, Any], fmt: str) -> Path:
    (path,) = [Path(a["path"]) for a in result["artifacts"] if a["format"] == fmt]
    return path


def test_django_artifacts(django: dict[str, Any]) -> None:
    result = django["result"]
    formats = sorted(a["format"] for a in result["artifacts"])
    assert formats == ["buildinfo", "changes", "deb", "debian-tar", "dsc", "orig-tar"]
    deb = artifact(result, "deb")
    assert deb.parent == django["out"] / "debian-12"
    assert deb.name == "python3-django_4.2-0repack1~deb12_all.deb"
    for a in result["artifacts"]:
        assert hashlib.sha256(Path(a["path"]).read_bytes()).hexdigest() == a["sha256"]
    (source,) = result["sources"]
    assert source["project"] == "django" and source["version"] == "4.2"
    assert source["url"].endswith("/Django-4.2.tar.gz")
    assert "sha256:index" in source["verified"] and "tls" in source["verified"]
    # the orig tarball is the verified sdist, byte for byte
    assert hashlib.sha256(artifact(result, "orig-tar").read_bytes()).hexdigest() == source["sha256"]


def test_django_control_fields(django: dict[str, Any]) -> None:
    deb = artifact(django["result"], "deb")
    control = Deb822(subprocess.run(["dpkg-deb", "-f", deb], capture_output=True,
                                    check=True).stdout)
    assert control["Package"] == "python3-django"
    # Debian 12's own python3-django is 3:3.2.25: repack carries the same epoch so 4.2 wins.
    assert control["Version"] == "3:4.2-0repack1~deb12"
    assert control["Architecture"] == "all"
    depends = control["Depends"]
    assert "python3-asgiref (>= 3.6)" in depends and "python3-asgiref (<< 4~~)" in depends
    assert "python3-sqlparse (>= 0.3.1)" in depends
    assert "python3:any" in depends
    assert "backports" not in depends and "tzdata" not in depends
    suggests = control.get("Suggests", "")
    assert "python3-argon2" in suggests or "argon2" in suggests
    assert "bcrypt" not in depends


def lintian(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["lintian", "--fail-on", "error", "--no-tag-display-limit", path],
                          capture_output=True, text=True, check=False)


# django's lintian run is in test_django_closure.py, with the rest of the closure's artifacts.


# That apt prefers repack's 4.2 over Debian's 3:3.2.25 and upgrades an installed 3.2 to it is
# checked in test_django_closure.py, in the container that installs the closure's debs.


def test_tomli_debian_13(tomli: dict[str, Any], container_engine: Engine, base_image: Any,
                         tmp_path: Path) -> None:
    result = tomli["result"]
    deb = artifact(result, "deb")
    assert deb.name == "python3-tomli_2.3.0-0repack1~deb13_all.deb"
    proc = lintian(artifact(result, "changes"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    repo = local_repo([deb], tmp_path / "repo")
    script = """
echo 'deb [trusted=yes] file:/repo ./' > /etc/apt/sources.list.d/repack.list
apt-get update -q
apt-get install -y -q --no-install-recommends python3-tomli
dpkg-query -W -f='installed ${Version}\\n' python3-tomli
python3 -c 'import tomli; print("tomli", tomli.loads("a = 1"))'
"""
    out = in_container(container_engine, base_image("debian-13"), script,
                       mounts=[Mount(source=repo, target="/repo", readonly=True)])
    assert "installed 2.3.0-0repack1~deb13" in out
    assert "tomli {'a': 1}" in out


def test_render_writes_packaging_for_review(tmp_path: Path) -> None:
    from conftest import run_repack  # type: ignore[import-not-found]

    proc = run_repack(["render", "tomli==2.3.0", "-t", "debian-13", "-o", str(tmp_path)])
    assert proc.returncode == 0, proc.stderr
    debian = tmp_path / "python-tomli-2.3.0" / "debian"
    control = list(Deb822.iter_paragraphs((debian / "control").read_text()))
    assert [p.get("Source") or p.get("Package") for p in control] == ["python-tomli",
                                                                       "python3-tomli"]
    assert "flit" in control[0]["Build-Depends"]
    changelog = (debian / "changelog").read_text()
    assert changelog.startswith("python-tomli (2.3.0-0repack1~deb13) trixie;")
    assert not list(tmp_path.glob("*.deb"))  # nothing built
    again = run_repack(["render", "tomli==2.3.0", "-t", "debian-13", "-o", str(tmp_path)])
    assert again.returncode != 0 and "already exists" in again.stderr


def test_targets_lists_ready_images(django: dict[str, Any]) -> None:
    from conftest import run_repack  # type: ignore[import-not-found]

    proc = run_repack(["targets"])
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("debian-12"))
    assert "ready" in line and "3.11" in line
