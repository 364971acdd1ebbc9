"""A run refreshes a Debian target's apt lists once, in the background, while it resolves
and fetches (repack.deb.aptlists): every build after waits for that refresh and runs no
`apt-get update` of its own; a run that ends before any build waited stops the refresh it
started."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from sdists import make_sdist

pytestmark = pytest.mark.integration


def _left_behind(verbose_output: str) -> set[str]:
    """The containers a run started (its -v output names them) that still exist."""
    started = set(re.findall(r"--name (repack-[0-9a-f]+)", verbose_output))
    out = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True,
                         text=True, check=True).stdout
    return started & set(out.split())


def test_a_run_refreshes_the_lists_once_for_all_its_builds(tmp_path: Path) -> None:
    # hatchling projects: Debian 12's python3-hatchling is downloaded for each build.
    # A nonce in each, so that the build cache never answers instead of a build.
    nonce = str(time.time_ns()).encode()
    with LocalIndex() as index:
        for name in ("lists-one", "lists-two"):
            sdist = make_sdist(tmp_path / "sdists", name, "1.0", {"NONCE": nonce},
                               backend="hatchling")
            index.add(name, sdist.name, sdist.read_bytes())
        args = ["build", "--no-check", "lists-one==1.0", "lists-two==1.0", "-t", "debian-12",
                "-o", str(tmp_path / "out"), "-v"]
        proc = run_repack(args, env={"PIP_INDEX_URL": index.url})
        assert proc.returncode == 0, proc.stderr
        err = proc.stderr
        assert err.count("Downloading build dependencies (network on)") >= 2, err
        assert err.count("apt-get update -q") == 1, err     # the run's, not each build's
        assert sorted(p.name for p in (tmp_path / "out" / "debian-12").glob("*.deb")) == [
            "python3-lists-one_1.0-0repack1~deb12_all.deb",
            "python3-lists-two_1.0-0repack1~deb12_all.deb"]
        # a run that fails before any build waited: the refresh it started is stopped
        missing = run_repack(["build", "lists-one==2.0", "-t", "debian-12", "-o",
                              str(tmp_path / "out"), "-v"], env={"PIP_INDEX_URL": index.url})
    assert missing.returncode == 3, missing.stderr
    assert "Traceback" not in missing.stderr
    assert not _left_behind(missing.stderr)
    assert not _left_behind(err)
