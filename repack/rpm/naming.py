"""Map a Project to an RpmSpec for one rpm-family Target.

Pure functions: no I/O, no subprocess.  The RPM counterpart of `repack.deb.naming`: binary
package ``python3-<name>``; PEP 440 versions as RPM [Epoch:]Version-Release that keep PEP 440
order under rpm's own comparison (rpmvercmp); Requires-Dist as ``python3dist(<name>)``
dependencies, Fedora's spelling (python-rpm-generators' pythondistdeps.py), with the
specifiers kept exactly for the versions this module produces.  Marker evaluation, the
Requires-Python check, homepage and license choice are shared with `repack.deb.naming`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from packaging.requirements import Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from repack.errors import MappingError
from repack.model import Project, Provenance, RpmChangelogEntry, RpmSpec, Target
from repack.pep440 import active, check_requires_python, homepage, license_field, strip_zeros
from repack.revision import rpm_release
from repack.trust.provenance import changelog_lines

if TYPE_CHECKING:  # a type only: publishing names rpms without the C-library tables
    from repack.clibs import Chosen

__all__ = [
    "SYSTEM_NAMES", "RpmEVR", "devel_requires", "dist_name", "has_caret", "make_rpm_spec",
    "rpm_build_requires", "rpm_name", "rpm_package_version", "rpm_provides", "rpm_requirement",
    "rpm_requires", "rpm_suggests", "rpm_upstream_version", "rpm_version", "specifier_dependency",
]

RELEASE = rpm_release(1)       # revision 1's Release, before the target's suffix
_RELEASE_SUFFIX = re.compile(r"[A-Za-z0-9._+~]*")   # rpm: no '-' in a release
_RPM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")    # console script names
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")    # sdist names: "foo-1!2.0.tar.gz"
_ARCHIVE_SUFFIX = re.compile(r"\.(?:tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar|zip)$",
                             re.IGNORECASE)
# Above every post release of V and below V's next release: rpm sorts a numeric segment
# after an alpha one ("^0" > "^post9") and anything after "^" below any further "."-part.
_AFTER_POSTS = "^0"
_PKGCONFIG = re.compile(r"[A-Za-z0-9_.+-]{1,100}")      # a .pc name in pkgconfig(NAME)
_DEFAULT_BUILD_REQUIRES = ("python3-devel", "pyproject-rpm-macros", "python3-pip",
                           "python3-wheel")


class RpmEVR(NamedTuple):
    """Epoch, Version, Release of one package; str() gives rpm's ``[E:]V-R``."""

    epoch: int
    version: str
    release: str

    def __str__(self) -> str:
        vr = f"{self.version}-{self.release}"
        return f"{self.epoch}:{vr}" if self.epoch else vr


# --- names -------------------------------------------------------------------------------

# Binary packages of RHEL 9 / Fedora that ``python3-<PyPI name>`` would hit although they are
# not that PyPI project: the interpreter's own subpackages and the system's bindings.  No RPM
# repository metadata is reachable where repack runs (the rpm builders are Debian systems), so
# this short list stands in for the archive check `repack.deb.naming.own_package_name` makes on
# Debian; names outside it are not checked against the distribution.
SYSTEM_NAMES: dict[str, str] = {
    **dict.fromkeys(("python3", "python3-libs", "python3-devel", "python3-tkinter",
                     "python3-test", "python3-idle", "python3-debug"), "the python3 interpreter"),
    "python3-rpm": "rpm", "python3-dnf": "dnf", "python3-libdnf": "libdnf",
    "python3-hawkey": "libdnf", "python3-libcomps": "libcomps",
    "python3-systemd": "systemd-python", "python3-dbus": "dbus-python",
    "python3-gobject": "pygobject", "python3-libselinux": "libselinux",
    "python3-libsemanage": "libsemanage", "python3-policycoreutils": "policycoreutils",
    "python3-audit": "audit", "python3-firewall": "firewalld", "python3-gpg": "gpgme",
    "python3-libxml2": "libxml2", "python3-libvirt": "libvirt-python",
    "python3-perf": "the kernel's perf",
}


def rpm_name(name: NormalizedName, target: Target, *, chosen: str | None = None) -> str:
    """Binary package name: *chosen* (the project's configured name), else
    ``target.name_prefix + name`` ("python3-django"); a name of `SYSTEM_NAMES` is refused
    (exit 7): installing it would replace a package of the distribution itself."""
    key = canonicalize_name(name)
    out = chosen if chosen is not None else f"{target.name_prefix}{key}"
    if not _RPM_NAME.fullmatch(out):
        raise MappingError(f"{out!r} is not a valid RPM package name", project=str(name))
    owner = SYSTEM_NAMES.get(out)
    if owner is not None:
        configured = "the configured package name " if chosen is not None else ""
        raise MappingError(
            f"{configured}{out} is taken in {target.name}: the distribution's package of "
            f"{owner}, not of {key}; repack will not replace it", project=str(name),
            hint=f"choose a name for its package in repack.toml: [packages.{key}] "
                 f'name = "{target.name_prefix}{key}-pypi"')
    return out


def dist_name(name: str, python_version: str | None = None) -> str:
    """Fedora's virtual provide: ``python3dist(x)`` or ``python3.9dist(x)``.

    x is the PEP 503 normalised name (pythondistdeps.py --normalized-names-format pep503,
    Fedora's default since Fedora 33): lowercase, runs of ``-_.`` as one ``-``.
    """
    return f"python{python_version or '3'}dist({canonicalize_name(name)})"


# --- versions ----------------------------------------------------------------------------

def has_caret(target: Target) -> bool:
    """Whether the target's rpm sorts ``^`` (rpm >= 4.15); unknown (empty) counts as yes."""
    text = target.rpm_version
    try:
        return not text or Version(text) >= Version("4.15")
    except InvalidVersion:
        return True


def rpm_upstream_version(v: Version, *, caret: bool = True, project: str | None = None) -> str:
    """PEP 440 version -> RPM Version with the same order (no epoch, no release).

    Scheme, a refinement of Fedora's pythondistdeps.py (identical for plain, a/b/rc, .devN
    and .postN versions, so Fedora's own requirements match these provides)::

        release   trailing zeros stripped: 1.0.0 -> 1, 1.2.0 -> 1.2 (PEP 440 calls them equal)
        pre       ~a1 ~b1 ~rc1                          1.0rc1         -> 1~rc1
        post      ^post1                                1.0.post1      -> 1^post1
        dev       ~~dev1 on a plain release, else ~dev1 1.0.dev1       -> 1~~dev1
                                                        1.0a1.dev1     -> 1~a1~dev1
                                                        1.0.post1.dev2 -> 1^post1~dev2

    rpmvercmp sorts ``~`` before the end of a string, ``^`` after the end but before any
    further part, a number after letters.  Hence 1~~dev1 < 1~a1~dev1 < 1~a1 < 1~a1^post1 <
    1~rc1 < 1 < 1^post1~dev1 < 1^post1 < 1.0.1.

    Local versions (1.0+ubuntu1) are refused: PyPI does not accept them, and Fedora writes
    them ``1+ubuntu1``, which rpm sorts after the post releases, against PEP 440.  Without
    caret support (rpm < 4.15) post releases are refused.
    """
    if v.local is not None:
        raise MappingError(
            f"local version {v} cannot be mapped to an RPM version", project=project,
            hint="local versions (+label) are not accepted by PyPI; publish a public version",
        )
    out = strip_zeros(v.release)
    if v.pre is not None:
        out += f"~{v.pre[0]}{v.pre[1]}"
    if v.post is not None:
        out += f"^post{v.post}"
    if v.dev is not None:
        out += f"~~dev{v.dev}" if v.pre is None and v.post is None else f"~dev{v.dev}"
    return _check_caret(out, caret, project)


def rpm_package_version(v: Version, *, caret: bool = True, project: str | None = None) -> str:
    """The package's own Version: `rpm_upstream_version` with the release as published,
    trailing zeros kept (six 1.16.0 -> ``1.16.0``, as Fedora's python3-six spells it), for
    final and post releases; pre and dev releases keep the stripped release (1.0.0rc1 ->
    ``1~rc1``), so that the final release sorts after them however it is spelled.

    Only dnf's upgrade order reads it: dependencies are on the ``python3dist()``
    provides, which keep `rpm_upstream_version`.  PEP 440's 1.0 == 1.0.0 cannot be two
    releases of one project; the one order this gets wrong is a project shortening its
    spelling within one release (1.0.0, then 1.0.post1).
    """
    text = rpm_upstream_version(v, caret=caret, project=project)
    if v.pre is not None or (v.dev is not None and v.post is None):
        return text
    return ".".join(map(str, v.release)) + text[len(strip_zeros(v.release)):]


def _check_caret(text: str, caret: bool, project: str | None) -> str:
    if not caret and "^" in text:
        raise MappingError(
            f"RPM version {text!r} needs the '^' operator of rpm >= 4.15", project=project,
            hint="the target's rpm is older than 4.15",
        )
    return text


def rpm_version(
    v: Version, *, suffix: str = "", caret: bool = True, project: str | None = None,
    revision: int = 1,
) -> RpmEVR:
    """(Epoch, Version, Release) for our own build of *v*.

    Epoch is the PEP 440 epoch; Version is `rpm_package_version`; Release is ``0.repackN``
    (N the *revision*, repack.revision) plus the target's suffix (".el9", ".fc42"): ``0.``
    sorts below a distribution's own ``1.el9`` of the same version, so the distribution's
    build wins, and ``.el9 < .fc42`` keeps nothing odd between targets.
    """
    if not _RELEASE_SUFFIX.fullmatch(suffix):
        raise MappingError(f"invalid RPM release suffix {suffix!r}", project=project)
    return RpmEVR(v.epoch, rpm_package_version(v, caret=caret, project=project),
                  rpm_release(revision, project=project) + suffix)


def _evr(v: Version, text: str) -> str:
    return f"{v.epoch}:{text}" if v.epoch else text


# --- relations ---------------------------------------------------------------------------

_OP_RANK = {">=": 0, ">": 1, "~=": 2, "==": 3, "!=": 4, "<=": 5, "<": 6}


def _spec_key(spec: Specifier) -> tuple[Version, int]:
    return Version(spec.version.removesuffix(".*")), _OP_RANK.get(spec.operator, 9)


def _clause(dep: str, spec: Specifier, caret: bool, project: str | None) -> str:
    """One specifier as one rpm dependency (simple, or a rich ``or``/``with``)."""
    op, text = spec.operator, spec.version

    def at(rop: str, version: str, v: Version) -> str:
        return f"{dep} {rop} {_evr(v, _check_caret(version, caret, project))}"

    if text.endswith(".*") or op == "~=":
        v = Version(text.removesuffix(".*"))
        if v.local is not None:
            raise MappingError(f"local version in {spec}", project=project)
        prefix = v.release if op != "~=" else v.release[:-1]
        lo = strip_zeros(prefix) + "~~"
        hi = strip_zeros(prefix[:-1] + (prefix[-1] + 1,)) + "~~"
        if op == "!=":
            return f"({at('<', lo, v)} or {at('>=', hi, v)})"
        low = lo if op == "==" else rpm_upstream_version(v, caret=caret, project=project)
        return f"({at('>=', low, v)} with {at('<', hi, v)})"
    v = Version(text)
    m = rpm_upstream_version(v, caret=caret, project=project)
    if op == ">=":
        return at(">=", m, v)
    if op == "<=":
        return at("<=", m, v)
    if op == "<":  # <V excludes V's own pre-releases unless V is one (1.0.dev0 and up)
        return at("<", m if v.is_prerelease else m + "~~", v)
    if op == ">":  # >V excludes V's post releases unless V is one
        return at(">", m if v.is_postrelease or v.dev is not None else m + _AFTER_POSTS, v)
    if op == "==":
        return at("=", m, v)
    if op == "!=":
        return f"({at('<', m, v)} or {at('>', m, v)})"
    raise AssertionError(f"unknown operator {op!r}")  # pragma: no cover


def specifier_dependency(
    dep: str, specifier: SpecifierSet, *, caret: bool = True, project: str | None = None
) -> str:
    """A PEP 440 specifier set on *dep* ("python3dist(x)") as one rpm dependency string.

    With V a specifier version and m(V) = `rpm_upstream_version` (epoch prefixed when
    non-zero), the dependency admits exactly the provided versions m(C) whose C the
    specifier admits (prereleases included; local versions do not exist here)::

        >=V    dep >= m(V)                  <=V    dep <= m(V)
        ==V    dep = m(V)                   !=V    (dep < m(V) or dep > m(V))
        <V     dep < m(V)~~, past V's own pre-releases (<4 -> < 4~~); dep < m(V) if V is a
               pre-release
        >V     dep > m(V)^0, past V's post releases; dep > m(V) if V is a post or dev release
        ==X.*  (dep >= m(X)~~ with dep < m(X')~~), X' = X with its last part + 1
        !=X.*  (dep < m(X)~~ or dep >= m(X')~~)
        ~=V    (dep >= m(V) with dep < m(X')~~), X = V's release without its last part
        ===    MappingError

    Several specifiers are joined with ``with`` (one package must meet all), lower bounds
    first: ``(python3dist(asgiref) >= 3.6 with python3dist(asgiref) < 4~~)``.
    """
    if any(s.operator == "===" for s in specifier):
        raise MappingError(
            f"arbitrary equality in {str(specifier)!r} cannot be mapped to an RPM dependency",
            project=project,
        )
    clauses: list[str] = []
    try:
        for spec in sorted(specifier, key=_spec_key):
            clause = _clause(dep, spec, caret, project)
            if clause not in clauses:
                clauses.append(clause)
    except InvalidVersion as exc:
        raise MappingError(f"{dep} {specifier}: {exc}", project=project) from exc
    if not clauses:
        return dep
    return clauses[0] if len(clauses) == 1 else "(" + " with ".join(clauses) + ")"


def rpm_requirement(
    req: Requirement, *, caret: bool = True, project: str | None = None
) -> str:
    """One Requires-Dist (marker not evaluated here) as a ``python3dist(...)`` dependency.

    Extras of the dependency (foo[bar]) are dropped: repack builds no extras subpackages
    (Fedora's ``python3dist(foo[bar])``).  A direct URL reference keeps only the name.
    """
    dep = dist_name(req.name)
    try:
        return specifier_dependency(dep, req.specifier, caret=caret, project=project)
    except MappingError as exc:
        raise MappingError(f"requirement {str(req)!r}: {exc.args[0]}", project=project,
                           hint=exc.hint) from exc


def _own(req: Requirement, project: Project) -> bool:
    return canonicalize_name(req.name) == project.name  # foo[all] -> foo[a,b] adds nothing


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def rpm_requires(project: Project, target: Target) -> tuple[str, ...]:
    """Requires: ``python(abi) = 3.X``, then each Requires-Dist active on the target.

    Markers are evaluated in the target's environment with extra="" (requirements of an
    extra never become Requires).  Requires-Python must admit the target's Python, else
    MappingError; it then says nothing more than ``python(abi)`` does.
    """
    pname = str(project.name)
    check_requires_python(project.requires_python, target, project=pname)
    caret = has_caret(target)
    out = [f"python(abi) = {target.python_version}"]
    for req in project.requires_dist:
        if not _own(req, project) and active(req, target, "", pname):
            out.append(rpm_requirement(req, caret=caret, project=pname))
    return _unique(out)


def rpm_suggests(project: Project, target: Target) -> tuple[str, ...]:
    """Suggests: requirements active only for one of provides_extra (never Requires).

    Suggests, not Recommends: dnf installs Recommends by default, and an extra is by
    definition what the project does not need.
    """
    pname = str(project.name)
    caret = has_caret(target)
    out: list[str] = []
    for req in project.requires_dist:
        if _own(req, project) or active(req, target, "", pname):
            continue
        if any(active(req, target, x, pname) for x in project.provides_extra):
            out.append(rpm_requirement(req, caret=caret, project=pname))
    return _unique(out)


def rpm_provides(project: Project, target: Target) -> tuple[str, ...]:
    """``python3dist(x) = V`` and ``python3.Xdist(x) = V``, as pythondistdeps.py writes them.

    V is `rpm_upstream_version` with the epoch (no release).  ``python3-x = E:V-R`` is
    implicit in the package Name.
    """
    pname = str(project.name)
    v = _evr(project.version, rpm_upstream_version(
        project.version, caret=has_caret(target), project=pname))
    return (f"{dist_name(project.name)} = {v}",
            f"{dist_name(project.name, target.python_version)} = {v}")


def rpm_build_requires(project: Project, target: Target) -> tuple[str, ...]:
    """BuildRequires: the target's base list, gcc for native code (and gcc-c++ for C++
    sources, as Fedora's guidelines ask), then build-system.requires.

    The base list is the Target's ``rpm_build_requires`` when it has one, else Fedora's
    ``python3-devel``, ``pyproject-rpm-macros``, ``python3-pip``, ``python3-wheel``.
    Build requirements keep their specifiers, as ``python3dist(...)``, markers evaluated.
    """
    pname = str(project.name)
    caret = has_caret(target)
    base = tuple(getattr(target, "rpm_build_requires", ()) or _DEFAULT_BUILD_REQUIRES)
    out = [*base, *(("gcc",) if project.has_native_code else ()),
           *(("gcc-c++",) if project.has_native_code and project.has_cplusplus else ())]
    for req in project.build_requires:
        if active(req, target, "", pname):
            out.append(rpm_requirement(req, caret=caret, project=pname))
    return _unique(out)


def devel_requires(chosen: Chosen, target: Target) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The rpm world's BuildRequires for the C libraries repack.clibs chose as the builder's
    Debian -dev packages, and those -dev packages it has no name for.

    A package chosen for a pkg-config name is required as ``pkgconfig(NAME)``: the -devel
    package shipping NAME.pc provides it on Fedora and EL (rpm's pkgconfig dependency
    generator), whatever it is called.  The others go through the target's reviewed
    `devel_packages` table (libyaml-dev -> libyaml-devel)."""
    table = dict(target.devel_packages)
    by_pc: dict[str, list[str]] = {}
    for package, pc in chosen.pkgconfig:
        by_pc.setdefault(package, []).append(pc)
    out: list[str] = []
    unknown: list[str] = []
    for package in chosen.packages:
        if package in by_pc:
            out += [f"pkgconfig({pc})" for pc in by_pc[package] if _PKGCONFIG.fullmatch(pc)]
        elif package in table:
            out.append(table[package])
        else:
            unknown.append(package)
    return _unique(out), tuple(unknown)


# --- the whole spec ----------------------------------------------------------------------

def _source_dir(sdist_filename: str, project: str) -> str:
    """The sdist's top directory as sdists are made: the file name without its suffix."""
    top = _ARCHIVE_SUFFIX.sub("", sdist_filename)
    if top == sdist_filename or not _FILE.fullmatch(top):
        raise MappingError(f"unexpected sdist file name {sdist_filename!r}", project=project)
    return top


def make_rpm_spec(
    project: Project,
    *,
    sdist_filename: str,
    source_url: str,
    target: Target,
    packager: str,
    date: str,
    source_dir: str | None = None,
    provenance: Provenance | None = None,
    chosen_name: str | None = None,
) -> RpmSpec:
    """Fill every RpmSpec field for *project* on the rpm-family *target*.

    sdist_filename is Source0 (the verified sdist, byte for byte); source_dir the directory
    it unpacks to (default: the file name without .tar.gz/.zip); packager "Name <email>";
    date RFC 5322 (the changelog's day).  Text fields stay untrusted here: repack.rpm.render
    escapes them.  chosen_name: the project's configured package name (`rpm_name`).
    """
    pname = str(project.name)
    if target.family != "rpm":
        raise MappingError(f"target {target.id} is not an rpm target", project=pname)
    top = source_dir if source_dir is not None else _source_dir(sdist_filename, pname)
    if not _FILE.fullmatch(top) or not _FILE.fullmatch(sdist_filename):
        raise MappingError(f"unsafe sdist name {sdist_filename!r} / {top!r}", project=pname)
    evr = rpm_version(project.version, suffix=target.version_suffix, caret=has_caret(target),
                      project=pname,
                      revision=provenance.revision if provenance is not None else 1)
    scripts = tuple(dict.fromkeys(project.console_scripts))
    for script in scripts:
        if not _TOKEN.fullmatch(script):
            raise MappingError(f"unsafe console script name {script!r}", project=pname)
    return RpmSpec(
        target_id=target.id,
        name=rpm_name(project.name, target, chosen=chosen_name),
        upstream_name=project.display_name,
        upstream_version=str(project.version),
        epoch=evr.epoch,
        version=evr.version,
        release=evr.release,
        summary=project.summary,
        description=project.description,
        license=license_field(project),
        url=homepage(project),
        source0=sdist_filename,
        source_url=source_url,
        source_dir=top,
        buildarch=None if project.has_native_code else "noarch",
        build_requires=rpm_build_requires(project, target),
        requires=rpm_requires(project, target),
        provides=rpm_provides(project, target),
        suggests=rpm_suggests(project, target),
        console_scripts=scripts,
        python_version=target.python_version,
        packager=packager,
        changelog=RpmChangelogEntry(
            date=date,
            packager=packager,
            evr=str(evr),
            changes=(
                f"Repackaged {project.name} {project.version} from the upstream sdist by repack.",
                *changelog_lines(provenance),
            ),
        ),
        provenance=provenance,
    )
