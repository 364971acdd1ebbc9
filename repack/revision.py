"""Which revision a build gets: 0repack1, or the next one when the published build differs.

A package's version names its revision (Debian ``1.16.0-0repack2~deb12``, rpm Release
``0.repack2.el9``) and a signed package cannot be renamed, so the revision is chosen before
the build: ``repack build --revision N`` sets it; ``repack build --against REPO`` (default:
``[publish] repo``) looks at what REPO publishes under the same name and version and

* builds the highest published revision again: identical (builds are reproducible) means
  publishing it changes nothing;
* different (another repack, template, maintainer, builder archive) means the next revision
  is built, its changelog saying why (``Rebuilt: ...``), so publishing it is an upgrade
  instead of a refused overwrite.

The pure functions here name revisions and files; `repack.republish.build_against` runs the
builds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from repack.errors import ConfigError, MappingError
from repack.trust.provenance import MAX_REVISION

__all__ = ["MAX_REVISION", "asked_reason", "check_revision", "deb_revision", "differs_reason",
           "next_free_hint", "revision_of", "rpm_release", "with_revision"]

_DEB = re.compile(r"-0repack([0-9]+)(?=[A-Za-z0-9+.~]*$)")      # in a Debian version
_RPM = re.compile(r"(?:^|-)0\.repack([0-9]+)(?=[A-Za-z0-9._+~]*$)")   # in an rpm Release
_DEB_FILE = re.compile(r"-0repack([0-9]+)(?=[A-Za-z0-9+.~]*_[a-z0-9-]+\.deb$)")
_RPM_FILE = re.compile(r"-0\.repack([0-9]+)(?=[A-Za-z0-9._+~]*\.[a-z0-9_]+\.rpm$)")


def deb_revision(n: int, *, project: str | None = None) -> str:
    """The Debian revision's repack part: ``0repackN`` (the target's suffix follows)."""
    return f"0repack{_checked(n, project)}"


def rpm_release(n: int, *, project: str | None = None) -> str:
    """The rpm Release's repack part: ``0.repackN`` (the target's suffix follows)."""
    return f"0.repack{_checked(n, project)}"


def _checked(n: int, project: str | None) -> int:
    if isinstance(n, bool) or not 1 <= n <= MAX_REVISION:
        raise MappingError(f"revision {n} is not a whole number from 1 to {MAX_REVISION}",
                           project=project)
    return n


def revision_of(text: str) -> int | None:
    """The N of a repack version, release or package file name; None when it is not one."""
    for pattern in (_DEB_FILE, _RPM_FILE, _DEB, _RPM):
        if m := pattern.search(text):
            return int(m.group(1))
    return None


def with_revision(filename: str, n: int) -> str:
    """A built package's file name as revision *n* would name it."""
    for pattern, prefix in ((_DEB_FILE, "-0repack"), (_RPM_FILE, "-0.repack")):
        if pattern.search(filename):
            return pattern.sub(f"{prefix}{_checked(n, None)}", filename, count=1)
    raise ValueError(f"{filename} is not the file name of a repack package")


def asked_reason(n: int) -> str:
    """The changelog's reason for a revision given with --revision."""
    return f"revision {n} asked for with --revision."


def differs_reason(version: str, difference: str) -> str:
    """The changelog's reason when the published build of *version* differs."""
    return f"the build published as {version} differs ({difference})."


def next_free_hint(version: str, published: Iterable[str] = ()) -> str:
    """The hint of publish's refusal of a different file under a published version (or
    file name): the revision after the highest of *published* (versions or file names)
    that differs from *version* only in its revision."""
    n = revision_of(version)
    if n is None:
        return "bump the version"
    same = _without_revision(version)
    n = max([n, *(revision_of(p) or 0 for p in published if _without_revision(p) == same)])
    if n >= MAX_REVISION:
        return "bump the version"
    return (f"build it as the next revision: `repack build ... --revision {n + 1}`, or "
            "`repack build --against REPO`, which picks it when the published build differs")


def _without_revision(text: str) -> str:
    for pattern, prefix in ((_DEB_FILE, "-0repack"), (_RPM_FILE, "-0.repack"), (_DEB, "-0repack"),
                            (_RPM, "0.repack")):
        if pattern.search(text):
            return pattern.sub(prefix, text, count=1)
    return text


def check_revision(n: int | None, *, with_against: bool) -> None:
    """--revision is a whole number from 1; with --against it is given up to the repo."""
    if n is not None and not 1 <= n <= MAX_REVISION:
        raise ConfigError(f"--revision {n}: a whole number from 1 to {MAX_REVISION}")
    if n is not None and with_against:
        raise ConfigError("--revision and --against both choose the revision: give one")
