"""Pick the sdist of one requirement from the package index.

Only one index is ever consulted (see `index_url`).  The choice follows pip: the newest
version that satisfies the specifier, skipping yanked files unless the requirement pins
that version exactly (PEP 592), prereleases only when the specifier asks for them, and
Requires-Python judged against the *target's* interpreter, not ours.  We need an sdist
(.tar.gz or .zip) with a sha256 in the index: a file we cannot check is never chosen.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import requests
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from repack import log
from repack.errors import ConfigError, RequiresPythonError, ResolveError
from repack.http import describe_error
from repack.model import Release

if TYPE_CHECKING:
    from pypi_simple import DistributionPackage, ProjectPage

# The PyPI client (pydantic, two HTML parsers: 0.4 s) is imported by the functions that use
# it, on the first resolve, while the run's apt lists refresh in the background
# (repack.deb.aptlists).  An import statement, not repack.lazy: `repack trust check` reads
# pages from several threads at once, and Python 3.11's LazyLoader lets a second thread see
# the module before it is filled in ("has no attribute 'PyPISimple'").

__all__ = ["DEFAULT_INDEX_URL", "index_url", "is_exact_pin", "newest_admitting",
           "pip_config_files", "resolve"]

DEFAULT_INDEX_URL = "https://pypi.org/simple/"

SDIST_SUFFIXES = (".tar.gz", ".zip")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_SHOW_VERSIONS = 5   # how many versions an error hint lists


# --------------------------------------------------------------------------------------
# Which index: pip's own configuration
# --------------------------------------------------------------------------------------


def pip_config_files(
    environ: Mapping[str, str] | None = None,
    *,
    etc_dir: Path = Path("/etc"),
    prefix: Path = Path(sys.prefix),
) -> list[Path]:
    """pip's configuration files on Linux, lowest precedence first (later files override).

    The order is pip's (pip/_internal/configuration.py): global files
    ($XDG_CONFIG_DIRS/pip/pip.conf for each dir, default /etc/xdg, then /etc/pip.conf),
    user files (~/.pip/pip.conf, then $XDG_CONFIG_HOME/pip/pip.conf, default
    ~/.config) -- skipped, as pip skips them, when PIP_CONFIG_FILE names an existing
    file --, the interpreter's site file (sys.prefix/pip.conf), and last PIP_CONFIG_FILE.
    Files that do not exist are listed too; `index_url` skips them.
    """
    env = os.environ if environ is None else environ
    files: list[Path] = []
    xdg_dirs = env.get("XDG_CONFIG_DIRS") or str(etc_dir / "xdg")
    files += [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
    files.append(etc_dir / "pip.conf")
    env_file = env.get("PIP_CONFIG_FILE")
    if not (env_file and Path(env_file).exists()):
        home = Path(env["HOME"]) if env.get("HOME") else Path.home()
        files.append(home / ".pip" / "pip.conf")
        xdg_home = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
        files.append(xdg_home / "pip" / "pip.conf")
    files.append(prefix / "pip.conf")
    if env_file:
        files.append(Path(env_file))
    return files


def index_url(
    *,
    environ: Mapping[str, str] | None = None,
    config_files: Sequence[Path] | None = None,
) -> str:
    """The index pip is configured with, so that repack uses the same one.

    PIP_INDEX_URL wins; else ``index-url`` from pip's configuration files
    (`pip_config_files`, later files override earlier ones), where -- as in pip -- a
    command section beats [global] whichever file it is in: [global] < [install] <
    [download]; else https://pypi.org/simple/.  Empty values are ignored, as pip does.

    ``extra-index-url`` (and PIP_EXTRA_INDEX_URL) is deliberately ignored: with a second
    index, whichever index offers the higher version of a name wins, which is the
    dependency-confusion attack.  We take exactly one index.

    `environ` and `config_files` default to os.environ and `pip_config_files(environ)`.
    """
    env = os.environ if environ is None else environ
    from_env = env.get("PIP_INDEX_URL", "").strip()
    if from_env:
        return from_env
    files = pip_config_files(env) if config_files is None else config_files
    merged: dict[tuple[str, str], str] = {}
    for path in files:
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            with open(path, encoding="utf-8") as fh:
                parser.read_file(fh, source=str(path))
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            raise ConfigError(
                f"cannot read pip configuration file {path}: {exc}",
                hint="fix the file, or point PIP_CONFIG_FILE elsewhere",
            ) from exc
        for section in parser.sections():
            for key, value in parser.items(section):
                name = key.lower().replace("_", "-").removeprefix("--")
                merged[(section.lower(), name)] = value.strip()
    for section in ("download", "install", "global"):
        value = merged.get((section, "index-url"), "")
        if value:
            return value
    return DEFAULT_INDEX_URL


# --------------------------------------------------------------------------------------
# Choosing the release
# --------------------------------------------------------------------------------------


def is_exact_pin(specifier: SpecifierSet) -> bool:
    """True for ``==1.2`` and ``===1.2`` (not ``==1.*``): the only pins that may take a
    yanked release (PEP 592)."""
    specs = list(specifier)
    if len(specs) != 1:
        return False
    spec = specs[0]
    return spec.operator == "===" or (spec.operator == "==" and not spec.version.endswith(".*"))


@dataclass(frozen=True, slots=True)
class IndexFile:
    """One file of a project page, with its parsed version."""

    package: DistributionPackage
    version: Version


@dataclass(frozen=True, slots=True)
class _Rejection:
    version: Version
    why: str                  # one line, starts with the version: "1.0 has only wheels"
    hint: str | None
    yanked: bool = False
    requires_python: SpecifierSet | None = None   # set when Requires-Python excluded it


def project_page(name: str, *, index: str, session: requests.Session) -> ProjectPage:
    """The index's page for `name`; ResolveError ("not found on ...") when there is none."""
    return _fetch_page(name, index=index, session=session)


def _describe(index: str) -> str:
    return index.rstrip("/") + "/"


def _fetch_page(name: str, *, index: str, session: requests.Session) -> ProjectPage:
    import pypi_simple

    client = pypi_simple.PyPISimple(endpoint=index, session=session,
                                    accept=pypi_simple.ACCEPT_JSON_PREFERRED)
    where = _describe(index)
    try:
        return client.get_project_page(name)
    except pypi_simple.NoSuchProjectError as exc:
        raise ResolveError(
            f"not found on {where}",
            project=name,
            hint="check the spelling of the name; the index comes from PIP_INDEX_URL or "
            "pip's index-url setting",
        ) from exc
    except requests.exceptions.SSLError as exc:
        raise ResolveError(
            f"TLS verification failed for {where}: {describe_error(exc)}",
            project=name,
            hint="the system trust store (/etc/ssl/certs, update-ca-certificates) must "
            "trust the index's certificate",
        ) from exc
    except requests.exceptions.InvalidJSONError as exc:  # also a RequestException
        raise ResolveError(
            f"cannot read the project page from {where}: {exc}", project=name,
        ) from exc
    except requests.exceptions.HTTPError as exc:
        raise ResolveError(
            f"{where} answered {describe_error(exc)}", project=name,
        ) from exc
    except requests.exceptions.RequestException as exc:
        raise ResolveError(
            f"index {where} unreachable: {describe_error(exc)}",
            project=name,
            hint="check the network, proxy settings and the index URL",
        ) from exc
    except (pypi_simple.UnsupportedContentTypeError, pypi_simple.UnsupportedRepoVersionError,
            ValueError) as exc:
        raise ResolveError(
            f"cannot read the project page from {where}: {exc}", project=name,
        ) from exc


def files_by_version(page: ProjectPage, name: NormalizedName) -> dict[Version, list[IndexFile]]:
    """The page's files of project `name` (sdists and wheels) by their valid version."""
    by_version: dict[Version, list[IndexFile]] = {}
    for pkg in page.packages:
        if pkg.project is None or pkg.version is None:
            continue
        if canonicalize_name(pkg.project) != name:
            continue
        try:
            version = Version(pkg.version)
        except InvalidVersion:
            continue
        by_version.setdefault(version, []).append(IndexFile(pkg, version))
    return by_version


def _is_sdist(pkg: DistributionPackage) -> bool:
    return pkg.package_type == "sdist" and pkg.filename.lower().endswith(SDIST_SUFFIXES)


def file_requires_python(pkg: DistributionPackage) -> SpecifierSet | None:
    """The file's Requires-Python, None when absent or invalid (pip ignores those too)."""
    if not pkg.requires_python or not pkg.requires_python.strip():
        return None
    try:
        return SpecifierSet(pkg.requires_python)
    except InvalidSpecifier:
        # pip ignores an invalid Requires-Python too
        log.debug(f"ignoring invalid Requires-Python {pkg.requires_python!r} of {pkg.filename}")
        return None


def _newest(versions: Sequence[Version]) -> str:
    shown = sorted(versions, reverse=True)[:_SHOW_VERSIONS]
    more = ", ..." if len(versions) > _SHOW_VERSIONS else ""
    return ", ".join(str(v) for v in shown) + more


def _sdist_order(f: IndexFile) -> tuple[int, str]:
    # .tar.gz (the PEP 625 format) before .zip; then by name for determinism
    return (0 if f.package.filename.lower().endswith(".tar.gz") else 1, f.package.filename)


def resolve(
    req: Requirement,
    *,
    python_full_version: str,
    index: str,
    session: requests.Session,
    target_name: str = "the target",
) -> Release:
    """The sdist `req` resolves to on `index` for a target running Python
    `python_full_version` (`target_name`, "Debian 12 (bookworm)", says whose in errors).

    Raises ResolveError (project=the requirement's name) when the project is not on the
    index, nothing satisfies the specifier, the version has no sdist, the sdist has no
    sha256 in the index, or the index cannot be reached; RequiresPythonError (exit 7) when
    the releases it allows exist but their Requires-Python excludes the target, naming
    the newest release that admits it.  Markers and extras are the caller's business; a
    direct URL is refused.
    """
    name = canonicalize_name(req.name)
    if req.url:
        raise ResolveError(
            f"direct URL requirements are not supported: {req}",
            project=name,
            hint=f"name a release on the index instead, e.g. {req.name}==<version>",
        )
    try:
        target_python = Version(python_full_version)
    except InvalidVersion as exc:
        raise ConfigError(f"invalid target Python version {python_full_version!r}") from exc

    page = _fetch_page(name, index=index, session=session)
    from pypi_simple import ProjectStatus  # loaded by _fetch_page: see the note above

    if page.status is ProjectStatus.QUARANTINED:
        raise ResolveError(
            f"is quarantined on {_describe(index)} (PEP 792): the index considers it unsafe",
            project=name, hint=page.status_reason or None,
        )
    if page.status in (ProjectStatus.DEPRECATED, ProjectStatus.ARCHIVED):
        reason = f": {page.status_reason}" if page.status_reason else ""
        log.warn(f"{name} is marked {page.status.value} on the index{reason}")

    by_version = files_by_version(page, name)
    spec = req.specifier
    pinned = is_exact_pin(spec)
    # Pre-releases only when the specifier names one (">=2.0b1", "==2.0rc1"); decided
    # here rather than by contains()'s default, which differs between packaging releases.
    allow_pre = bool(spec.prereleases)
    matching = sorted(
        (v for v in by_version if spec.contains(v, prereleases=allow_pre)), reverse=True
    )
    if not matching:
        raise _no_match(name, req, by_version, index)

    # Walk newest first; remember why each version was passed over, in order.
    rejected: list[_Rejection] = []
    for version in matching:
        files = by_version[version]
        sdists = sorted((f for f in files if _is_sdist(f.package)), key=_sdist_order)
        if not sdists:
            others = sorted(f.package.filename for f in files)
            if any(f.package.package_type == "wheel" for f in files):
                why = f"{version} has only wheels, no sdist"
            else:
                why = f"{version} has no sdist (.tar.gz or .zip) on the index"
            rejected.append(
                _Rejection(version, why, "files: " + ", ".join(others[:_SHOW_VERSIONS]))
            )
            continue
        usable = [f for f in sdists if not f.package.is_yanked]
        took_yanked = False
        if not usable:
            if not pinned:
                yank_reason = sdists[0].package.yanked_reason
                rejected.append(_Rejection(
                    version,
                    f"{version} is yanked" + (f" ({yank_reason})" if yank_reason else ""),
                    f"pin it exactly ({req.name}=={version}) to take it anyway",
                    yanked=True,
                ))
                continue
            usable, took_yanked = sdists, True
        chosen = usable[0]
        requires_python = file_requires_python(chosen.package)
        if requires_python is not None and not requires_python.contains(
            target_python, prereleases=True
        ):
            rejected.append(_Rejection(
                version,
                f"{name}=={version} requires Python {requires_python}; "
                f"{target_name} has {python_full_version}",
                None,
                requires_python=requires_python,
            ))
            continue
        for r in rejected:
            log.debug(f"passed over {name} {r.why}")
        return release_from_file(name, chosen, requires_python, took_yanked, req,
                                 pinned=pinned, index=index)

    first = next((r for r in rejected if not r.yanked), rejected[0])
    if first.requires_python is not None:
        raise _python_excluded(name, req, first, by_version, target_python)
    raise _nothing_usable(name, rejected)


def newest_admitting(by_version: Mapping[Version, Sequence[IndexFile]], python: Version, *,
                     prereleases: bool = False) -> Version | None:
    """The newest version with an sdist that is not yanked and whose Requires-Python admits
    `python` (a pre-release only when `prereleases`): what a target with that Python can
    build."""
    for version in sorted(by_version, reverse=True):
        if version.is_prerelease and not prereleases:
            continue
        sdists = sorted((f for f in by_version[version]
                         if _is_sdist(f.package) and not f.package.is_yanked), key=_sdist_order)
        if not sdists:
            continue
        spec = file_requires_python(sdists[0].package)
        if spec is None or spec.contains(python, prereleases=True):
            return version
    return None


def _python_excluded(name: NormalizedName, req: Requirement, first: _Rejection,
                     by_version: Mapping[Version, Sequence[IndexFile]],
                     python: Version) -> RequiresPythonError:
    """The releases the requirement allows are on the index but not for the target's Python
    (exit 7, not "not on the index"): name the newest release that admits it."""
    admits = newest_admitting(by_version, python, prereleases=bool(req.specifier.prereleases))
    if admits is None:
        return RequiresPythonError(f"{first.why}; no release on the index admits it",
                                   project=name,
                                   hint="build it for a target with a newer Python")
    return RequiresPythonError(
        f"{first.why}; the newest release that admits it is {admits}", project=name,
        hint=f"ask for {req.name}=={admits}, or build for a target with a newer Python")


def release_from_file(
    name: NormalizedName,
    chosen: IndexFile,
    requires_python: SpecifierSet | None,
    yanked: bool,
    req: Requirement,
    *,
    pinned: bool,
    index: str,
) -> Release:
    """The Release of a chosen index file, refused when its name, sha256 or URL cannot be
    trusted (a yanked file is taken only when `yanked` says the requirement pins it)."""
    pkg = chosen.package
    filename = pkg.filename
    if "/" in filename or "\\" in filename or "\0" in filename or filename.startswith("."):
        raise ResolveError(f"the index lists an unsafe file name {filename!r}", project=name)
    digest = (pkg.digests.get("sha256") or "").strip().lower()
    if not digest:
        raise ResolveError(
            f"the index gives no sha256 digest for {filename}; refusing a file that cannot "
            "be checked",
            project=name,
            hint="use an index that publishes sha256 digests (PEP 503/691), as PyPI does",
        )
    if not _SHA256_RE.fullmatch(digest):
        raise ResolveError(
            f"the index gives a malformed sha256 digest for {filename}: {digest[:80]!r}",
            project=name,
        )
    if urlparse(pkg.url).scheme not in ("https", "http"):
        raise ResolveError(f"unsupported URL for {filename}: {pkg.url}", project=name)
    if yanked:
        reason = pkg.yanked_reason
        log.warn(
            f"{name} {chosen.version} is yanked" + (f" ({reason})" if reason else "")
            + "; taking it because the requirement pins it exactly"
        )
    if pinned:
        log.debug(f"resolved {req} to {chosen.version}")
    else:
        log.info(f"resolved {req} to {chosen.version}")
    return Release(
        name=name,
        version=chosen.version,
        filename=filename,
        url=pkg.url,
        sha256=digest,
        size=pkg.size,
        requires_python=requires_python,
        yanked=yanked,
        index_url=index,
        signature_url=pkg.sig_url if pkg.has_sig else None,
        provenance_url=pkg.provenance_url,
        upload_time=pkg.upload_time,
    )


def _no_match(
    name: NormalizedName,
    req: Requirement,
    by_version: Mapping[Version, list[IndexFile]],
    index: str,
) -> ResolveError:
    versions = list(by_version)
    if not versions:
        return ResolveError(f"has no releases on {_describe(index)}", project=name)
    spec = req.specifier
    pre = sorted((v for v in versions if spec.contains(v, prereleases=True)), reverse=True)
    if pre:
        return ResolveError(
            f"no final release matches {req}; only pre-releases do ({_newest(pre)})",
            project=name,
            hint=f"ask for a pre-release explicitly, e.g. {req.name}=={pre[0]}",
        )
    finals = [v for v in versions if not v.is_prerelease] or versions
    return ResolveError(
        f"no release matches {req}" if str(spec) else f"no final release of {name} on the index",
        project=name,
        hint=f"newest versions: {_newest(finals)}",
    )


def _nothing_usable(name: NormalizedName, rejected: Sequence[_Rejection]) -> ResolveError:
    # The newest version passed over for a reason other than being yanked is what the
    # user most likely wanted; if every one is yanked, say that.
    first = next((r for r in rejected if not r.yanked), rejected[0])
    hint = first.hint
    rest = [r.version for r in rejected if r is not first]
    if rest:
        extra = f"also passed over: {_newest(rest)}"
        hint = f"{hint}; {extra}" if hint else extra
    return ResolveError(first.why, project=name, hint=hint)
