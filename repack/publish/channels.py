"""Channels: the same repository publishing one target in several states (testing, stable).

The default channel, "stable", is the layout repack always had: apt suite ``<codename>``,
yum repository ``yum/<target>/``.  Another channel is

- apt: the suite ``<codename>-<channel>`` in the same apt tree (so it shares the pool: a
  promoted .deb is the very same pool file), without a -security suite of its own;
- yum: the repository ``yum/<target>_<channel>/``, a complete served directory of its own
  (its rpms and signed repodata).  A target id is ``[a-z0-9]+([.-][a-z0-9]+)*``, so no
  target can be named like a channel's directory.

A channel name is short lowercase letters and digits, starting with a letter, so it can
never add a path component, a second suite separator or a section name clients misread;
"security" is taken by the security suites (repack.publish.security).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from packaging.version import InvalidVersion, Version

from repack.errors import ConfigError

DEFAULT = "stable"
RESERVED = frozenset({"security"})
NAME = re.compile(r"[a-z][a-z0-9]{0,15}")
YUM_SEPARATOR = "_"


def check(channel: str | None) -> str | None:
    """The channel as stored: None for the default channel; a bad name is a ConfigError."""
    if channel is None or channel == DEFAULT:
        return None
    if not NAME.fullmatch(channel) or channel in RESERVED:
        raise ConfigError(f"{channel[:40]!r} is not a valid channel name",
                          hint="1-16 lowercase letters or digits, starting with a letter"
                               " (not 'security')")
    return channel


def name(channel: str | None) -> str:
    """The channel's name for people: the default one is "stable"."""
    return channel or DEFAULT


def apt_suite(codename: str, channel: str | None) -> str:
    return codename if channel is None else f"{codename}-{channel}"


def yum_dir(target_id: str, channel: str | None) -> str:
    """The directory under REPO/yum/ of a target's channel."""
    return target_id if channel is None else f"{target_id}{YUM_SEPARATOR}{channel}"


def split_yum_dir(dirname: str) -> tuple[str, str | None]:
    """(target id, channel) of a directory under REPO/yum/."""
    target_id, sep, channel = dirname.partition(YUM_SEPARATOR)
    return (target_id, channel) if sep and NAME.fullmatch(channel) else (dirname, None)


def split_suite(suite: str, codenames: Iterable[str]) -> tuple[str, str | None] | None:
    """(codename, channel) of an apt suite repack wrote for one of `codenames` (None for
    a suite of no known codename, e.g. a -security suite)."""
    known = set(codenames)
    if suite in known:
        return suite, None
    codename, sep, channel = suite.rpartition("-")
    if sep and codename in known and NAME.fullmatch(channel) and channel not in RESERVED:
        return codename, channel
    return None


def same_version(text: str, pep440: str, mapped: Callable[[Version], str]) -> bool:
    """Whether a package's upstream version is the record's PEP 440 version: repack's own
    mapping of it, or the same version spelled otherwise ("1.0" for 1.0)."""
    try:
        version = Version(pep440)
    except InvalidVersion:
        return False
    if mapped(version) == text:
        return True
    try:
        return Version(text) == version
    except InvalidVersion:
        return False
