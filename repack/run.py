"""The one door to external commands.

Every tool repack drives goes through `run()`: argv only (never a shell string), a clean
environment, stdin closed, output captured and shown only when the tool fails or with -v.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
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


def run(  # noqa: PLR0913 -- keyword-only options of one subprocess call
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
) -> subprocess.CompletedProcess[bytes]:
    """Run argv; raise CommandFailed (with the output's tail) if it exits non-zero.

    stdout and stderr are captured apart (callers parse stdout) unless merge_output,
    which keeps a build log in order.  pass_fds hands the child inherited descriptors
    (a passphrase pipe for --passphrase-fd), so secrets never reach argv.
    """
    args = [os.fspath(a) for a in argv]
    args[0] = find_tool(args[0])
    log.debug(f"+ {shlex.join(args)}")
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
