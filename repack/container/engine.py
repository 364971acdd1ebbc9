"""The container engine: podman, else docker, found at run time.

Nothing here assumes a particular machine.  Resource limits are passed explicitly, at
most the host's hard limits and at most a modest cap: some hosts refuse the engine's
defaults (podman asks for nofile=1048576) and even the host's own nproc ("error setting
rlimits ... operation not permitted"), while nofile=20000 / nproc=8192 work everywhere we
have seen and are plenty for a package build.

Every container also gets the run's `Limits` (wall-clock seconds, memory, processes), so a
hostile or runaway build cannot hold the machine: the container's first process is
`sleep <timeout>`, and when it ends the engine stops every process the build started.
Containers are tracked while they live, so an interrupted run (Ctrl-C, SIGTERM) removes
them all at once, and no new one starts afterwards (`stop_all`).
"""

from __future__ import annotations

import contextlib
import re
import resource
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from repack import log
from repack.errors import (
    BuildError,
    CommandFailed,
    ConfigError,
    MissingToolchain,
    OfflineDownload,
    ToolMissing,
)
from repack.run import run, tool_hint

ENGINES = ("podman", "docker")
MEMORY_RE = re.compile(r"[1-9][0-9]*[kmg]?", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What one build container may use (`[build]` timeout, memory, pids in the config)."""

    timeout: int = 3600        # seconds from the container's start
    memory: str = "8g"         # the engine's --memory syntax: 512m, 8g
    pids: int = 4096           # processes and threads at once

    def __post_init__(self) -> None:
        if not MEMORY_RE.fullmatch(self.memory):
            raise ConfigError(f"[build] memory {self.memory!r} is not a size like 512m or 8g")
        if self.timeout < 1 or self.pids < 1:
            raise ConfigError("[build] timeout and pids must be positive whole numbers")


class LiveContainers:
    """The containers this process started and has not removed yet."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.names: dict[str, str] = {}          # container name -> engine
        self.stopping = False

    def add(self, engine: str, name: str) -> None:
        with self.lock:
            if self.stopping:
                raise BuildError("interrupted: no new build container is started")
            self.names[name] = engine

    def discard(self, name: str) -> None:
        with self.lock:
            self.names.pop(name, None)

    def take_all(self) -> dict[str, str]:
        with self.lock:
            self.stopping = True
            names, self.names = self.names, {}
        return names


_LIVE = LiveContainers()


def stop_all() -> None:
    """Remove every container this process still runs and start no new one: the
    interrupt path (repack.cli.main), so no build outlives repack."""
    for name, engine in _LIVE.take_all().items():
        run([engine, "rm", "--force", "--time", "0", name], check=False)


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
    limits: Limits = Limits()

    def _limits(self) -> list[str]:
        args: list[str] = []
        for flag, which, cap in (("nofile", resource.RLIMIT_NOFILE, 20000),
                                 ("nproc", resource.RLIMIT_NPROC, 8192)):
            _, hard = resource.getrlimit(which)
            value = cap if hard == resource.RLIM_INFINITY else min(hard, cap)
            args += ["--ulimit", f"{flag}={value}:{value}"]
        memory = self.limits.memory
        # swap equal to memory: the cap is real, not memory plus as much swap again
        args += ["--memory", memory, "--memory-swap", memory,
                 "--pids-limit", str(self.limits.pids)]
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
        with self.container(image, **kwargs) as c:  # type: ignore[arg-type]
            return c.exec(argv, project=project)

    @contextlib.contextmanager
    def container(self, image: str, *, mounts: Sequence[Mount] = (), network: bool = False,
                  env: dict[str, str] | None = None,
                  trusted: bool = False) -> Iterator[Container]:
        """A long-lived container for several exec steps, stopped by the engine once the
        wall-clock limit has passed; always removed, even on failure or interrupt.

        Removed before the block's caller goes on, so that nothing upstream code left
        running in it can act on its mounts afterwards; a *trusted* container (apt alone,
        never upstream code) is removed in the background instead (a quarter of a second),
        which the process waits for before it exits."""
        name = f"repack-{uuid.uuid4().hex[:12]}"
        _LIVE.add(self.name, name)
        removed = False
        try:
            deadline = time.monotonic() + self.limits.timeout
            run(self.run_argv(image, ["sleep", str(self.limits.timeout)], mounts=mounts,
                              network=network, env=env, name=name, detach=True))
            yield Container(engine=self, name=name, deadline=deadline, offline=not network)
            if trusted:     # not a daemon, even when started by one: the exit waits for it
                threading.Thread(target=self.remove, args=(name,), name=f"rm-{name}",
                                 daemon=False).start()
                removed = True
        finally:
            if not removed:
                self.remove(name)

    def remove(self, name: str) -> None:
        """Remove a container of this process now, whatever it runs (`container`'s end, or a
        background refresh stopped at a run's end)."""
        run([self.name, "rm", "--force", "--time", "0", name], check=False)
        _LIVE.discard(name)


# What a build says when it tried to reach the network from the offline container: a
# resolver failure (glibc, curl), meson's "is the internet available?" for a subproject, pip's
# and urllib3's connection errors.
_OFFLINE = re.compile(r"Temporary failure in name resolution|Could not resolve host|"
                      r"is the internet available\?|Network is unreachable|NewConnectionError")
_URL = re.compile(r"https?://[A-Za-z0-9._~:/?#@!$&*+,;=%-]{1,300}")
# What a build says when it needs a compiler the builder lacks: setuptools-rust's "can't find
# Rust compiler", a missing cargo or rustc run by a setup.py, a missing nvcc or CUDA toolkit.
_TOOLCHAINS = (
    (re.compile(r"can't find Rust compiler|No module named '?setuptools_rust|"
                r"No such file or directory: '(?:cargo|rustc)'|"
                r"\b(?:cargo|rustc): (?:command )?not found"), "a Rust toolchain and crates"),
    (re.compile(r"No such file or directory: '[^'\n]{0,200}nvcc'|\bnvcc: (?:command )?not found|"
                r"No CUDA toolset found|CUDA_HOME environment variable is not set|"
                r"No CMAKE_CUDA_COMPILER could be found|"
                r"Failed to find nvcc"), "the CUDA SDK"),
)


def missing_toolchain(output: str) -> str | None:
    """The toolchain a failed offline build's output says it lacked (Rust, CUDA), or None."""
    return next((what for pattern, what in _TOOLCHAINS if pattern.search(output)), None)


def download_hint(output: str, project: str | None = None) -> str | None:
    """The hint for a command that failed in an offline build after trying to download (a
    meson subproject, a setup.py fetching a library): which URL, if the output names one,
    and what to do instead.  None when the output shows no such attempt.  The URL is the
    build's text: only its safe characters are kept, bounded."""
    if not _OFFLINE.search(output):
        return None
    url = download_url(output)
    what = f" ({url})" if url else ""
    table = f"[packages.{project}]" if project else "[packages.<name>]"
    return (f"the build tried to download{what}, and builds run offline: a {table} override "
            "can make it use the target's libraries instead (config-settings such as meson's "
            "setup-args, env, patches)")


def download_url(output: str) -> str | None:
    """The last URL the output names (its safe characters, bounded), or None."""
    urls = _URL.findall(output)
    return urls[-1].rstrip(".,;") if urls else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Container:
    engine: Engine
    name: str
    deadline: float               # time.monotonic() when the engine stops the container
    offline: bool = False         # started with --network none

    def exec(self, argv: Sequence[str], *, workdir: str | None = None,
             env: dict[str, str] | None = None, project: str | None = None) -> str:
        args = [self.engine.name, "exec"]
        if workdir:
            args += ["--workdir", workdir]
        for k, v in (env or {}).items():
            args += ["--env", f"{k}={v}"]
        timeout = self.engine.limits.timeout
        try:
            proc = run([*args, self.name, *argv], project=project, merge_output=True,
                       timeout=max(1.0, self.deadline - time.monotonic()),
                       heartbeat=PurePosixPath(argv[0]).name)
        except (subprocess.TimeoutExpired, CommandFailed) as e:
            if time.monotonic() < self.deadline:
                if isinstance(e, CommandFailed) and self.offline and e.hint is None and (
                        hint := download_hint(e.output_tail, project)) is not None:
                    raise OfflineDownload(e, download_url(e.output_tail), hint) from e
                if isinstance(e, CommandFailed) and self.offline and (
                        toolchain := missing_toolchain(e.output_tail)) is not None:
                    raise MissingToolchain(e, toolchain) from e
                raise
            raise BuildError(f"the build container ran out of time ({timeout} s): {argv[0]} "
                             "was stopped", project=project,
                             hint="raise [build] timeout in repack.toml if the build is "
                                  "expected to take longer") from e
        return proc.stdout.decode(errors="replace")


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe:
    """What `probe` found: the engine to use, and the clients it skipped."""

    engine: Engine | None
    unanswered: tuple[str, ...] = ()     # clients on PATH whose engine does not answer


def probe(preferred: str | None = None, limits: Limits = Limits()) -> Probe:
    """podman first (daemonless, works as root and rootless), then docker; a docker client
    without an engine that answers `docker info` does not count."""
    unanswered: list[str] = []
    for name in (preferred,) if preferred else ENGINES:
        if name and shutil.which(name):
            if name == "docker" and run(["docker", "info"], check=False).returncode != 0:
                log.debug("docker client found but no engine answers; skipping it")
                unanswered.append(name)
                continue
            return Probe(engine=Engine(name=name, limits=limits), unanswered=tuple(unanswered))
    return Probe(engine=None, unanswered=tuple(unanswered))


def detect(preferred: str | None = None, limits: Limits = Limits()) -> Engine:
    """The engine `probe` finds; ToolMissing (exit 9) when there is none."""
    found = probe(preferred, limits).engine
    if found is not None:
        return found
    if preferred and preferred not in ENGINES:
        raise ConfigError(f"unknown container engine {preferred!r}; use podman or docker")
    raise ToolMissing("podman", hint=tool_hint("podman") + " (or a running docker engine)")


