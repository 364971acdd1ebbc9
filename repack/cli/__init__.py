"""The `repack` command line: one click group, its commands in build, publish, keys and
trust.  No logic here: each command parses, calls into the library and prints.

Every error a command raises reaches `Repack.invoke`, the one place it becomes one
`error:` line (and `hint:`) and its exit code (repack.errors.EXIT_CODES).
"""

from __future__ import annotations

import errno
import importlib
import signal
import sys
import textwrap
from types import FrameType
from typing import Any, NoReturn

import click

from repack import __version__, log
from repack.cli.options import DEBUG
from repack.container import engine
from repack.errors import EXIT_CODES, CommandFailed, HostError, RepackError

# Each command's module (repack.cli.<module>, its COMMANDS), imported when the command is
# looked up: `repack publish` does not import the build pipeline (~0.05 s of each run).
COMMAND_MODULES = {
    **dict.fromkeys(("build", "lock", "plan", "render", "rebuild", "targets", "image", "cache",
                     "doctor"), "build"),
    **dict.fromkeys(("sign", "publish", "repo", "outdated", "serve"), "publish"),
    "key": "keys", "trust": "trust", "explain": "trust", "sync": "sync",
}


class Repack(click.Group):
    """The top-level group: runs the command and turns whatever it raises into its exit
    code, once for every command (click's own usage errors keep click's handling).
    Commands come from their module on demand (COMMAND_MODULES)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return super().get_command(ctx, cmd_name)
        commands = importlib.import_module(f"repack.cli.{module}").COMMANDS
        return next((c for c in commands if c.name == cmd_name), None)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt as e:
            engine.stop_all()
            log.console.print("error: interrupted", style="bold red")
            sys.exit(_signal_exit(e))
        except Exception as e:  # noqa: BLE001 - every error, here and nowhere else
            _exit(e, debug=bool(ctx.meta.get(DEBUG)))


def _signal_exit(e: KeyboardInterrupt) -> int:
    """128 + the signal that interrupted (SIGINT for a plain Ctrl-C)."""
    return 128 + (e.args[0] if e.args and isinstance(e.args[0], int) else signal.SIGINT)


def _exit(e: Exception, *, debug: bool) -> NoReturn:
    """One `error:` line (and a `hint:`), the traceback on --debug, and the exit code: the
    error's own, 12 for a file operation the host refused, 1 for anything else (a bug)."""
    if debug:
        log.console.print_exception()
    if isinstance(e, OSError) and e.errno is not None:
        e = _host_error(e)
    if not isinstance(e, RepackError):
        message = " ".join(f"{type(e).__name__}: {e}".split())
        log.console.print(f"error: internal error: {message}", style="bold red", markup=False)
        log.console.print("hint: this is a bug in repack; run again with --debug and report "
                          "the traceback", markup=False)
        sys.exit(RepackError.exit_code)
    if isinstance(e, CommandFailed) and e.output_tail:
        log.console.print(e.output_tail, markup=False, style="dim")
    log.console.print(f"error: {e}", style="bold red", markup=False)
    if e.hint:
        log.console.print(f"hint: {e.hint}", markup=False)
    sys.exit(e.exit_code)


def _host_error(e: OSError) -> HostError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        # the file named may be the *source* of a copy: say what ran out instead
        return HostError(f"{e.strerror}", hint="free space on the file system of the "
                         "repository, the output directory or the cache (REPACK_CACHE_DIR)")
    where = f"{e.filename}: " if e.filename else ""
    return HostError(f"{where}{e.strerror or e}",
                     hint="check permissions and that the directory exists and is writable")


def _exit_codes() -> str:
    """The end of `repack --help`: errors.EXIT_CODES, one code a line."""
    lines = ["\b", "Exit codes:"]
    for code, meaning in EXIT_CODES.items():
        lines += textwrap.wrap(meaning, width=78, initial_indent=f"  {code:<4} ",
                               subsequent_indent=" " * 7, break_on_hyphens=False)
    return "\n".join(lines)


@click.group(cls=Repack, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=_exit_codes())
@click.version_option(__version__, prog_name="repack")
def cli() -> None:
    """Turn Python sdists from your package index into native packages: .deb for Debian,
    .rpm for RHEL, Rocky, Alma and Fedora, each built from the hash-verified upstream
    sdist in a clean container; publish them as signed apt and yum repositories.

    \b
    Typical use:
      repack doctor                      check the host tools
      repack build django==4.2           ./repack-out/debian-12/python3-django_*.deb
      repack build django==4.2 -t el9    ./repack-out/el9/python3-django-*.noarch.rpm
      repack build -r requirements.txt -t debian-12 -t debian-13 -t fedora-42
      repack render django==4.2 -o review/   the debian/ directory, not built
      repack publish repack-out/ --repo REPO   signed apt and yum repositories
      repack targets                     the Debian, RHEL-family and Fedora releases

    The index is the one pip uses (PIP_INDEX_URL or pip.conf index-url).
    """


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGINT, SIGTERM and SIGHUP stop the run the same way: its build containers are
    removed at once (worker threads waiting on them fail fast), then the main thread
    unwinds through every `finally` as for Ctrl-C."""
    engine.stop_all()
    raise KeyboardInterrupt(signum)


def main() -> None:
    """The console entry point (and `python -m repack`)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        cli(prog_name="repack")
    except KeyboardInterrupt as e:     # outside a command (e.g. while parsing)
        sys.exit(_signal_exit(e))
