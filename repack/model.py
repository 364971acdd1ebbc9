"""The frozen records that flow between pipeline stages.

resolve -> Release -> fetch -> Sdist -> unpack + metadata -> Project
        -> naming (+ Target, ArchiveIndex) -> DebSpec -> render -> source tree
        -> build -> Artifact
Strings that passed a check get a NewType so that raw upstream text cannot reach a
template by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, NewType

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

DebName = NewType("DebName", str)
"""A valid Debian package name (Policy 5.6.1)."""

DebVersion = NewType("DebVersion", str)
"""A Debian version string ([epoch:]upstream[-revision]) that keeps PEP 440 order."""

__all__ = [
    "Advisory", "ArchiveIndex", "Artifact", "BuildRequest", "BuildToolRecord", "ChangelogEntry",
    "DebName", "DebSpec", "DebVersion", "NormalizedName", "Project", "Provenance", "Relation",
    "Release", "RpmChangelogEntry", "RpmSpec", "Sdist", "Target",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One distribution release, loaded from repack/targets/<id>.toml."""

    id: str                      # "debian-12"
    family: Literal["deb", "rpm"]
    name: str                    # "Debian 12 (bookworm)"
    codename: str                # "bookworm"
    python_version: str          # "3.11": the interpreter markers and Requires-Python are judged by
    python_full_version: str     # "3.11.2": for python_full_version markers
    site_packages: str           # "/usr/lib/python3/dist-packages"
    platform_machine: str        # "x86_64"
    suites: tuple[str, ...]      # apt sources lines: ("deb http://... bookworm main", ...)
    toolchain: tuple[str, ...]   # packages the builder image carries
    name_prefix: str             # "python3-"
    version_suffix: str          # "~deb12": appended to the Debian revision
    distribution: str            # changelog distribution field ("bookworm"); rpm: %{dist} tag
    # Where the build runs.  Empty strings mean "the target's own archive" (Debian targets).
    registry_image: str = ""     # the distribution's own image when a registry is reachable
    builder: str = ""            # "repack-debian-11-builder": written as the RPM build host
    builder_codename: str = ""   # the Debian suite the builder image is bootstrapped from
    rpm_version: str = ""        # rpm in the builder ("4.16"): what the spec may use
    # OpenPGP key algorithms the target's clients (apt's gpgv, rpm) verify: "rsa>=2048",
    # "ed25519", ...  repack signs for the target only with keys listed here
    # (repack.keys.accepts); the default is what every client verifies.
    signature_algorithms: tuple[str, ...] = ("rsa>=2048",)
    # rpm targets: the rpm world's BuildRequires for the builder's Debian -dev packages that
    # provide no pkg-config name a build asked for (`[devel_packages]` in the toml:
    # "libyaml-dev" = "libyaml-devel"), as (Debian, rpm) pairs; see repack.rpm.naming.
    devel_packages: tuple[tuple[str, str], ...] = ()
    # apt sources lines of another release of the same archive whose Contents index stands in
    # (verified against its own signed Release) when a mirror serves the builder's own
    # Contents files unverifiable, mid-sync (repack.clibs): only names are looked up there,
    # the packages installed are the builder's archive's.  Empty: no stand-in.
    contents_fallback: tuple[str, ...] = ()

    @property
    def bootstrap_codename(self) -> str:
        """The suite mmdebstrap bootstraps for this target's builder and base images."""
        return self.builder_codename or self.codename

    @property
    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker environment of the target's system Python."""
        return {
            "implementation_name": "cpython",
            "implementation_version": self.python_full_version,
            "os_name": "posix",
            "platform_machine": self.platform_machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": self.python_full_version,
            "python_version": self.python_version,
            "sys_platform": "linux",
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildRequest:
    """What the user asked for: a PEP 508 requirement and its sha256 pins (pip's --hash)."""

    requirement: Requirement
    hashes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Release:
    """One sdist of one version of a project, as the index describes it."""

    name: NormalizedName
    version: Version
    filename: str
    url: str
    sha256: str                  # from the index; fetch refuses a file that does not match
    size: int | None
    requires_python: SpecifierSet | None
    yanked: bool
    index_url: str
    signature_url: str | None = None     # detached OpenPGP signature the index announces (gpg-sig)
    provenance_url: str | None = None    # PEP 740 provenance object the index announces
    upload_time: datetime | None = None  # PEP 700, when the index gives it


@dataclass(frozen=True, slots=True, kw_only=True)
class Sdist:
    """A downloaded file whose bytes were checked: an sdist, or a build tool's wheel
    (repack.buildreqs), which go through the same verify stage (repack.trust.accept)."""

    release: Release
    path: Path                   # inside the content-addressed cache
    sha256: str
    # what was checked, e.g. ("tls", "sha256:index", "sha256:pin", "pgp:<FINGERPRINT>",
    # "attestation:github:<owner/repo>/<workflow>")
    verified: tuple[str, ...]
    vulnerabilities: tuple[Advisory, ...] = ()   # known advisories affecting this release
    fixes: tuple[Advisory, ...] = ()             # advisories of the previous release fixed here
    advisories_checked: bool = False             # the index had advisory data for this release
    source_date_epoch: int = 0                   # the build's only date (repack.sourcedate)
    revision: int = 1                            # 0repackN of the packages (repack.revision)
    rebuilt: str | None = None                   # why revision > 1: the changelog says so


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """Core metadata of one sdist.  Every str here is untrusted upstream text."""

    name: NormalizedName         # PEP 503 normalised
    display_name: str            # as the metadata spells it ("Django")
    version: Version
    summary: str
    description: str
    description_content_type: str | None
    license: str | None          # free-text License field
    license_expression: str | None   # SPDX (Metadata 2.4 License-Expression)
    license_files: tuple[str, ...]   # paths relative to the source tree
    author: str | None
    author_email: str | None
    home_page: str | None
    project_urls: tuple[tuple[str, str], ...]   # (label, url)
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None
    provides_extra: tuple[str, ...]
    console_scripts: tuple[str, ...]            # names of console_scripts / gui_scripts
    build_requires: tuple[Requirement, ...]     # [build-system] requires (PEP 518 default)
    build_backend: str | None
    has_native_code: bool        # C/C++/Cython/Rust sources present: Architecture any, not all
    metadata_source: Literal["PKG-INFO", "PEP 517"]
    pep621: bool = False         # pyproject.toml has a [project] table (PEP 621 metadata)
    toml10: bool = False         # pyproject.toml needs TOML 1.0 (a mixed-type array)
    classifiers: bool = False    # pyproject's [project] lists classifiers (hatchling checks them)
    flat_discovery: bool = False  # setuptools would find its packages itself in the tree's top
    has_cplusplus: bool = False  # C++ sources present: rpm BuildRequires gcc-c++ too
    meson_version: SpecifierSet | None = None   # meson.build's project(meson_version: ...)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveIndex:
    """What a target's own archive offers, read from the builder image.

    packages: binary package name -> highest version in the archive (with epoch).
    dist_map: PEP 503 normalised dist name -> Debian binary package (dh-python's
    cpython3_fallback map).
    sources: binary package -> the source package it is built from, for the binaries whose
    source has another name (the others are their own source); empty for an image made
    before repack recorded it, so nothing counts as the same project then (repack.owned).
    protected: binary packages that are Essential or of Priority required or important:
    a base system's, whose files no build takes over.
    needed_by: binary package -> (a package of another source that depends on it, how many
    such packages there are), for the binaries of sources that build a package dh-python's
    map names: Breaks on such a package would make apt remove its dependers too, so no build
    takes its files over (repack.owned), unless it Provides it:
    needed_versions: of those, the ones packages of other sources depend on by name only
    (not through a virtual package it Provides, nor through a package of its own source) ->
    the (operator, version) of every such dependency, ("", "") unversioned.  Empty for an
    image made before repack recorded it: nothing is provided then.
    installed: the builder image's installed packages -> their version, and
    installed_provides: the virtual packages those provide -> the provided versions ("" for
    an unversioned Provides); both empty for an image made before repack recorded them, whose
    build dependencies a container checks instead (repack.deb.build).
    compiled_on: a compiled Python package of the archive (Architecture other than all, named
    by dh-python's map) -> the archive's compiled Python packages it depends on, whose C API
    it may be built against (python3-scipy on python3-numpy): a build that takes one of those
    from the index takes the compiled one from there too (naming.compiled_on_index).
    provided: the virtual package names the archive's packages provide (python3-numpy2-abi0,
    which dh_numpy3 makes a package depend on): a dependency on one is met by the archive
    (repack.check).  Empty for an image made before repack recorded them.
    """

    packages: dict[str, str] = field(default_factory=dict)
    dist_map: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    protected: frozenset[str] = frozenset()
    needed_by: dict[str, tuple[str, int]] = field(default_factory=dict)
    needed_versions: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    installed: dict[str, str] = field(default_factory=dict)
    installed_provides: dict[str, list[str]] = field(default_factory=dict)
    compiled_on: dict[str, list[str]] = field(default_factory=dict)
    provided: frozenset[str] = frozenset()

    def offers(self, name: str) -> bool:
        """Whether a dependency on *name* (unversioned) is met by the archive: a package of
        that name, or one that provides it."""
        return name in self.packages or name in self.provided

    def source_of(self, package: str) -> str:
        """The source package *package* is built from (itself without a Source: field)."""
        return self.sources.get(package, package)


@dataclass(frozen=True, slots=True, kw_only=True)
class Relation:
    """One Debian relation atom: name [(op version)]; op in <<, <=, =, >=, >>."""

    name: DebName
    op: str | None = None
    version: DebVersion | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.op} {self.version})" if self.op else self.name


Alternatives = tuple[Relation, ...]
"""An OR group: "a (<< 2) | a (>> 2)".  A relation field is a tuple of these."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangelogEntry:
    version: DebVersion
    distribution: str
    urgency: str
    changes: tuple[str, ...]     # lines we write ourselves; never upstream text
    maintainer: str              # "Name <email>"
    date: str                    # RFC 5322 date


@dataclass(frozen=True, slots=True, kw_only=True)
class Patch:
    """One patch of `[packages.<name>] patches`, read once when the config is loaded."""

    name: str                    # its file name, checked: debian/patches/<name>, rpm PatchN
    data: bytes                  # applied with -p1 (quilt series / %autosetup -p1)
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Overrides:
    """What `[packages.<name>]` adds to one project's build (repack.overrides checks it):
    every field is already valid for the file it is written into."""

    depends: tuple[tuple[Relation, ...], ...] = ()     # Debian Depends groups (a | b)
    build_depends: tuple[tuple[Relation, ...], ...] = ()
    requires: tuple[str, ...] = ()                     # rpm Requires
    build_requires: tuple[str, ...] = ()               # rpm BuildRequires
    # weak run-time dependencies (Debian Recommends, rpm Recommends): what a module needs
    # that the package works without, which apt and dnf install when the archive has it
    recommends: tuple[tuple[Relation, ...], ...] = ()
    rpm_recommends: tuple[str, ...] = ()
    # packages that ship the same files under another name: Debian Conflicts, rpm Conflicts
    conflicts: tuple[Relation, ...] = ()
    rpm_conflicts: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()        # absolute globs of installed paths left out
    patches: tuple[Patch, ...] = ()      # in the order they are applied
    env: tuple[tuple[str, str], ...] = ()   # the build's extra environment, sorted by name
    # PEP 517 config settings for every hook of the build (meson-python's setup-args), by key
    config_settings: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # PEP 508 run-time requirements the project's metadata lacks (librt 0.16's vecs imports
    # mypy_extensions): mapped per target like its own, and built with --with-deps
    requires_dist: tuple[str, ...] = ()

    def cache_data(self) -> dict[str, object]:
        """Everything of it that changes a build's output, for the build cache key (the
        patches by their bytes' sha256)."""
        return {"depends": [[str(r) for r in g] for g in self.depends],
                "build_depends": [[str(r) for r in g] for g in self.build_depends],
                "requires": list(self.requires), "build_requires": list(self.build_requires),
                "exclude": list(self.exclude),
                **({"requires_dist": list(self.requires_dist)} if self.requires_dist else {}),
                "patches": [[p.name, p.sha256] for p in self.patches],
                "env": [list(kv) for kv in self.env],
                **({"config_settings": [[k, list(v)] for k, v in self.config_settings]}
                   if self.config_settings else {}),
                **({"conflicts": [str(r) for r in self.conflicts],
                    "rpm_conflicts": list(self.rpm_conflicts)}
                   if self.conflicts or self.rpm_conflicts else {}),
                **({"recommends": [[str(r) for r in g] for g in self.recommends],
                    "rpm_recommends": list(self.rpm_recommends)}
                   if self.recommends or self.rpm_recommends else {})}

    def hook_config_settings(self) -> dict[str, str | list[str]] | None:
        """The config_settings the backend's hooks get, as a frontend passes repeated
        `--config-settings KEY=VALUE` (pip >= 23.1, pypa/build): one value a string, more
        a list; None when there are none."""
        if not self.config_settings:
            return None
        return {k: v[0] if len(v) == 1 else list(v) for k, v in self.config_settings}

    def pip_config_args(self) -> list[str]:
        """The same as pip arguments: `--config-settings KEY=VALUE` per value."""
        return [a for k, vs in self.config_settings for v in vs
                for a in ("--config-settings", f"{k}={v}")]


@dataclass(frozen=True, slots=True, kw_only=True)
class DebSpec:
    """Everything the debian/ templates need; produced by repack.deb.naming from a Project."""

    target_id: str
    source_name: DebName         # "python-django"
    binary_name: DebName         # "python3-django"
    upstream_version: str        # PEP 440 text, as in the orig tarball name
    version: DebVersion          # full: [epoch:]upstream-revision
    epoch: int
    architecture: Literal["all", "any"]
    depends: tuple[Alternatives, ...]
    recommends: tuple[Alternatives, ...]
    suggests: tuple[Alternatives, ...]      # extras land here, never in Depends
    build_depends: tuple[Alternatives, ...]
    provides: tuple[Relation, ...]
    unsatisfied: tuple[str, ...]            # PEP 508 texts no archive package satisfies
    maintainer: str
    summary: str                 # untrusted: escaped by the render filters
    description: str             # untrusted
    homepage: str | None         # untrusted
    license: str                 # SPDX-ish short name for debian/copyright, untrusted
    license_text: str            # untrusted
    copyright: str               # untrusted
    upstream_name: str           # untrusted display name
    source_url: str
    changelog: ChangelogEntry
    provenance: Provenance | None = None    # recorded in the package (repack.trust.provenance)
    overrides: Overrides = field(default_factory=Overrides)   # [packages.<name>]
    left_out: tuple[str, ...] = ()          # why an extra's requirement is not in Suggests
    # files taken over from the archive's binaries of the same source (repack.owned)
    replaces: tuple[Relation, ...] = ()
    breaks: tuple[Relation, ...] = ()
    conflicts: tuple[Relation, ...] = ()    # [packages.<name>] conflicts (deb)


@dataclass(frozen=True, slots=True, kw_only=True)
class Artifact:
    target: str
    format: Literal["deb", "dsc", "debian-tar", "orig-tar", "buildinfo", "changes", "rpm", "srpm"]
    package: str
    version: str
    path: Path
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RpmChangelogEntry:
    """The one %changelog entry: our own text only, never upstream's."""

    date: str                    # RFC 5322; rendered as rpm's "Mon Jan 01 2024"
    packager: str                # "Name <email>"
    evr: str                     # "[E:]V-R" of the package
    changes: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RpmSpec:
    """Everything templates/rpm/python-package.spec.j2 needs; made by repack.rpm.naming."""

    target_id: str
    name: str                    # "python3-django"
    upstream_name: str           # untrusted display name ("Django")
    upstream_version: str        # PEP 440 text
    epoch: int                   # PEP 440 epoch; Epoch: written only when > 0
    version: str                 # "4.2", "1~rc1", "1^post1": keeps PEP 440 order under rpm
    release: str                 # "0.repack1.el9"
    summary: str                 # untrusted: escaped by repack.rpm.render filters
    description: str             # untrusted
    license: str                 # untrusted: SPDX expression or free text
    url: str | None              # untrusted
    source0: str                 # the verified sdist's file name, byte-identical
    source_url: str              # where it was downloaded (untrusted text)
    source_dir: str              # its top directory: %autosetup -n
    buildarch: str | None        # "noarch", or None for native code
    build_requires: tuple[str, ...]
    requires: tuple[str, ...]    # "python(abi) = 3.9", "python3dist(x) >= 1", rich deps
    provides: tuple[str, ...]    # "python3dist(x) = V", "python3.9dist(x) = V"
    suggests: tuple[str, ...]    # extras: never Requires
    console_scripts: tuple[str, ...]
    python_version: str          # "3.9"
    packager: str
    changelog: RpmChangelogEntry
    provenance: Provenance | None = None    # installed as %doc repack-provenance.json
    overrides: Overrides = field(default_factory=Overrides)   # [packages.<name>]
    conflicts: tuple[str, ...] = ()         # [packages.<name>] conflicts (rpm)
    recommends: tuple[str, ...] = ()        # [packages.<name>] recommends (rpm)


@dataclass(frozen=True, slots=True, kw_only=True)
class Advisory:
    """One known vulnerability of a release, as the index's JSON API lists it (OSV data)."""

    id: str                      # "GHSA-2hrw-hx67-34x6", "PYSEC-2023-100": checked [A-Za-z0-9._:-]+
    aliases: tuple[str, ...]     # "CVE-2023-31047", ...: checked like id
    summary: str                 # untrusted upstream text
    fixed_in: tuple[str, ...]    # PEP 440 versions that fix it
    link: str | None             # untrusted


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """What repack accepted from upstream for one build, and why; recorded in every artifact.

    Written into the packages as ``/usr/share/doc/<package>/repack-provenance.json``
    (and, for a .deb, as ``Repack-*`` control fields); `repack explain` reads it back.
    """

    project: NormalizedName
    version: str                 # PEP 440 text
    filename: str
    url: str                     # untrusted text (the index said so)
    sha256: str
    verified: tuple[str, ...]    # Sdist.verified
    vulnerabilities: tuple[Advisory, ...] = ()   # known advisories affecting this release
    fixes: tuple[Advisory, ...] = ()             # advisories of the previous release fixed here
    advisories_checked: bool = False             # the index had advisory data for this release
    source_date_epoch: int | None = None         # the date every build of it uses
    build_tools: tuple[BuildToolRecord, ...] = ()   # wheels from the index the build ran
    revision: int = 1                            # the packages' 0repackN (repack.revision)
    rebuilt: str | None = None                   # why this revision was built, when > 1


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildToolRecord:
    """A build tool (a wheel from the index, installed in the builder to build the package)
    as the provenance records it: it ran as the build backend, so it wrote the package and
    went through the same trust policy as the sdist."""

    project: NormalizedName
    version: str                 # PEP 440 text
    filename: str
    url: str                     # untrusted text (the index said so)
    sha256: str
    verified: tuple[str, ...]    # Sdist.verified of the wheel
    vulnerabilities: tuple[Advisory, ...] = ()
    advisories_checked: bool = False
