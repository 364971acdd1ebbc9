"""Human output: one line per step on stderr; tool output only on failure or with -v."""

from __future__ import annotations

import contextlib
import threading
import time
import unicodedata
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.text import Text


class _Console(Console):
    """A Console that prints every string as data: control and format characters other than
    newline and tab (ESC, CSI, BEL, CR, bidi overrides) are dropped before rich styles it, so
    text from an index, an sdist, a build or a key cannot steer the terminal.  rich's own
    styling is unaffected."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(
            "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C"),
            **kwargs)


# stdout is reserved for machine-readable output (--json); everything human goes to stderr.
console = _Console(stderr=True, highlight=False, soft_wrap=True)

_state = {"verbose": False, "quiet": False}
# Step nesting and a line prefix are per thread: parallel builds each log their own steps.
_local = threading.local()


def _lead() -> str:
    return str(getattr(_local, "prefix", "")) + "  " * int(getattr(_local, "depth", 0))


@contextlib.contextmanager
def prefix(label: str) -> Iterator[None]:
    """Start every line this thread logs with ``[label]``, so concurrent builds stay legible."""
    before = getattr(_local, "prefix", "")
    _local.prefix = f"[{label}] "
    try:
        yield
    finally:
        _local.prefix = before


def configure(*, verbose: bool = False, quiet: bool = False) -> None:
    _state["verbose"] = verbose
    _state["quiet"] = quiet


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Within: no info lines (warnings, errors and -v's debug lines still print), for a
    command whose output is only its result (`repack outdated`)."""
    before = _state["quiet"]
    _state["quiet"] = True
    try:
        yield
    finally:
        _state["quiet"] = before


def verbose() -> bool:
    return bool(_state["verbose"])


def size(n: int, *, binary: bool = False) -> str:
    """A byte count for people: "717 B", "10.3 MB" (or, binary, "1.5 GiB")."""
    base, units = (1024, ("B", "KiB", "MiB", "GiB")) if binary else (1000, ("B", "kB", "MB", "GB"))
    value = float(n)
    for unit in units:
        if value < base or unit == units[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= base
    return f"{n} B"


def info(message: str) -> None:
    if not _state["quiet"]:
        console.print(_lead() + message, markup=False)


def debug(message: str) -> None:
    if _state["verbose"]:
        console.print(_lead() + message, style="dim", markup=False)


def warn(message: str) -> None:
    console.print(f"{getattr(_local, 'prefix', '')}warning: {message}", style="yellow",
                  markup=False)


@contextlib.contextmanager
def step(title: str) -> Iterator[None]:
    """Announce a step, nest the ones inside it, and say how long it took."""
    info(f"› {title}")
    start = time.monotonic()
    _local.depth = int(getattr(_local, "depth", 0)) + 1
    try:
        yield
    finally:
        _local.depth = int(_local.depth) - 1
    debug(f"  ({title}: {time.monotonic() - start:.1f}s)")
