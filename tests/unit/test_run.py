"""repack.run: the heartbeat of a long command, which says how long and how much, never what."""

from __future__ import annotations

import subprocess
import time

import pytest

from repack import log, run
from repack.errors import CommandFailed


def test_still_running_counts_the_output_never_shows_it() -> None:
    assert run.still_running("dpkg-buildpackage", 59.9, 0) == (
        "dpkg-buildpackage: still running after 59 s (0 lines of output)")
    assert run.still_running("rpmbuild", 3725, 12345) == (
        "rpmbuild: still running after 62 min 05 s (12,345 lines of output)")


@pytest.mark.process
def test_a_long_command_says_it_is_still_running(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Merged output comes back whole and in order, as subprocess.run's would; the lines
    between say only the name, the time and the count."""
    monkeypatch.setattr(run, "HEARTBEAT", 0.2)
    log.configure()
    proc = run.run(["sh", "-c", "echo one; echo two >&2; sleep 0.9; echo three; exit 3"],
                   merge_output=True, check=False, heartbeat="sh")
    assert proc.returncode == 3
    assert proc.stdout == b"one\ntwo\nthree\n"
    beats = [ln for ln in capsys.readouterr().err.splitlines() if "still running" in ln]
    assert 2 <= len(beats) <= 5
    assert all(ln.strip().startswith("sh: still running after ") and
               ln.endswith("(2 lines of output)") for ln in beats)


@pytest.mark.process
def test_a_timeout_kills_the_command_with_its_output_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "HEARTBEAT", 0.1)
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as info:
        run.run(["sh", "-c", "echo started; exec sleep 30"], merge_output=True,
                timeout=0.5, heartbeat="sh")
    assert time.monotonic() - start < 10          # killed, not waited for
    assert info.value.output == b"started\n"


@pytest.mark.process
def test_without_a_heartbeat_nothing_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    log.configure()
    proc = run.run(["sh", "-c", "echo out; echo err >&2"], check=False)
    assert (proc.stdout, proc.stderr) == (b"out\n", b"err\n")
    assert "still running" not in capsys.readouterr().err


@pytest.mark.process
def test_a_failed_command_is_one_line_without_repacks_own_script() -> None:
    """A failed `python3 -c SCRIPT` (the PEP 517 hooks repack runs in a container) was
    reported with its whole script: many lines, none of them the reason."""
    script = "import sys\nsys.exit(3)\n"
    with pytest.raises(CommandFailed) as info:
        run.run(["python3", "-c", script, "/build/src", "a\nb"], project="scipy")
    assert info.value.returncode == 3
    assert info.value.argv[2] == script                      # kept whole for the caller
    shown = str(info.value)
    assert shown.startswith("scipy: command failed with exit code 3: ")
    assert shown.endswith("python3 -c '<script>' /build/src 'a\\nb'")       # argv[0]: its path
    assert "\n" not in shown
