"""Human output: one line per step on stderr; tool output only on failure or with -v."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from rich.console import Console

# stdout is reserved for machine-readable output (--json); everything human goes to stderr.
console = Console(stderr=True, highlight=False, soft_wrap=True)

_state = {"verbose": False, "quiet": False, "depth": 0}


def configure(*, verbose: bool = False, quiet: bool = False) -> None:
    _state["verbose"] = verbose
    _state["quiet"] = quiet


def verbose() -> bool:
    return bool(_state["verbose"])


def info(message: str) -> None:
    if not _state["quiet"]:
        console.print("  " * int(_state["depth"]) + message, markup=False)


def debug(message: str) -> None:
    if _state["verbose"]:
        console.print("  " * int(_state["depth"]) + message, style="dim", markup=False)


def warn(message: str) -> None:
    console.print(f"warning: {message}", style="yellow", markup=False)


@contextlib.contextmanager
def step(title: str) -> Iterator[None]:
    """Announce a step, nest the ones inside it, and say how long it took."""
    info(f"› {title}")
    start = time.monotonic()
    _state["depth"] = int(_state["depth"]) + 1
    try:
        yield
    finally:
        _state["depth"] = int(_state["depth"]) - 1
    debug(f"  ({title}: {time.monotonic() - start:.1f}s)")
