"""A publish that runs out of disk: one `error:` line, exit 12, and the repository that was
live before stays live and verifiable.  The repository sits on a small tmpfs (mounting
one needs root, as CI has; elsewhere the test is skipped)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from repotools import make_deb  # type: ignore[import-not-found]

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_disk() -> Iterator[Path]:
    mount = Path(tempfile.mkdtemp(prefix="repack-tmpfs-"))
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        mount.rmdir()
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs in CI: {proc.stderr}")
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        mount.rmdir()


def repack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "repack", *args], capture_output=True,
                          text=True, cwd=ROOT, check=False, timeout=300)


def test_disk_full_during_publish(small_disk: Path, tmp_path: Path, home: Path) -> None:
    repo = small_disk / "repo"
    small = make_deb(tmp_path / "debian-12", "python3-small", "1.0-1")
    first = repack("publish", str(small), "--repo", str(repo), "--gnupghome", str(home))
    assert first.returncode == 0, first.stderr

    big = make_deb(tmp_path / "debian-12", "python3-big", "1.0-1", payload=os.urandom(3 << 20))
    proc = repack("publish", str(big), "--repo", str(repo), "--gnupghome", str(home))
    print(proc.stderr)
    assert proc.returncode == 12, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "No space left on device" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr

    check = repack("repo", "verify", str(repo))
    assert check.returncode == 0, check.stdout + check.stderr
    listed = (repo / "apt/dists/bookworm/main/binary-amd64/Packages").read_text()
    assert "Package: python3-small" in listed and "python3-big" not in listed
