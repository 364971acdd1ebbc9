#!/usr/bin/env python3
"""Bootstrapping launcher for repack (in the manner of rustc's x.py): standard library only.

    ./x.py setup              install the host tools (apt, as root) and repack into .venv
    ./x.py repack ARGS...     set up if needed, then run repack ARGS
    ./x.py test [PYTEST ARGS] set up if needed (with test extras), then run the whole suite
                              (the unit tests in parallel, then the integration tests), or
                              pytest with the ARGS given

Host tools come from the distribution (podman, runc, mmdebstrap, gnupg, dpkg-dev, lintian);
repack itself and its Python dependencies go into ./.venv, never into the system Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
APT_PACKAGES = ["podman", "runc", "uidmap", "mmdebstrap", "gnupg", "dpkg-dev", "lintian",
                "python3-venv", "ca-certificates", "rpm", "createrepo-c", "dnf", "gpgv", "rpmlint",
                "ruby"]
STAMP = VENV / ".repack-setup"


def say(msg: str) -> None:
    print(f"x.py: {msg}", file=sys.stderr, flush=True)


def run(argv: list[str], **kw: object) -> None:
    say("+ " + " ".join(argv))
    subprocess.run(argv, check=True, **kw)  # type: ignore[call-overload]


def missing_apt_packages() -> list[str]:
    if not shutil.which("dpkg-query"):
        return []
    missing = []
    for pkg in APT_PACKAGES:
        out = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", pkg],
                             capture_output=True, text=True, check=False)
        if out.stdout.strip() != "installed":
            missing.append(pkg)
    return missing


def setup_host() -> None:
    missing = missing_apt_packages()
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"x.py: missing host packages: {' '.join(missing)}; run as root or: "
                 f"sudo apt-get install {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=env)


def forget_old_name(python: Path) -> None:
    """The distribution was once named "repack", a PyPI name that belongs to an unrelated
    project (it is "repack-native" now; the command is still `repack`): an install of the
    old name in .venv, or its egg-info beside the sources, would be a second `repack`."""
    subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "repack"],
                   capture_output=True, check=False)
    shutil.rmtree(ROOT / "repack.egg-info", ignore_errors=True)


def setup_venv(extras: str) -> Path:
    python = VENV / "bin" / "python"
    sources = [ROOT / "pyproject.toml"]
    wanted = f"{extras}:{max(p.stat().st_mtime for p in sources)}"
    if STAMP.is_file() and STAMP.read_text() == wanted and python.exists():
        return python
    if not python.exists():
        say(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    forget_old_name(python)
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", target])
    STAMP.write_text(wanted)
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    verb, rest = argv[0], argv[1:]
    if verb == "setup":
        setup_host()
        setup_venv("test")
        return 0
    if verb == "repack":
        setup_host()
        setup_venv("test")
        return subprocess.call([str(VENV / "bin" / "repack"), *rest])
    if verb == "test":
        setup_host()
        pytest = [str(setup_venv("test")), "-m", "pytest"]
        if rest:
            return subprocess.call([*pytest, *rest], cwd=ROOT)
        # The whole suite: the unit tests spread over the CPUs (pytest-xdist), then the
        # integration tests on two workers, a module (or the modules sharing the django
        # closure) on one worker (tests/conftest.py): their builds wait on
        # containers and the network as much as on the CPU.  They share the builder images
        # and the cache, as two repack runs of one user may.
        unit = subprocess.call([*pytest, "-m", "not integration", "-n", "auto"], cwd=ROOT)
        integration = subprocess.call([*pytest, "-m", "integration", "-n", "2",
                                       "--dist", "loadgroup", "--durations=30"], cwd=ROOT)
        return unit or integration
    print(f"x.py: unknown verb {verb!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
