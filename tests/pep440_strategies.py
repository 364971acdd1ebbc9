"""Hypothesis strategies for PEP 440 versions and specifiers, shared by the mapping tests
of every family (Debian and RPM check the same PEP 440 order against their comparators).

    from pep440_strategies import respelled, specifiers, version_text, versions
"""

from __future__ import annotations

from hypothesis import strategies as st
from packaging.version import Version


def version_text(epoch: int, release: list[int], pre: tuple[str, int] | None,
                 post: int | None, dev: int | None, local: str | None = None) -> str:
    out = (f"{epoch}!" if epoch else "") + ".".join(map(str, release))
    out += f"{pre[0]}{pre[1]}" if pre else ""
    out += f".post{post}" if post is not None else ""
    out += f".dev{dev}" if dev is not None else ""
    return out + (f"+{local}" if local else "")


LOCALS = st.lists(
    st.one_of(st.integers(0, 12).map(str), st.text(alphabet="ab0z19", min_size=1, max_size=3)),
    min_size=1, max_size=3,
).map(".".join)


def spelled(release: list[int], zeros: int) -> list[int]:
    """*release* without its trailing zeros, then spelled with *zeros* of them."""
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    return release + [0] * zeros


def versions(*, local: bool = False, max_part: int = 3,
             max_epoch: int = 2) -> st.SearchStrategy[Version]:
    """Versions whose release (up to 4 parts before its zeros) is spelled with 0-2
    trailing zeros (1.16, 1.16.0, 1.16.0.0): PEP 440 calls them equal, packages may not."""
    return st.builds(
        version_text,
        st.integers(0, max_epoch),
        st.builds(spelled, st.lists(st.integers(0, max_part), min_size=1, max_size=4),
                  st.integers(0, 2)),
        st.none() | st.tuples(st.sampled_from(["a", "b", "rc"]), st.integers(0, 2)),
        st.none() | st.integers(0, 2),
        st.none() | st.integers(0, 2),
        LOCALS if local else st.none(),
    ).map(Version)


@st.composite
def specifiers(draw: st.DrawFn, *, local: bool = False, max_epoch: int = 2) -> str:
    """One PEP 440 specifier over small versions; `local`: ==/!= may name a local version."""
    op = draw(st.sampled_from([">=", ">", "<", "<=", "==", "!=", "~=", "==*", "!=*"]))
    if op in ("==*", "!=*"):
        epoch = draw(st.integers(0, 1))
        release = draw(st.lists(st.integers(0, 2), min_size=1, max_size=3))
        return f"{op[:2]}{epoch}!{'.'.join(map(str, release))}.*"
    with_local = local and op in ("==", "!=")
    v = draw(versions(local=with_local, max_part=2, max_epoch=max_epoch))
    if op == "~=" and len(v.release) < 2:
        v = Version(version_text(v.epoch, [*v.release, 0], v.pre, v.post, v.dev))
    return f"{op}{v}"


def respelled(a: Version, b: Version) -> bool:
    """Final or post releases of one release written with other trailing zeros (1.0 and
    1.0.0, or 1.0.0 and 1.0.post1): packages keep their spelling, so their order follows it."""
    def kept(v: Version) -> bool:
        return v.pre is None and (v.dev is None or v.post is not None)

    def padded(r: tuple[int, ...], other: tuple[int, ...]) -> tuple[int, ...]:
        return r + (0,) * max(0, len(other) - len(r))

    return (kept(a) and kept(b) and a.epoch == b.epoch and a.release != b.release
            and padded(a.release, b.release) == padded(b.release, a.release))
