"""Issue 4, item 9: one command builds django==4.2 with its dependencies for debian-12 and
el9; every artifact is linted and installed with its distribution's package manager, and
`import django` works with the installed asgiref and sqlparse.

    repack build django==4.2 --with-deps -t debian-12 -t el9 --json -o OUT

(the session fixture `django_closure` in conftest.py, shared with test_rpm/test_debian).
debian-12: Debian 12 provides asgiref and sqlparse, so only django is built and apt takes
the other two from Debian's archive.  el9: nothing is assumed present, so django, asgiref,
sqlparse and typing-extensions (asgiref's on Python 3.9) are built and dnf installs them
into an empty installroot with only the interpreter stub (tests/rpmcheck.py) beside them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import in_container, local_repo  # type: ignore[import-not-found]
from rpmcheck import dnf_install, rpmlint

from repack import config, targets
from repack.container import images
from repack.container.engine import Engine, Mount

pytestmark = pytest.mark.integration

PROBE = ("import django, asgiref, sqlparse; "
         "print(django.__version__); print(asgiref.__file__); print(sqlparse.__file__)")


def paths(result: dict[str, Any], target: str, *formats: str) -> list[Path]:
    return [Path(a["path"]) for a in result["artifacts"]
            if a["target"] == target and a["format"] in formats]


def test_one_command_builds_both_closures(django_closure: dict[str, Any]) -> None:
    result = django_closure["result"]
    debs = {p.name for p in paths(result, "debian-12", "deb")}
    assert debs == {"python3-django_4.2-0repack1~deb12_all.deb"}
    rpms = {a["package"] for a in result["artifacts"] if a["target"] == "el9"}
    assert rpms == {"python3-django", "python3-asgiref", "python3-sqlparse",
                    "python3-typing-extensions"}
    assert len(paths(result, "el9", "rpm")) == len(paths(result, "el9", "srpm")) == 4
    # one download per sdist, shared by both targets
    projects = sorted(s["project"] for s in result["sources"])
    assert projects == ["asgiref", "django", "sqlparse", "typing-extensions"]


def test_deb_lintian_clean(django_closure: dict[str, Any]) -> None:
    """lintian on the debian-12 .changes, run by the session fixture beside other tests."""
    proc = django_closure["lintian"]()
    (changes,) = paths(django_closure["result"], "debian-12", "changes")
    assert proc.args[-1] == str(changes)
    errors = [line for line in proc.stdout.splitlines() if line.startswith("E:")]
    assert proc.returncode == 0 and not errors, proc.stdout + proc.stderr


def test_every_rpm_and_srpm_rpmlint_clean(django_closure: dict[str, Any]) -> None:
    for path in paths(django_closure["result"], "el9", "rpm", "srpm"):
        proc = rpmlint(path)
        assert " 0 errors" in proc.stdout, f"{path.name}:\n{proc.stdout}\n{proc.stderr}"


def test_deb_installs_with_apt_and_imports(django_closure: dict[str, Any],
                                           container_engine: Engine, base_image: Any,
                                           tmp_path: Path) -> None:
    """A fresh install takes repack's django and Debian's asgiref and sqlparse, and imports;
    then, on the same machine with Debian's own 3:3.2.25 installed instead (as a machine
    that had it), a plain install upgrades it to repack's 4.2 (one container for both: the
    suite's time budget; test_debian.py's upgrade test was merged here)."""
    repo = local_repo(paths(django_closure["result"], "debian-12", "deb"), tmp_path / "repo")
    script = f"""
echo 'deb [trusted=yes] file:/repo ./' > /etc/apt/sources.list.d/repack.list
apt-get update -q
apt-cache policy python3-django
apt-get install -y -q --no-install-recommends python3-django
dpkg-query -W -f='installed ${{Package}} ${{Version}}\\n' \\
    python3-django python3-asgiref python3-sqlparse
python3 -c '{PROBE}'
# Debian's own 3.2, as on a machine that already had it ...
debian=$(apt-cache madison python3-django | awk '/deb.debian.org/ {{print $3; exit}}')
apt-get install -y -q --no-install-recommends --allow-downgrades "python3-django=$debian"
python3 -c 'import django; print("before", django.get_version())'
# ... then a plain install/upgrade moves to repack's build
apt-get install -y -q --no-install-recommends python3-django
dpkg-query -W -f='upgraded ${{Version}}\\n' python3-django
python3 -c 'import django; print("after", django.get_version())'
"""
    out = in_container(container_engine, base_image("debian-12"), script,
                       mounts=[Mount(source=repo, target="/repo", readonly=True)])
    print(out)
    assert "installed python3-django 3:4.2-0repack1~deb12" in out
    # Debian's own builds of the dependencies, not repack's
    assert "installed python3-asgiref 3.6.0-" in out
    assert "installed python3-sqlparse 0.4.2-" in out
    lines = out.splitlines()
    assert "4.2" in lines
    assert "/usr/lib/python3/dist-packages/asgiref/__init__.py" in lines
    assert "/usr/lib/python3/dist-packages/sqlparse/__init__.py" in lines
    # apt prefers repack's 4.2 over Debian's 3:3.2.25 and upgrades an installed 3.2 to it
    assert "before 3.2" in out
    assert "upgraded 3:4.2-0repack1~deb12" in out
    assert "after 4.2" in out


def test_rpms_install_with_dnf_and_import(django_closure: dict[str, Any],
                                          container_engine: Engine, tmp_path: Path) -> None:
    rpms = paths(django_closure["result"], "el9", "rpm")
    root = dnf_install(rpms, ["python3-django"], tmp_path)
    installed = subprocess.run(["rpm", f"--root={root}", "-qa", "--qf", "%{NAME}\n"],
                               capture_output=True, text=True, check=True).stdout.split()
    assert sorted(installed) == ["python3-asgiref", "python3-django", "python3-sqlparse",
                                 "python3-typing-extensions", "repack-test-python-stub"]
    # The target's Python version, from the el9 builder image (Debian 11's 3.9.2), with
    # the installroot's site-packages as its only source of django and its dependencies.
    image = images.image_for(targets.load("el9"), "builder", config.load().cache_dir)
    argv = container_engine.run_argv(
        image.tag, ["python3", "-c", f"import sys; print(sys.version.split()[0]); {PROBE}"],
        mounts=[Mount(source=root, target="/installroot", readonly=True)],
        env={"PYTHONPATH": "/installroot/usr/lib/python3.9/site-packages"})
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    print(proc.stdout)
    python, version, asgiref_file, sqlparse_file = proc.stdout.split()
    assert python.startswith("3.9.")
    assert version == "4.2"
    site = "/installroot/usr/lib/python3.9/site-packages"
    assert asgiref_file == f"{site}/asgiref/__init__.py"
    assert sqlparse_file == f"{site}/sqlparse/__init__.py"
