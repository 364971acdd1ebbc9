"""The container engine: podman, else docker, found at run time.

Nothing here assumes a particular machine.  Resource limits are passed explicitly, at
most the host's hard limits and at most a modest cap: some hosts refuse the engine's
defaults (podman asks for nofile=1048576) and even the host's own nproc ("error setting
rlimits ... operation not permitted"), while nofile=20000 / nproc=8192 work everywhere we
have seen and are plenty for a package build.
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from repack import log
from repack.errors import BuildError, ToolMissing
from repack.run import run, tool_hint

ENGINES = ("podman", "docker")


@dataclass(frozen=True, slots=True, kw_only=True)
class Mount:
    source: Path
    target: str
    readonly: bool = False

    def arg(self) -> str:
        return f"{self.source}:{self.target}" + (":ro" if self.readonly else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Engine:
    name: str                     # "podman" | "docker"

    def _limits(self) -> list[str]:
        args: list[str] = []
        for flag, which, cap in (("nofile", resource.RLIMIT_NOFILE, 20000),
                                 ("nproc", resource.RLIMIT_NPROC, 8192)):
            _, hard = resource.getrlimit(which)
            value = cap if hard == resource.RLIM_INFINITY else min(hard, cap)
            args += ["--ulimit", f"{flag}={value}:{value}"]
        return args

    def image_exists(self, tag: str) -> bool:
        return run([self.name, "image", "inspect", tag], check=False).returncode == 0

    def import_tarball(self, tarball: Path, tag: str) -> None:
        run([self.name, "import", tarball, tag])

    def run_argv(
        self, image: str, argv: Sequence[str], *, mounts: Sequence[Mount] = (),
        network: bool | str = False, env: dict[str, str] | None = None,
        workdir: str | None = None,
        name: str | None = None, detach: bool = False,
    ) -> list[str]:
        args = [self.name, "run", "--rm", *self._limits()]
        if detach:
            args.append("--detach")
        if name:
            args += ["--name", name]
        if not network:
            args += ["--network", "none"]
        elif isinstance(network, str):     # e.g. "host": reach a server on the host's loopback
            args += ["--network", network]
        for m in mounts:
            args += ["--volume", m.arg()]
        for k, v in (env or {}).items():
            args += ["--env", f"{k}={v}"]
        if workdir:
            args += ["--workdir", workdir]
        return [*args, image, *argv]

    def run(self, image: str, argv: Sequence[str], *, project: str | None = None,
            **kwargs: object) -> str:
        """Run argv in a fresh container that is removed afterwards; return its output."""
        proc = run(self.run_argv(image, argv, **kwargs), project=project,  # type: ignore[arg-type]
                   merge_output=True)
        return proc.stdout.decode(errors="replace")

    @contextlib.contextmanager
    def container(self, image: str, *, mounts: Sequence[Mount] = (), network: bool = False,
                  env: dict[str, str] | None = None) -> Iterator[Container]:
        """A long-lived container for several exec steps; always removed, even on failure."""
        name = f"repack-{uuid.uuid4().hex[:12]}"
        try:
            run(self.run_argv(image, ["sleep", "infinity"], mounts=mounts, network=network,
                              env=env, name=name, detach=True))
            yield Container(engine=self, name=name)
        finally:
            run([self.name, "rm", "--force", "--time", "0", name], check=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Container:
    engine: Engine
    name: str

    def exec(self, argv: Sequence[str], *, workdir: str | None = None,
             env: dict[str, str] | None = None, project: str | None = None) -> str:
        args = [self.engine.name, "exec"]
        if workdir:
            args += ["--workdir", workdir]
        for k, v in (env or {}).items():
            args += ["--env", f"{k}={v}"]
        proc = run([*args, self.name, *argv], project=project, merge_output=True)
        return proc.stdout.decode(errors="replace")


def detect(preferred: str | None = None) -> Engine:
    """podman first (daemonless, works as root and rootless), then docker."""
    candidates = (preferred,) if preferred else ENGINES
    for name in candidates:
        if name and shutil.which(name):
            if name == "docker" and run(["docker", "info"], check=False).returncode != 0:
                log.debug("docker client found but no engine answers; skipping it")
                continue
            return Engine(name=name)
    if preferred and preferred not in ENGINES:
        raise BuildError(f"unknown container engine {preferred!r}; use podman or docker")
    raise ToolMissing("podman", hint=tool_hint("podman") + " (or a running docker engine)")


