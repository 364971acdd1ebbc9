"""Typed errors: each carries an exit code and an optional hint.

Every error class of repack is here (the exit codes are data of the class).  Only the
command line (`repack.cli`) catches them; it prints ``error: <message>`` (one line) and
``hint: <hint>`` and exits with the code.  EXIT_CODES below is the one table of the
codes: every error class's code is in it, `repack --help` prints it, and README.md
documents it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

# `repack outdated`'s findings, not errors: far from the error codes (1-12) and the
# signals (128+N), so a monitoring check tells them apart; 100 as `dnf check-update`.
UPDATES_PENDING = 100
SECURITY_PENDING = 101

EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "unexpected internal error (a bug: please report it with --debug output)",
    2: "bad usage or configuration (unknown target, malformed requirement or config)",
    3: "the index does not have what was asked for (project, version, sdist), or cannot "
       "be reached",
    4: "integrity: a hash did not match the index or a pin, a rebuild differs, a "
       "repository fails verification",
    5: "unsafe or corrupt archive",
    6: "metadata missing, invalid or hostile",
    7: "the requirement cannot be mapped to the target distribution (also: its "
       "Requires-Python excludes the target's Python, a package name or a file the target "
       "system already owns)",
    8: "an external build step failed",
    9: "a host tool is missing",
    10: "signing with repack's own key failed, or no key the target's clients can verify",
    11: "the upstream trust policy is not met: a signature or attestation is missing or "
        "bad, or a release with known vulnerabilities was refused (--deny-vulnerable)",
    12: "the host refused a file operation: disk full, a read-only or missing directory, "
        "permissions",
    13: "a signature or key of the repository expires within --fail-within days "
        "(`repo verify`)",
    14: "the import check failed: a built package does not install, import or run --help "
        "in a clean container of its target (--no-check skips it)",
    UPDATES_PENDING: "`repack outdated`: the index has newer releases of published "
                     "projects, none of them a security update",
    SECURITY_PENDING: "`repack outdated`: a security update is pending (a newer release "
                      "fixes an advisory of a published version)",
    129: "interrupted by SIGHUP",
    130: "interrupted by SIGINT (Ctrl-C)",
    143: "interrupted by SIGTERM",
}


class RepackError(Exception):
    """Base of every error repack reports to the user."""

    exit_code = 1

    def __init__(self, message: str, *, project: str | None = None, hint: str | None = None):
        self.project = project
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        # always one line, and no control characters: messages quote index and sdist text
        msg = " ".join("".join(c for c in super().__str__()
                               if c.isspace() or unicodedata.category(c)[0] != "C").split())
        return f"{self.project}: {msg}" if self.project else msg


class ConfigError(RepackError):
    exit_code = 2


class TargetError(ConfigError):
    """An unknown or malformed target description."""


class ResolveError(RepackError):
    exit_code = 3


class ConflictError(ResolveError):
    """Two requirements on one project that no single release satisfies."""


class IntegrityError(RepackError):
    exit_code = 4


class VerifyFailed(IntegrityError):
    """The repository is not what a client would accept."""


class ExpiryNear(RepackError):
    """`repo verify --fail-within DAYS`: sound now, but a Valid-Until or a key runs out
    within DAYS (monitoring tells it from a broken repository, exit 4)."""
    exit_code = 13


class UnsafeArchiveError(RepackError):
    exit_code = 5


class MetadataError(RepackError):
    exit_code = 6


class MappingError(RepackError):
    exit_code = 7


class RequiresPythonError(MappingError):
    """The release asked for exists, but its Requires-Python excludes the target's Python:
    the index has it (not exit 3); the target cannot take it."""


class CycleError(MappingError):
    """Projects that depend on each other: no build order exists."""


class BuildError(RepackError):
    exit_code = 8


class CommandFailed(BuildError):
    """An external command exited non-zero; carries argv and the tail of its output."""

    def __init__(
        self,
        argv: list[str],
        returncode: int,
        output_tail: str,
        *,
        project: str | None = None,
        hint: str | None = None,
    ):
        import shlex

        self.argv = argv
        self.returncode = returncode
        self.output_tail = output_tail
        # one line: a program given with -c (repack's own scripts) is elided, other newlines
        # are shown escaped
        shown = ["<script>" if i and argv[i - 1] == "-c" and "\n" in a
                 else a.replace("\n", "\\n") for i, a in enumerate(argv)]
        super().__init__(
            f"command failed with exit code {returncode}: {shlex.join(shown)}",
            project=project,
            hint=hint,
        )


class OfflineDownload(CommandFailed):
    """A command in an offline build container failed after trying to reach the network (a
    meson subproject, a setup.py fetching a library): `url` is what it tried, if it said.
    repack.fallback turns it into the build's MappingError (exit 7); the import check keeps
    it a failed command."""

    def __init__(self, failed: CommandFailed, url: str | None, hint: str) -> None:
        super().__init__(failed.argv, failed.returncode, failed.output_tail,
                         project=failed.project, hint=hint)
        self.url = url


class MissingToolchain(CommandFailed):
    """A command in an offline build container failed for want of a compiler no target
    archive provides with what it needs (cargo and crates for Rust, nvcc for CUDA), in a
    project whose sources mention it without declaring it (an optional Rust backend, a
    vendored library's CUDA support): `toolchain` says which.  repack.fallback turns it into
    the build's MappingError (exit 7), as a declared one is refused before the build."""

    def __init__(self, failed: CommandFailed, toolchain: str) -> None:
        super().__init__(failed.argv, failed.returncode, failed.output_tail,
                         project=failed.project, hint=failed.hint)
        self.toolchain = toolchain


class CheckFailed(RepackError):
    """The packages a run built do not install, import or run `--help` in a clean container
    of their target (repack.check): built fine, broken to use."""

    exit_code = 14


class SignError(RepackError):
    """Signing with repack's own key failed, or a signature it made does not verify."""

    exit_code = 10


class TrustError(RepackError):
    """The trust policy refused an upstream file (signature, attestation, advisories)."""

    exit_code = 11


class HostError(RepackError):
    """The host's file system refused (ENOSPC, EROFS, EACCES, ...): not repack's bug, not
    the input's fault."""

    exit_code = 12


class ToolMissing(RepackError):
    exit_code = 9

    def __init__(self, tool: str, *, hint: str | None = None):
        self.tool = tool
        super().__init__(f"required host tool {tool!r} was not found on PATH", hint=hint)


class PlanFailed(RepackError):
    """A job of a plan failed: says which, what was done (kept) and what was not; the exit
    code is the failure's own."""

    def __init__(self, job: str, cause: BaseException, *, done: Sequence[str],
                 not_run: Sequence[str], where: str) -> None:
        self.cause = cause
        self.done = tuple(done)
        self.not_run = tuple(not_run)
        self.exit_code = cause.exit_code if isinstance(cause, RepackError) else 1
        built = ", ".join(done) or "nothing"
        skipped = ", ".join(not_run) or "nothing"
        own = cause.hint if isinstance(cause, RepackError) else None   # the failure's own
        super().__init__(f"{job} failed ({cause}); stopped: built and kept {built}; "
                         f"not built {skipped}",
                         hint="; ".join(filter(None, (own, f"built packages are in {where}"))))


class SpliceUnsupported(Exception):
    """Internal, never reported: the old yum metadata is not the plain gzip
    primary/filelists/other that repack.publish.repodata splices into (the caller falls
    back to createrepo_c)."""


def unknown_keys(found: Iterable[str], allowed: Iterable[str]) -> str | None:
    """The problem with the keys of a config table that are not `allowed`, naming the
    closest known key of each (a misspelling must not be silently ignored); None if none."""
    import difflib

    known = sorted(allowed)
    extra = sorted(set(found) - set(known))
    if not extra:
        return None
    named = []
    for key in extra:
        close = difflib.get_close_matches(key, known, n=1)
        named.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    return f"unknown key(s) {', '.join(named)}; known: {', '.join(known)}"
