"""rpm's version comparison (rpmvercmp, with `~` and `^`), for pruning old packages.

A port of lib/rpmvercmp.c (rpm >= 4.15), so `repack repo prune` keeps exactly the versions
dnf considers newest; tests check it against rpm's own `rpm.vercmp`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

_DIGITS = frozenset(string.digits)
_ALPHA = frozenset(string.ascii_letters)
_ALNUM = _DIGITS | _ALPHA


# One function, as in rpm: the loop is lib/rpmvercmp.c's, step for step (two cursors, the
# separators skipped, then tilde, caret, and one digit or letter segment per turn), so it
# can be checked against rpm's source line by line.  Split into helpers, the cursors would
# travel in and out of each and the comparison would no longer read like the original.
def rpmvercmp(a: str, b: str) -> int:  # noqa: C901 -- a port of rpm's rpmvercmp, kept whole
    """-1, 0 or 1 as rpm orders the version (or release) strings a and b."""
    if a == b:
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and a[i] not in _ALNUM and a[i] not in "~^":
            i += 1
        while j < len(b) and b[j] not in _ALNUM and b[j] not in "~^":
            j += 1
        ca, cb = a[i:i + 1], b[j:j + 1]
        if ca == "~" or cb == "~":          # a tilde sorts before everything, even the end
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if ca == "^" or cb == "^":          # a caret sorts after the end, before anything else
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        kind = _DIGITS if ca in _DIGITS else _ALPHA
        si, sj = i, j
        while i < len(a) and a[i] in kind:
            i += 1
        while j < len(b) and b[j] in kind:
            j += 1
        seg_a, seg_b = a[si:i], b[sj:j]
        if not seg_b:                      # numeric segments are newer than alphabetic ones
            return 1 if kind is _DIGITS else -1
        if kind is _DIGITS:
            seg_a, seg_b = seg_a.lstrip("0"), seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


@dataclass(frozen=True, slots=True, kw_only=True)
class EVR:
    """An epoch:version-release that sorts as rpm sorts it."""

    epoch: str = field(default="0")
    version: str = ""
    release: str = ""

    def compare(self, other: EVR) -> int:
        ea, eb = int(self.epoch or 0), int(other.epoch or 0)
        if ea != eb:
            return 1 if ea > eb else -1
        return rpmvercmp(self.version, other.version) or rpmvercmp(self.release, other.release)

    def __lt__(self, other: EVR) -> bool:
        return self.compare(other) < 0
