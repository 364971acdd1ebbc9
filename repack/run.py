"""The one door to external commands.

Every tool repack drives goes through `run()`: argv only (never a shell string), a clean
environment, stdin closed, output captured and shown only when the tool fails or with -v.
A long command (a build in its container) says every HEARTBEAT seconds that it is still
running and how much it has written, never what: its output may be upstream's.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence

from repack import log
from repack.errors import CommandFailed, ToolMissing

PathLike = str | os.PathLike[str]

# How to get each host tool on Debian/Ubuntu; used in ToolMissing hints and by `repack doctor`.
TOOL_PACKAGES: dict[str, str] = {
    "podman": "podman runc",
    "docker": "docker.io",
    "mmdebstrap": "mmdebstrap",
    "gpg": "gnupg",
    "dpkg-deb": "dpkg",
    "dpkg-scanpackages": "dpkg-dev",
    "dpkg-source": "dpkg-dev",
    "dpkg-buildpackage": "dpkg-dev",
    "lintian": "lintian",
    "rpm": "rpm",
    "rpmsign": "rpm",
    "rpm2archive": "rpm2cpio",
    "createrepo_c": "createrepo-c",
    "gpgv": "gpgv",
}

HEARTBEAT = 60.0     # seconds between a long command's "still running" lines

_ENV_PASSTHROUGH = ("PATH", "HOME", "TMPDIR", "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF",
                    "XDG_RUNTIME_DIR", "DOCKER_HOST", "http_proxy", "https_proxy", "no_proxy")


def tool_hint(tool: str) -> str:
    package = TOOL_PACKAGES.get(tool)
    return f"apt-get install {package}" if package else f"install {tool} and put it on PATH"


def find_tool(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(tool, hint=tool_hint(tool))
    return path


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_PASSTHROUGH if k in os.environ}
    env.setdefault("PATH", os.defpath)
    env["LANG"] = "C.UTF-8"
    env["LC_ALL"] = "C.UTF-8"
    if extra:
        env.update(extra)
    return env


def run(
    argv: Sequence[PathLike],
    *,
    env: Mapping[str, str] | None = None,
    cwd: PathLike | None = None,
    input: bytes | None = None,
    check: bool = True,
    project: str | None = None,
    timeout: float | None = None,
    merge_output: bool = False,
    pass_fds: Sequence[int] = (),
    heartbeat: str | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run argv; raise CommandFailed (with the output's tail) if it exits non-zero.

    stdout and stderr are captured apart (callers parse stdout) unless merge_output,
    which keeps a build log in order.  pass_fds hands the child inherited descriptors
    (a passphrase pipe for --passphrase-fd), so secrets never reach argv.  With
    merge_output and no input, `heartbeat` names the command in a "still running" line
    every HEARTBEAT seconds it runs.
    """
    args = [os.fspath(a) for a in argv]
    args[0] = find_tool(args[0])
    log.debug(f"+ {shlex.join(args)}")
    if heartbeat is not None and merge_output and input is None:
        proc = _run_merged(args, env=clean_env(env), cwd=cwd, timeout=timeout,
                           pass_fds=tuple(pass_fds), label=heartbeat, every=HEARTBEAT)
    else:
        proc = subprocess.run(
            args,
            env=clean_env(env),
            cwd=cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
            timeout=timeout,
            check=False,
            pass_fds=tuple(pass_fds),
        )
    if log.verbose():
        for stream in (proc.stdout, proc.stderr):
            if stream:
                log.console.print(stream.decode(errors="replace"), markup=False, end="")
    if check and proc.returncode != 0:
        output = (proc.stdout or b"") + (proc.stderr or b"")
        tail = "\n".join(output.decode(errors="replace").splitlines()[-40:])
        raise CommandFailed(args, proc.returncode, tail, project=project)
    return proc


def still_running(label: str, seconds: float, lines: int) -> str:
    """The heartbeat line: how long, and how much output (a count, never the text)."""
    minutes, secs = divmod(int(seconds), 60)
    took = f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
    return f"{label}: still running after {took} ({lines:,} lines of output)"


def _run_merged(args: list[str], *, env: dict[str, str], cwd: PathLike | None,
                timeout: float | None, pass_fds: tuple[int, ...], label: str,
                every: float) -> subprocess.CompletedProcess[bytes]:
    """subprocess.run(stdout=PIPE, stderr=STDOUT, timeout=...) that logs still_running
    every `every` seconds from the caller's thread (so a parallel build's line carries its
    prefix); on the timeout the command is killed and TimeoutExpired raised, as run's."""
    chunks: list[bytes] = []
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            pass_fds=pass_fds)
    assert proc.stdout is not None
    stdout = proc.stdout
    fd = stdout.fileno()

    def drain() -> None:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        while True:
            wait = every if deadline is None else min(every, deadline - time.monotonic())
            try:
                proc.wait(timeout=max(0.0, wait))
                break
            except subprocess.TimeoutExpired:
                if deadline is not None and time.monotonic() >= deadline:
                    raise subprocess.TimeoutExpired(args, timeout or 0.0) from None
                log.info(still_running(label, time.monotonic() - start,
                                       sum(c.count(b"\n") for c in chunks)))
    except BaseException as e:
        proc.kill()
        proc.wait()
        reader.join()
        stdout.close()
        if isinstance(e, subprocess.TimeoutExpired):
            e.output = b"".join(chunks)
        raise
    reader.join()
    stdout.close()
    return subprocess.CompletedProcess(args, proc.returncode, b"".join(chunks), None)
