"""The shipped systemd units (contrib/systemd/): they parse, systemd-analyze accepts them
where it is installed, and every command they run is one the CLI takes."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from repack.cli import cli

UNITS = Path(__file__).parents[2] / "contrib" / "systemd"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> values (a key may repeat: ExecStart= of a oneshot service)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep, f"not a unit file line: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_units_parse_and_the_timer_drives_the_service() -> None:
    service = parse_unit((UNITS / "repack-refresh@.service").read_text())
    timer = parse_unit((UNITS / "repack-refresh@.timer").read_text())
    assert service["Service"]["Type"] == ["oneshot"]
    assert timer["Timer"]["OnCalendar"] == ["daily"]
    assert timer["Timer"]["Persistent"] == ["true"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    runs = [shlex.split(c) for c in service["Service"]["ExecStart"]]
    assert [r[:3] for r in runs] == [["repack", "repo", "refresh"], ["repack", "repo", "verify"]]


def test_the_commands_are_ones_the_cli_takes(tmp_path: Path) -> None:
    service = parse_unit((UNITS / "repack-refresh@.service").read_text())
    for command in service["Service"]["ExecStart"]:
        args = shlex.split(command.replace("%f", str(tmp_path)))[1:]
        cmd: click.Command = cli
        while isinstance(cmd, click.Group):
            sub = cmd.get_command(click.Context(cmd), args[0])
            assert sub is not None, command
            cmd, args = sub, args[1:]
        cmd.make_context(cmd.name, list(args))        # raises on an unknown option


@pytest.mark.process
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    # systemd looks a bare ExecStart= name up in its own fixed PATH: point it at this
    # environment's repack so that verify checks the rest of the unit
    exe = Path(sys.executable).parent / "repack"
    for name in ("repack-refresh@.service", "repack-refresh@.timer"):
        text = (UNITS / name).read_text().replace("ExecStart=repack ", f"ExecStart={exe} ")
        (tmp_path / name).write_text(text)
        instance = tmp_path / name.replace("@.", "@srv-repo.")
        instance.symlink_to(name)
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no",
                           str(tmp_path / "repack-refresh@srv-repo.service"),
                           str(tmp_path / "repack-refresh@srv-repo.timer")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "unknown" not in proc.stderr.lower() and "ignoring" not in proc.stderr.lower(), \
        proc.stderr                                   # what systemd merely warns about
