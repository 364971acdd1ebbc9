"""Map a Project to a Debian DebSpec for one Target.

Pure functions: no I/O, no subprocess.  Names follow Debian Policy 5.6.1 and dh-python's
dist map; versions follow Policy 5.6.12 with a scheme that keeps PEP 440 order under
``dpkg --compare-versions`` (see `deb_upstream_version`); Requires-Dist becomes Debian
relations (Policy 7.1) that admit exactly the versions the PEP 440 specifier admits, for
versions produced by this module.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from debian.debian_support import version_compare
from packaging.requirements import Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from repack.errors import MappingError
from repack.model import (
    Alternatives,
    ArchiveIndex,
    ChangelogEntry,
    DebName,
    DebSpec,
    DebVersion,
    Project,
    Provenance,
    Relation,
    Target,
)
from repack.pep440 import active, check_requires_python, homepage, license_field, strip_zeros
from repack.revision import deb_revision
from repack.trust.provenance import changelog_lines

__all__ = [
    "MappedRequirement", "archive_epoch", "archive_note", "archive_owners", "compiled_on_index",
    "deb_package_name", "deb_source_name", "deb_upstream_version", "deb_version",
    "make_deb_spec", "map_requirement", "own_package_name", "python_relation", "satisfies",
    "specifier_relations", "suggested_name",
]

_DEB_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")           # Policy 5.6.1
_REVISION_SUFFIX = re.compile(r"[A-Za-z0-9+.~]*")         # Policy 5.6.12, debian_revision
_LABEL_DIGITS = str.maketrans("0123456789", "QRSTUVWXYZ")  # local labels: digits -> Q..Z
_PYTHON = DebName("python3")
# dh-python maps setuptools to python3-pkg-resources (the runtime import); a build needs
# the real thing.
_BUILD_NAME_OVERRIDES = {"setuptools": "python3-setuptools"}
# Compiled against the archive's numpy, a package needs its ABI at run time: dh_numpy3 (the
# `numpy3` dh sequence, python3-numpy's or, from Debian 13, python3-numpy-dev's) adds
# python3-numpy-abi9 / python3-numpy2-abi0 to ${python3:Depends} (lintian:
# missing-dependency-on-numpy-abi, scikit-learn on Debian 13).  Against the index's numpy
# (a wheel, Debian 12's for `numpy>=2`), repack.deb.numpyabi writes the range instead.
NUMPY = DebName("python3-numpy")
# The interpreter's own packages (Debian's python3-defaults and python3-stdlib-extensions):
# python3-* names, yet no module package a PyPI project may become.
INTERPRETER_PACKAGES = frozenset({
    "python3", "python3-minimal", "python3-dev", "python3-all", "python3-all-dev",
    "python3-all-dbg", "python3-dbg", "python3-doc", "python3-examples", "python3-full",
    "python3-venv", "python3-nopie", "python3-idle", "python3-tk", "python3-gdbm",
    "python3-distutils", "python3-lib2to3",
})


# --- names -------------------------------------------------------------------------------

def deb_package_name(
    name: NormalizedName, target: Target, archive: ArchiveIndex, *, project: str | None = None
) -> DebName:
    """Binary package name: the archive's dist map wins, else ``target.name_prefix + name``.

    PEP 503 names are ``[a-z0-9-]``, so the fallback is a valid Policy 5.6.1 name.
    """
    key = canonicalize_name(name)
    deb = archive.dist_map.get(key) or f"{target.name_prefix}{key}"
    if not _DEB_NAME.fullmatch(deb):
        raise MappingError(f"{deb!r} is not a valid Debian package name", project=project or key)
    return DebName(deb)


def deb_source_name(
    name: NormalizedName, target: Target, archive: ArchiveIndex, *, project: str | None = None,
    binary: DebName | None = None,
) -> DebName:
    """Source package name in the ``python-<name>`` style of the DPT.

    The binary name's ``target.name_prefix`` is replaced with ``python-``
    (python3-yaml -> python-yaml); a binary without the prefix gives ``python-<name>``.
    *binary* is the package's own name when already decided (`own_package_name`).
    """
    if binary is None:
        binary = deb_package_name(name, target, archive, project=project)
    if binary.startswith(target.name_prefix) and len(binary) > len(target.name_prefix):
        base = binary[len(target.name_prefix):]
    else:
        base = canonicalize_name(name)
    return DebName(f"python-{base}")


def archive_owners(package: str, archive: ArchiveIndex) -> tuple[str, ...]:
    """The dist names dh-python's map gives for the archive's *package* (sorted)."""
    return tuple(sorted(d for d, p in archive.dist_map.items() if p == package))


# A package the dist map gives to this many projects or more is a bundle of separate
# projects (Debian 12: python3-azure 269, python3-typeshed 134, python3-rosidl 9): one
# project's build under its name would replace all the others.  Two are a project and its
# old name or split-off half (pillow and pil: python3-pil), kept as the map says.
BUNDLE_MIN = 3


def bundle_of(name: NormalizedName, archive: ArchiveIndex) -> tuple[str, tuple[str, ...]] | None:
    """(package, the projects mapped to it) when dh-python's map gives *name* a bundle."""
    mapped = archive.dist_map.get(canonicalize_name(name))
    if mapped is None:
        return None
    owners = archive_owners(mapped, archive)
    return (mapped, owners) if len(owners) >= BUNDLE_MIN else None


def _taken(package: str, target: Target, archive: ArchiveIndex, key: str) -> str:
    """"python3-apt is taken in Debian 12 (bookworm): the archive's package of python-apt"."""
    owners = archive_owners(package, archive)
    if not owners:
        return (f"{package} is taken in {target.name}: a package of its archive that "
                f"dh-python's dist map gives to no PyPI project, not to {key}")
    return (f"{package} is taken in {target.name}: the archive's package of {_shown(owners)} "
            f"(dh-python's dist map), not of {key}")


def _shown(names: Sequence[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def suggested_name(name: NormalizedName, target: Target, archive: ArchiveIndex) -> str:
    """A name for the hint: ``<prefix><name>``, or with ``-pypi`` when that is taken."""
    key = canonicalize_name(name)
    plain = f"{target.name_prefix}{key}"
    if plain not in archive.packages and not archive_owners(plain, archive):
        return plain
    return f"{plain}-pypi"


def _name_hint(name: NormalizedName, target: Target, archive: ArchiveIndex) -> str:
    key = canonicalize_name(name)
    return (f"choose a name for its package in repack.toml: [packages.{key}] "
            f'name = "{suggested_name(key, target, archive)}"')


def own_package_name(
    name: NormalizedName, target: Target, archive: ArchiveIndex, *, chosen: str | None = None,
    project: str | None = None,
) -> DebName:
    """The binary package repack builds for PyPI project *name*; refuses a name that belongs
    to something else, because installing it replaces that package.

    PyPI names are first come, first served, Debian's are not: PyPI ``apt`` maps to
    python3-apt, which is Debian's python-apt, and dh-python's dist map sends ``argparse``
    to ``python3`` (the interpreter) and ``awscli`` to ``awscli``.  So, unless *chosen* (the
    project's configured name) says otherwise:

    * a dist-map entry is used unless it is one of `INTERPRETER_PACKAGES` or a package the
      system needs (Essential, Priority required/important): the archive says that package
      is this project, a ``<prefix>*`` module package or an application package of its own
      (black, awscli), and repack's newer build replaces it on purpose;
    * otherwise ``<prefix><name>`` is used only when the archive has no such package; so
      too for a project the map gives to a bundle of several (`BUNDLE_MIN`): types-requests
      is not python3-typeshed, whose 134 projects its build would replace.

    A chosen name must be a valid name that the archive either lacks or maps to this
    project.  Refusals are MappingError (exit 7) naming the owner, with a hint.
    """
    key = canonicalize_name(name)
    who = project or key
    hint = _name_hint(key, target, archive)
    mapped = archive.dist_map.get(key)
    if chosen is not None:
        if not _DEB_NAME.fullmatch(chosen):
            raise MappingError(f"the configured package name {chosen!r} is not a valid Debian "
                               "package name", project=who)
        if chosen in INTERPRETER_PACKAGES:
            raise MappingError(f"the configured package name {chosen} is the interpreter's own "
                               f"package in {target.name}", project=who, hint=hint)
        if chosen in archive.packages and chosen != mapped:
            raise MappingError(f"the configured package name "
                               f"{_taken(chosen, target, archive, key)}", project=who, hint=hint)
        return DebName(chosen)
    if bundle_of(key, archive) is not None:
        own = DebName(f"{target.name_prefix}{key}")
        if own in archive.packages:
            raise MappingError(f"{_taken(own, target, archive, key)}; repack will not replace "
                               "it", project=who, hint=hint)
        return own      # `bundle_note` says why
    if mapped is not None:
        if mapped in INTERPRETER_PACKAGES or mapped in archive.protected:
            what = ("the interpreter's own" if mapped in INTERPRETER_PACKAGES else
                    "one the system needs (Essential, or Priority required or important)")
            raise MappingError(f"dh-python maps {key} to {target.name}'s package {mapped}, "
                               f"which is {what}; repack will not replace it",
                               project=who, hint=hint)
        if not mapped.startswith(target.name_prefix):
            return DebName(mapped)      # the project's application package: `application_note`
        return deb_package_name(key, target, archive, project=who)
    fallback = deb_package_name(key, target, archive, project=who)
    if fallback in archive.packages:
        raise MappingError(f"{_taken(fallback, target, archive, key)}; repack will not "
                           "replace it", project=who, hint=hint)
    return fallback


# --- versions ----------------------------------------------------------------------------

def _local_suffix(local: str | None) -> str:
    if local is None:
        return ""
    out = "+"
    for seg in local.split("."):
        out += f"N{int(seg)}" if seg.isdigit() else "L" + seg.translate(_LABEL_DIGITS)
    return out


def _spelled(v: Version) -> bool:
    """Whether *v*'s Debian version keeps its release as published: final and post
    releases (and their locals) do; pre and dev releases take it stripped (see
    `deb_upstream_version`)."""
    return v.pre is None and (v.dev is None or v.post is not None)


def _tail(v: Version) -> str:
    """Everything of the Debian upstream version after the release."""
    out = ""
    if v.pre is not None:
        out += f"~{v.pre[0]}{v.pre[1]}"
    if v.post is not None:
        out += f"+post{v.post}"
    if v.dev is not None:
        out += f"~~dev{v.dev}" if v.pre is None and v.post is None else f"~dev{v.dev}"
    return out + _local_suffix(v.local)


def deb_upstream_version(v: Version) -> str:
    """PEP 440 version -> Debian upstream_version (Policy 5.6.12) with the same order.

    Scheme (the epoch is not part of this string; see `deb_version`)::

        release   as published for final and post releases 1.16.0        -> 1.16.0
                  trailing zeros stripped for pre and dev  1.0.0rc1      -> 1~rc1
        pre       ~a1 ~b1 ~rc1                           1.0rc1        -> 1~rc1
        post      +post1                                 1.0.post1     -> 1.0+post1
        dev       ~dev1, but ~~dev1 on a plain release   1.0a1.dev1    -> 1~a1~dev1
                                                         1.0.dev1      -> 1~~dev1
        local     + then per segment N<int> or L<label>  1.0+ubuntu.1  -> 1.0+LubuntuN1
                  (label digits 0-9 become Q-Z)

    dpkg sorts ``~`` before the end of a string, the end before letters, letters (ASCII)
    before ``+`` before ``.``.  Hence 1~~dev1 < 1~a1~dev1 < 1~a1 < 1~rc1 < 1 < 1+L.. <
    1+N.. < 1+post1~dev1 < 1+post1 < 1.0.1: local versions follow their public version
    and precede its post releases; label segments sort before numeric ones and
    uppercase separators keep PEP 440's segment-wise local order.

    The release keeps its trailing zeros (six 1.16.0 is 1.16.0, as Debian spells it) so that
    Debian's build of the same release is compared on its revision alone.  Pre and dev
    releases are stripped so that the final sorts after them however it is spelled
    (1~rc1 < 1.0).  PEP 440's 1.0 == 1.0.0 cannot be two releases of one project; the one
    order this gets wrong is a project shortening its spelling within one release (1.0.0,
    then 1.0.post1, which dpkg sorts first).  `specifier_relations` admits every spelling.
    """
    release = ".".join(map(str, v.release)) if _spelled(v) else strip_zeros(v.release)
    return release + _tail(v)


def deb_version(
    v: Version, *, distro_epoch: int, suffix: str, project: str | None = None,
    revision: int = 1,
) -> DebVersion:
    """Full Debian version ``[epoch:]upstream-0repackN<suffix>`` (Policy 5.6.12), N the
    *revision* (repack.revision).

    epoch = distro_epoch + the PEP 440 epoch, omitted when 0.  distro_epoch is the epoch the
    target archive's package of the same binary name carries (`archive_epoch`): Debian 12's
    python3-django is 3:3.2.25-..., so a repack build of Django 4.2 must be 3:4.2-... to win
    apt's comparison.  The revision 0repack1<suffix> sorts below an official -1.
    """
    if distro_epoch < 0:
        raise MappingError(f"negative epoch {distro_epoch}", project=project)
    if not _REVISION_SUFFIX.fullmatch(suffix):
        raise MappingError(f"invalid Debian revision suffix {suffix!r}", project=project)
    full = f"{deb_upstream_version(v)}-{deb_revision(revision, project=project)}{suffix}"
    return DebVersion(_with_epoch(distro_epoch + v.epoch, full))


def archive_epoch(name: str, archive: ArchiveIndex) -> int:
    """Epoch of the archive's version of binary package *name* (0 if absent or none)."""
    head, sep, _ = archive.packages.get(name, "").partition(":")
    return int(head) if sep and head.isdigit() else 0


def _with_epoch(epoch: int, text: str) -> str:
    return f"{epoch}:{text}" if epoch else text


# --- relations ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class MappedRequirement:
    """One requirement as Debian relation groups, and whether the target archive meets it."""

    requirement: Requirement
    binary: DebName
    relations: tuple[Alternatives, ...]   # AND of OR groups, all on `binary`
    satisfied: bool


_OP_RANK = {">=": 0, ">": 1, "~=": 2, "==": 3, "!=": 4, "<=": 5, "<": 6}


def _spec_key(spec: Specifier) -> tuple[Version, int]:
    return Version(spec.version.removesuffix(".*")), _OP_RANK.get(spec.operator, 9)


# Relations are exact for a release spelled with up to this many trailing zeros (1.16,
# 1.16.0, 1.16.0.0): dpkg sorts 1.16+post1 between 1.16 and 1.16.0, so a pin admits each
# spelling separately, and no finite bound lies above every spelling of 1.16 yet below
# 1.16.0.0.0.1.
SPELLED_ZEROS = 2


@dataclass(frozen=True, slots=True)
class _Bound:
    text: str       # Debian upstream version (no epoch)
    closed: bool    # the bound itself is admitted: >=/<=, else >>/<<


class _Edge:
    """Where the versions of one spelling of a release begin (START) or end (END)."""


_START, _END = _Edge(), _Edge()
_Piece = tuple[_Bound | None, _Bound | None]        # None: unbounded
_SpellingPiece = tuple[_Bound | _Edge, _Bound | _Edge]


def specifier_relations(
    binary: DebName, specifier: SpecifierSet, *, epoch: int = 0, project: str | None = None
) -> tuple[Alternatives, ...]:
    """PEP 440 specifier set -> Debian relation groups on *binary* (Policy 7.1).

    *epoch* (the dependency's archive epoch) is added to every bound.  The groups admit
    exactly the Debian versions (`deb_version`) of the versions PEP 440 (as implemented by
    packaging) admits, prereleases included, however many trailing zeros (up to
    `SPELLED_ZEROS`) a final or post release is spelled with.  Each specifier is a union of
    intervals of dpkg's order, written as groups: the first lower bound, one ``upper |
    lower`` group per gap, the last upper bound.  With V a specifier version, s its release
    without trailing zeros, s_k = s with k zeros (k = 0..2) and m_k(V) = V spelled s_k::

        >=V    (>= s) on a final V; per spelling [m_k(V), end of s_k] on a post release
        <V     (<< s~~) on a final V: V's own pre-releases excluded, <4 -> (<< 4~~); below
               m_k(V)~~ (m_k(V) if V is a dev release) per spelling on a post release
        <=V    per spelling up to m_k(V)+post~: V and its local versions, not its posts
        >V     (>> s_2.~) on a final V, past every spelling's post releases; past
               m_k(V)+post~ per spelling on a post or dev release
        ==V    per spelling [m_k(V), m_k(V)+post~): 1.16-1, 1.16.0-4 and 1.16.0+dfsg-1
               meet six==1.16, 1.16+post1 does not; with a local label the upper bound
               is m_k(V)A (that exact local only)
        !=V    the complement of ==V: one ``(<< m_k(V) | >> m_k(V)+post~)`` per spelling
        ==X.*  (>= s(X)~~), (<< s(X')~~) with X' = X with its last part + 1; != the OR
        ~=V    >=V's intervals, the last one closed by ==X.*'s upper bound, X = V's
               release without its last part
        ===    MappingError

    A pre or dev release V has one spelling (s), so its intervals are single.  The end of
    spelling s_k is s_k.~, the start of s_(k+1) is s_(k+1): nothing of repack's lies between
    them, so adjacent intervals merge (>=1.0 stays (>= 1)).
    """
    for spec in specifier:
        if spec.operator == "===":
            raise MappingError(
                f"arbitrary equality {str(spec)!r} cannot be mapped to a Debian relation",
                project=project,
            )
    groups: list[Alternatives] = []
    for spec in sorted(specifier, key=_spec_key):  # lower bounds first, deterministic
        for group in _spec_groups(binary, spec, epoch):
            if group not in groups:
                groups.append(group)
    if not groups:
        groups.append((Relation(name=binary),))
    return tuple(groups)


def _spec_groups(binary: DebName, spec: Specifier, epoch: int) -> list[Alternatives]:
    """One specifier's intervals as AND-of-OR relation groups."""
    op, text = spec.operator, spec.version
    v = Version(text.removesuffix(".*"))

    def rel(bound: _Bound, lower: bool) -> Relation:
        dop = (">=" if bound.closed else ">>") if lower else ("<=" if bound.closed else "<<")
        return Relation(name=binary, op=dop,
                        version=DebVersion(_with_epoch(epoch + v.epoch, bound.text)))

    intervals = _intervals(op, text, v)
    groups: list[Alternatives] = []
    first, last = intervals[0][0], intervals[-1][1]
    if isinstance(first, _Bound):
        groups.append((rel(first, True),))
    for (_, hi), (lo, _) in itertools.pairwise(intervals):
        assert isinstance(hi, _Bound) and isinstance(lo, _Bound)
        groups.append((rel(hi, False), rel(lo, True)))
    if isinstance(last, _Bound):
        groups.append((rel(last, False),))
    return groups


def _intervals(op: str, text: str, v: Version) -> list[_Piece]:
    """The specifier's admitted Debian upstream versions as sorted disjoint intervals."""
    if text.endswith(".*") or op == "~=":
        prefix = v.release if op != "~=" else v.release[:-1]
        lo = _Bound(strip_zeros(prefix) + "~~", True)
        hi = _Bound(strip_zeros(prefix[:-1] + (prefix[-1] + 1,)) + "~~", False)
        if op == "==":
            return [(lo, hi)]
        if op == "!=":
            return [(None, _Bound(lo.text, False)), (_Bound(hi.text, True), None)]
        *rest, (at_least, _) = _intervals(">=", str(v), v)
        return [*rest, (at_least, hi)]
    zeros = SPELLED_ZEROS if _spelled(v) else 0
    base = strip_zeros(v.release)
    out: list[_Piece] = []
    open_end = -1   # the spelling whose END the last interval reaches, if any
    for k in range(zeros + 1):
        spelling = base + ".0" * k
        start = None if k == 0 else _Bound(spelling, True)
        end = None if k == zeros else _Bound(spelling + ".~", False)
        for low, high in _spelling_pieces(op, v, spelling + _tail(v), k=k, zeros=zeros):
            upper = end if isinstance(high, _Edge) else high
            lower = start if isinstance(low, _Edge) else low
            if lower == start and open_end == k - 1 and out:
                out[-1] = (out[-1][0], upper)
            else:
                out.append((lower, upper))
            open_end = k if isinstance(high, _Edge) else -1
    return out


def _spelling_pieces(op: str, v: Version, m: str, *, k: int, zeros: int
                     ) -> list[_SpellingPiece]:
    """The intervals *op* V admits among the versions of V's release spelled with k
    trailing zeros, m being V so spelled (START and END: that spelling's first and last
    version; the pre-releases sort before the first spelling, beyond the last zeros)."""
    final = v.pre is None and v.post is None and v.dev is None
    if op == ">=":
        return [(_Bound(m, True), _END)]
    if op == ">":
        if v.post is not None or v.dev is not None:
            return [(_Bound(m + "+post~", False), _END)]
        return [(_Bound(m + ".~", False), _END)] if k == zeros else []
    if op == "<":
        if final and k > 0:
            return []   # every spelling of a final V is above its pre-releases
        return [(_START, _Bound(m if v.is_prerelease else m + "~~", False))]
    if op == "<=":
        return [(_START, _Bound(m + "+post~", False))]
    upper = m + ("A" if v.local else "+post~")
    if op == "==":
        return [(_Bound(m, True), _Bound(upper, False))]
    if op == "!=":
        return [(_START, _Bound(m, False)), (_Bound(upper, False), _END)]
    raise AssertionError(f"unknown operator {op!r}")  # pragma: no cover


def _archive_upstream(version: str) -> Version | None:
    """Archive version -> PEP 440, leniently: drop epoch, revision, +dfsg/+ds/~ds tails."""
    up = version.partition(":")[2] if ":" in version else version
    up = up.rsplit("-", 1)[0].split("+", 1)[0]
    up = re.sub(r"~(?=(?:a|b|c|rc|alpha|beta|pre|preview|dev)\d*(?:$|[.~]))", "", up)
    try:
        return Version(up.split("~", 1)[0])
    except InvalidVersion:
        return None


# Policy 7.1's operators; "<" and ">" are the obsolete spellings of "<=" and ">=".
_SATISFIED = {"<<": lambda c: c < 0, "<=": lambda c: c <= 0, "<": lambda c: c <= 0,
              "=": lambda c: c == 0, ">=": lambda c: c >= 0, ">": lambda c: c >= 0,
              ">>": lambda c: c > 0}


def satisfies(version: str, op: str, wanted: str) -> bool:
    """Whether a package of Debian *version* meets the relation ``(op wanted)`` (dpkg's
    algorithm, via python-debian); an empty *op* is unversioned.  An unknown operator (an
    architecture qualifier such as ":any", `repack.container.images.Atom`) is not met."""
    if not op:
        return True
    check = _SATISFIED.get(op)
    return check is not None and check(version_compare(version, wanted))


def _deb_accepts(version: str, groups: tuple[Alternatives, ...]) -> bool:
    """Whether a Debian *version* meets every group."""
    return all(any(r.op is None or r.version is None or satisfies(version, r.op, r.version)
                   for r in group) for group in groups)


def map_requirement(
    req: Requirement,
    target: Target,
    archive: ArchiveIndex,
    *,
    project: str | None = None,
    build: bool = False,
    names: Mapping[str, str] | None = None,
) -> MappedRequirement:
    """Debian relation groups for one requirement (marker not evaluated here).

    satisfied: the archive's package version, parsed leniently (epoch, revision and
    +dfsg/+ds/~ tails dropped; 4.0~rc1 read as 4.0rc1), is in the specifier (prereleases
    admitted) and its Debian version meets the mapped relations.  An unmapped package, an
    unparseable version or a direct URL reference is never satisfied.  Extras of the
    dependency (foo[bar]) are not expressible and are ignored.  With build=True,
    setuptools maps to python3-setuptools instead of dh-python's python3-pkg-resources.

    *names* (PEP 503 name -> package name, the ``[packages.<name>] name`` settings) wins
    for the projects it names: repack builds them under that name.  Otherwise the dist map
    says which package is the dependency; ``<prefix><name>`` is used only when the archive
    does not have it as somebody else's package: a runtime requirement on such a name is
    refused (python3-apt would be satisfied by Debian's python-apt), a build requirement is
    merely not satisfied (it then comes from the index as a wheel).  A versioned requirement
    on a project of a bundle (`bundle_of`: azure-core>=1.30, python3-azure 20221208) names
    the project's own ``<prefix><name>``, which the archive lacks: the bundle's version says
    nothing of the project's; an unversioned one is met by the bundle.
    """
    if any(s.operator == "===" for s in req.specifier):
        raise MappingError(
            f"requirement {str(req)!r} uses arbitrary equality (===), which cannot be mapped "
            f"to {target.name} package relations",
            project=project,
        )
    name = canonicalize_name(req.name)
    chosen = (names or {}).get(name)
    foreign = False
    if build and name in _BUILD_NAME_OVERRIDES:
        binary = DebName(_BUILD_NAME_OVERRIDES[name])
    elif chosen is not None and not build:
        binary = own_package_name(name, target, archive, chosen=chosen, project=project)
    else:
        binary = deb_package_name(name, target, archive, project=project)
        if req.specifier and bundle_of(name, archive) is not None:
            # a bundle's version says nothing of this project's: the project's own package
            binary = DebName(f"{target.name_prefix}{name}")
        foreign = archive.dist_map.get(name) != binary and binary in archive.packages
        if foreign and not build:
            raise MappingError(
                f"requirement {str(req)!r}: {_taken(binary, target, archive, name)}, so "
                f"a relation on {binary} would be met by the wrong package", project=project,
                hint=_name_hint(name, target, archive))
    epoch = archive_epoch(binary, archive)
    try:
        relations = specifier_relations(binary, req.specifier, epoch=epoch, project=project)
    except InvalidVersion as exc:
        raise MappingError(f"requirement {str(req)!r}: {exc}", project=project) from exc
    have = None if foreign else archive.packages.get(binary)
    satisfied = False
    if have is not None and req.url is None:
        if not req.specifier:
            satisfied = True
        else:
            parsed = _archive_upstream(have)
            satisfied = (
                parsed is not None
                and req.specifier.contains(parsed, prereleases=True)
                and _deb_accepts(have, relations)
            )
    return MappedRequirement(
        requirement=req, binary=binary, relations=relations, satisfied=satisfied
    )


def compiled_on_index(mapped: Sequence[MappedRequirement],
                      archive: ArchiveIndex) -> set[Requirement]:
    """The build requirements of *mapped* that the archive satisfies with a compiled package
    built against another that the build takes from the index (ArchiveIndex.compiled_on):
    those come from the index too.  Debian 12's python3-scipy is built against its numpy
    1.24; beside the index's numpy 2 that scikit-learn's `numpy>=2` brings, it fails to
    import ("numpy.dtype size changed"), and Cython, importing Debian's pythran, with it.
    Taken from the index, a package brings in turn what is compiled on it."""
    from_index = {m.binary for m in mapped if not m.satisfied}
    coupled: set[Requirement] = set()
    while more := [m for m in mapped if m.satisfied and m.requirement not in coupled
                   and from_index.intersection(archive.compiled_on.get(m.binary, ()))]:
        coupled.update(m.requirement for m in more)
        from_index.update(m.binary for m in more)
    return coupled


def python_relation(
    requires_python: SpecifierSet | None, target: Target, *, project: str | None = None
) -> tuple[Alternatives, ...]:
    """Requires-Python as relations on the ``python3`` interpreter package.

    Raises MappingError if the target's Python (python_full_version) is not admitted.
    """
    if requires_python is None or not requires_python:
        return ((Relation(name=_PYTHON),),)
    check_requires_python(requires_python, target, project=project)
    return specifier_relations(_PYTHON, requires_python, project=project)


# --- markers and the whole spec ----------------------------------------------------------

def _add(groups: list[Alternatives], new: tuple[Alternatives, ...]) -> None:
    groups.extend(g for g in new if g not in groups)


# lintian's field-too-long: a binary package's field above 5,000 characters is an error.
FIELD_LIMIT = 5000


def _unversioned(groups: tuple[Alternatives, ...]) -> tuple[Alternatives, ...]:
    """The packages of relation groups, without versions: what Suggests says.  apt does not
    act on Suggests, so a version there only informs, and extras pin versions freely (jedi's
    `docs` extra pins 25 projects with `==`, each three alternatives long, 6,600 characters
    in all: lintian's field-too-long); Debian's own packages suggest plain names."""
    return tuple(dict.fromkeys((Relation(name=group[0].name),) for group in groups if group))


def _within_field_limit(suggests: list[Alternatives], left_out: list[str],
                        ) -> tuple[list[Alternatives], list[str]]:
    """The Suggests that fit within FIELD_LIMIT characters, in order; the rest said in
    left_out (an `all` extra can name hundreds of projects)."""
    kept: list[Alternatives] = []
    length = 0
    for group in suggests:
        text = " | ".join(str(r) for r in group)
        length += len(text) + (2 if kept else 0)
        if length > FIELD_LIMIT - 100:      # room for the field name and line folding
            rest = len(suggests) - len(kept)
            why = (f"{rest} extras' requirement(s), from {text} on, left out of Suggests: "
                   f"more than {FIELD_LIMIT} characters (lintian: field-too-long)")
            return kept, [*left_out, why]
        kept.append(group)
    return kept, left_out


def make_deb_spec(
    project: Project,
    *,
    source_url: str,
    target: Target,
    archive: ArchiveIndex,
    maintainer: str,
    date: str,
    provenance: Provenance | None = None,
    names: Mapping[str, str] | None = None,
    dev_packages: Sequence[str] = (),
) -> DebSpec:
    """Fill every DebSpec field for *project* on *target*.

    Depends: the python3 relation from Requires-Python, then Requires-Dist whose markers
    hold on the target with extra="" (Policy 7.2).  Requirements active only for one of
    provides_extra go to Suggests, never Depends; one that cannot be mapped (its name is
    another project's package in the archive, as joserfc's `pycryptodome; extra == "drafts"`
    on Debian 12) is left out, said in left_out: a Suggests is a hint apt does not act on,
    and a wrong or missing hint should not stop the build of a package that works without it
    (a Depends that cannot be mapped still refuses the build).  Build-Depends: the dh-python
    toolchain plus each active build-system requirement the archive satisfies, plus
    *dev_packages* (the C libraries' -dev packages repack.clibs chose).  unsatisfied lists the
    PEP 508 text of every active runtime or build requirement the archive does not satisfy;
    runtime ones still appear in Depends.
    """
    pname = str(project.name)
    binary = own_package_name(project.name, target, archive, project=pname,
                              chosen=(names or {}).get(pname))
    source = deb_source_name(project.name, target, archive, project=pname, binary=binary)
    epoch = archive_epoch(binary, archive)
    version = deb_version(
        project.version, distro_epoch=epoch, suffix=target.version_suffix, project=pname,
        revision=provenance.revision if provenance is not None else 1,
    )
    depends = list(python_relation(project.requires_python, target, project=pname))
    suggests: list[Alternatives] = []
    left_out: list[str] = []
    unsatisfied: list[str] = []
    for req in project.requires_dist:
        if canonicalize_name(req.name) == project.name:
            continue  # self-references (foo[all] -> foo[a,b]) add nothing
        if active(req, target, "", pname):
            mapped = map_requirement(req, target, archive, project=pname, names=names)
            _add(depends, mapped.relations)
            if not mapped.satisfied and str(req) not in unsatisfied:
                unsatisfied.append(str(req))
        elif any(active(req, target, x, pname) for x in project.provides_extra):
            try:
                _add(suggests, _unversioned(map_requirement(req, target, archive, project=pname,
                                                            names=names).relations))
            except MappingError as exc:     # an optional relation: see below
                left_out.append(f"{exc.args[0]}; left out of Suggests, as it only names an "
                                "extra's requirement")
    suggests, left_out = _within_field_limit(suggests, left_out)
    python_all = "python3-all-dev" if project.has_native_code else "python3-all"
    build: list[Alternatives] = [
        (Relation(name=DebName("debhelper-compat"), op="=", version=DebVersion("13")),),
        (Relation(name=DebName("dh-sequence-python3")),),
        (Relation(name=DebName(python_all)),),
        (Relation(name=DebName("pybuild-plugin-pyproject")),),
    ]
    build_mapped = [map_requirement(req, target, archive, project=pname, build=True)
                    for req in project.build_requires if active(req, target, "", pname)]
    from_index = compiled_on_index(build_mapped, archive)
    for mapped in build_mapped:
        if mapped.satisfied and mapped.requirement not in from_index:
            _add(build, mapped.relations)
            if mapped.binary == NUMPY and project.has_native_code:
                _add(build, ((Relation(name=DebName("dh-sequence-numpy3")),),))
        elif not mapped.satisfied and str(mapped.requirement) not in unsatisfied:
            unsatisfied.append(str(mapped.requirement))
    _add(build, tuple((Relation(name=DebName(d)),) for d in dev_packages))
    author = (project.author or project.author_email or "").strip()
    copyright_holder = author or f"{project.display_name} authors"
    return DebSpec(
        target_id=target.id,
        source_name=source,
        binary_name=binary,
        upstream_version=str(project.version),
        version=version,
        epoch=epoch + project.version.epoch,
        architecture="any" if project.has_native_code else "all",
        depends=tuple(depends),
        recommends=(),
        suggests=tuple(suggests),
        build_depends=tuple(build),
        provides=(),
        unsatisfied=tuple(unsatisfied),
        left_out=tuple(left_out),
        maintainer=maintainer,
        summary=project.summary,
        description=project.description,
        homepage=homepage(project),
        license=license_field(project),
        license_text="",
        copyright=copyright_holder,
        upstream_name=project.display_name,
        source_url=source_url,
        changelog=ChangelogEntry(
            version=version,
            distribution=target.distribution,
            urgency="high" if provenance is not None and provenance.fixes else "medium",
            changes=(
                f"Repackaged {project.name} {project.version} from the upstream sdist by repack.",
                *changelog_lines(provenance),
            ),
            maintainer=maintainer,
            date=date,
        ),
        provenance=provenance,
    )


def archive_note(project: str, upstream: str, spec: DebSpec, target: Target,
                 archive: ArchiveIndex) -> str | None:
    """The line that says the target's archive already has this upstream version of the
    package (Debian 12's python3-six 1.16.0-4 for six 1.16.0), and whose build apt then
    installs: 0repackN sorts below the distribution's own revisions on purpose."""
    theirs = archive.packages.get(spec.binary_name)
    if theirs is None:
        return None
    same = _archive_upstream(theirs)
    try:
        if same is None or same != Version(upstream):
            return None
    except InvalidVersion:
        return None
    higher = "Debian's" if version_compare(theirs, spec.version) > 0 else "repack's"
    return (f"{project}: {target.name} already ships {spec.binary_name} {theirs}, the same "
            f"upstream version {upstream}; apt installs the higher of {spec.version} and "
            f"{theirs}: {higher}")


def application_note(project: str, spec: DebSpec, target: Target,
                     archive: ArchiveIndex) -> str | None:
    """The line that says a project is built under the name of the application package the
    dist map gives it (Debian's `black`, not python3-black), which its build replaces."""
    if (archive.dist_map.get(canonicalize_name(project)) != spec.binary_name
            or spec.binary_name.startswith(target.name_prefix)):
        return None
    return (f"{project}: dh-python maps it to {target.name}'s application package "
            f"{spec.binary_name} (not a {target.name_prefix}* name): building "
            f"{spec.binary_name}, which replaces it")


def bundle_note(project: str, spec: DebSpec, target: Target, archive: ArchiveIndex) -> str | None:
    """The line that says why a project the dist map gives to a bundle (`BUNDLE_MIN`) is
    built under a name of its own, unless its name was chosen."""
    bundle = bundle_of(canonicalize_name(project), archive)
    if bundle is None or spec.binary_name == bundle[0]:
        return None
    return (f"{project}: dh-python maps {len(bundle[1])} projects to {target.name}'s "
            f"{bundle[0]} ({_shown(bundle[1])}), so it is not {project}'s own package: "
            f"building {spec.binary_name}, which may not replace that package's files")
