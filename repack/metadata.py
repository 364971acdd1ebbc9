"""Core metadata of an unpacked sdist -> `Project`.

Two sources:

* ``PKG-INFO`` at the top of the sdist, usable as it is when it is static (PEP 643:
  Metadata-Version >= 2.2 and no ``Dynamic:`` field), see `is_static`;
* otherwise the lead runs the PEP 517 ``prepare_metadata_for_build_wheel`` hook in a
  container and passes the METADATA bytes and entry_points.txt text here.

`project_from_metadata` parses leniently with ``packaging.metadata.parse_email``, then
validates what repack needs and reports every problem at once in one MetadataError.
Text fields stay as upstream wrote them (the renderer escapes them), except that
``summary`` is collapsed to one line.  Names, versions, requirements, extras and script
names are validated.
"""

from __future__ import annotations

import configparser
import email.utils
import os
import re
import stat
import tomllib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from packaging.metadata import RawMetadata, parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from repack import log, meson
from repack.errors import MetadataError
from repack.model import Project
from repack.unpack import find_cplusplus_sources, find_native_sources

__all__ = [
    "DEFAULT_BUILD_REQUIRES", "MAX_METADATA_BYTES", "flat_discovery", "is_static",
    "project_from_metadata",
    "read_pkg_info",
]

MAX_METADATA_BYTES = 16 << 20        # PKG-INFO / pyproject.toml / entry_points.txt
DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0",)   # PEP 518, when [build-system] is absent

# Script names become file names in /usr/bin: no slashes, no leading dot or dash, no spaces.
_SCRIPT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
# PEP 517 object reference: module(.sub)*[:object(.attr)*]
_BACKEND_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*)?$")
_LICENSE_NAME_RE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)


def _show(text: str, limit: int = 120) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 5] + "...'"


def _one_line(text: str) -> str:
    """Collapse all whitespace, including every str.splitlines() boundary, to single spaces."""
    return " ".join(text.split())


class _Unreadable(Exception):
    """A metadata file exists but must not or cannot be read; str() says why."""


def _read_regular(path: Path, what: str) -> bytes | None:
    """Bytes of a regular file (never through a symlink), None when it does not exist."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise _Unreadable(f"{what} is a symlink; refusing to follow it")
    if not stat.S_ISREG(st.st_mode):
        raise _Unreadable(f"{what} is not a regular file")
    if st.st_size > MAX_METADATA_BYTES:
        raise _Unreadable(f"{what} is larger than {MAX_METADATA_BYTES} bytes")
    return path.read_bytes()


def _regular_file_inside(tree: Path, rel: str) -> str | None:
    """Normalised relative POSIX path of a regular file inside tree, or None.

    Refuses absolute paths, '..' components and any symlink along the way.
    """
    if not rel or rel.startswith("/") or "\\" in rel or "\x00" in rel:
        return None
    parts = [p for p in PurePosixPath(rel).parts if p != "."]
    if not parts or ".." in parts:
        return None
    current = tree
    for i, part in enumerate(parts):
        current = current / part
        try:
            mode = current.lstat().st_mode
        except OSError:
            return None
        last = i == len(parts) - 1
        if (last and not stat.S_ISREG(mode)) or (not last and not stat.S_ISDIR(mode)):
            return None
    return "/".join(parts)


# --------------------------------------------------------------------------- PKG-INFO

def read_pkg_info(tree: Path, *, project: str) -> bytes:
    """The bytes of PKG-INFO at the top of an unpacked sdist; MetadataError if missing."""
    try:
        data = _read_regular(tree / "PKG-INFO", "PKG-INFO")
    except _Unreadable as exc:
        raise MetadataError(str(exc), project=project) from None
    if data is None:
        raise MetadataError("the sdist has no PKG-INFO at its top level", project=project,
                            hint="this is not a standard sdist (maybe a source checkout archive)")
    return data


def _metadata_version(raw: RawMetadata, unparsed: dict[str, list[str]]) -> Version | None:
    value = raw.get("metadata_version")
    if value is None or "metadata-version" in unparsed:
        return None
    try:
        return Version(value.strip())
    except InvalidVersion:
        return None


def is_static(pkg_info: bytes) -> bool:
    """True when PKG-INFO can be used as is: Metadata-Version >= 2.2 and no Dynamic (PEP 643)."""
    raw, unparsed = parse_email(pkg_info)
    version = _metadata_version(raw, unparsed)
    if version is None or version < Version("2.2"):
        return False
    return not raw.get("dynamic") and "dynamic" not in unparsed


# --------------------------------------------------------------------------- entry points

def _parse_entry_points(text: str, what: str, problems: list[str]) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",),
                                       comment_prefixes=("#", ";"), strict=False)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    try:
        parser.read_string(text, source=what)
    except configparser.Error as exc:
        problems.append(f"malformed {what}: {_one_line(str(exc))[:200]}")
        return []
    names: list[str] = []
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            names.extend(key.strip() for key in parser[section])
    return names


def _egg_info_entry_points(tree: Path, problems: list[str]) -> tuple[str, str] | None:
    """(relative path, text) of the first *.egg-info/entry_points.txt (top level, then src/)."""
    candidates = sorted(tree.glob("*.egg-info")) + sorted(tree.glob("src/*.egg-info"))
    for egg_info in candidates:
        if not _is_real_dir(egg_info) or not _is_real_dir(egg_info.parent):
            continue
        rel = egg_info.relative_to(tree).as_posix() + "/entry_points.txt"
        try:
            data = _read_regular(tree / rel, rel)
        except _Unreadable as exc:
            problems.append(str(exc))
            continue
        if data is not None:
            return rel, data.decode("utf-8", "replace")
    return None


def _pyproject_scripts(pyproject: dict[str, Any], problems: list[str]) -> list[str]:
    table = pyproject.get("project")
    if not isinstance(table, dict):
        return []
    names: list[str] = []
    for key in ("scripts", "gui-scripts"):
        scripts = table.get(key, {})
        if not isinstance(scripts, dict):
            problems.append(f"pyproject.toml [project.{key}] is not a table")
            continue
        names.extend(scripts)
    return names


# --------------------------------------------------------------------------- pyproject

def _read_pyproject(tree: Path, problems: list[str]) -> dict[str, Any]:
    try:
        data = _read_regular(tree / "pyproject.toml", "pyproject.toml")
    except _Unreadable as exc:
        problems.append(str(exc))
        return {}
    if data is None:
        return {}
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"malformed pyproject.toml: {_one_line(str(exc))[:200]}")
        return {}


def _mixed_arrays(value: object) -> bool:
    """Whether a parsed TOML document holds an array of mixed types (TOML 1.0; the `toml`
    0.10 parser of pip < 21.2 refuses it: PEP 735's `{include-group = ...}` beside names)."""
    if isinstance(value, dict):
        return any(_mixed_arrays(v) for v in value.values())
    if isinstance(value, list):
        return len({type(v) for v in value}) > 1 or any(_mixed_arrays(v) for v in value)
    return False


def _build_system(pyproject: dict[str, Any], problems: list[str],
                  ) -> tuple[tuple[Requirement, ...], str | None]:
    if "build-system" not in pyproject:
        return tuple(Requirement(r) for r in DEFAULT_BUILD_REQUIRES), None
    table = pyproject["build-system"]
    if not isinstance(table, dict):
        problems.append("pyproject.toml [build-system] is not a table")
        return (), None
    requires = table.get("requires")
    reqs: list[Requirement] = []
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        problems.append("pyproject.toml [build-system] requires is missing or not a list of "
                        "strings")
    else:
        for text in requires:
            try:
                reqs.append(Requirement(text))
            except InvalidRequirement as exc:
                problems.append(f"invalid build requirement {_show(text)} in pyproject.toml: "
                                f"{_one_line(str(exc))[:200]}")
    backend = table.get("build-backend")
    if backend is not None and (not isinstance(backend, str)
                                or not _BACKEND_RE.match(backend.strip())):
        problems.append(f"invalid build-backend {_show(str(backend))} in pyproject.toml")
        backend = None
    return tuple(reqs), (backend.strip() if isinstance(backend, str) else None)


def _setup_cfg_names_packages(tree: Path) -> bool:
    """Whether setup.cfg's [options] sets `packages` or `py_modules` (an unreadable or
    malformed file counts as setting them: no guess is made from it)."""
    try:
        data = _read_regular(tree / "setup.cfg", "setup.cfg")
    except _Unreadable:
        return True
    if data is None:
        return False
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(data.decode("utf-8", "replace"), source="setup.cfg")
    except configparser.Error:
        return True
    return parser.has_section("options") and any(
        parser.has_option("options", key) for key in ("packages", "py_modules"))


def flat_discovery(tree: Path, pyproject: dict[str, Any], build_backend: str | None) -> bool:
    """Whether setuptools would discover the packages itself in the top of the tree (its
    flat layout): a setuptools build that names no `packages` or `py_modules` (pyproject's
    [tool.setuptools], setup.cfg's [options], setup.py's text: any mention counts as
    naming them) and has no `src/` directory.  That discovery sees every directory there,
    the debian/ repack renders too; read without running setup.py, so it errs towards False."""
    if build_backend is not None and not build_backend.startswith("setuptools.build_meta"):
        return False
    if _is_real_dir(tree / "src"):
        return False
    tool = pyproject.get("tool")
    table = tool.get("setuptools") if isinstance(tool, dict) else None
    if isinstance(table, dict) and any(k in table for k in ("packages", "py-modules",
                                                              "py_modules")):
        return False
    if _setup_cfg_names_packages(tree):
        return False
    try:
        setup_py = _read_regular(tree / "setup.py", "setup.py")
    except _Unreadable:
        return False
    return setup_py is None or not re.search(rb"packages|py_modules", setup_py)


def _meson_version(tree: Path, project: str) -> SpecifierSet | None:
    """The meson the top-level meson.build's project() asks for (repack.meson), read as
    text; None without one, or when it is not a regular file of bounded size."""
    try:
        data = _read_regular(tree / "meson.build", "meson.build")
    except _Unreadable as exc:
        log.debug(f"{project}: {exc}; its meson_version is not read")
        return None
    return None if data is None else meson.meson_version(data.decode("utf-8", "replace"),
                                                         project=project)


# Backends that build pure-Python wheels only, whatever sources the tree holds.
_PURE_BACKENDS = frozenset({"flit_core.buildapi", "uv_build"})


def compiles(tree: Path, pyproject: dict[str, Any], build_backend: str | None) -> bool:
    """Whether the build could compile the native sources `find_native_sources` saw: False
    only when the backend has no way to (flit_core and uv_build never do; hatchling only
    through a build hook; setuptools only from a setup.py or pyproject's ext-modules), so
    that a pure project shipping C it does not build (distlib's Windows launcher sources)
    is built Architecture: all at once, without a C-library lookup and a second build.
    Read without running anything, it errs towards True."""
    tool = pyproject.get("tool")
    tool = tool if isinstance(tool, dict) else {}
    if build_backend in _PURE_BACKENDS:
        return False
    if build_backend == "hatchling.build":
        return (_has_key(tool.get("hatch"), "hooks") or (tree / "hatch.toml").exists()
                or (tree / "hatch_build.py").exists())
    if build_backend in ("setuptools.build_meta", "setuptools.build_meta:__legacy__"):
        table = tool.get("setuptools")
        return ((tree / "setup.py").exists() or (tree / "setup.py").is_symlink()
                or (isinstance(table, dict) and "ext-modules" in table))
    return True


def _has_key(value: object, key: str) -> bool:
    """*key* anywhere among the tables of a TOML value."""
    if isinstance(value, dict):
        return key in value or any(_has_key(v, key) for v in value.values())
    if isinstance(value, list):
        return any(_has_key(v, key) for v in value)
    return False


# --------------------------------------------------------------------------- licenses

def _license_files(tree: Path, declared: Iterable[str]) -> tuple[str, ...]:
    found = [p for p in (_regular_file_inside(tree, d.strip()) for d in declared) if p]
    if found:
        return tuple(dict.fromkeys(found))
    scanned: list[str] = []
    for dirpath, prefix in ((tree, ""), (tree / "LICENSES", "LICENSES/")):
        if prefix and not _is_real_dir(dirpath):
            continue
        try:
            names = sorted(os.listdir(dirpath))
        except OSError:
            continue
        for name in names:
            if not prefix and not _LICENSE_NAME_RE.match(name):
                continue
            rel = _regular_file_inside(tree, prefix + name)
            if rel:
                scanned.append(rel)
    return tuple(scanned)


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


# --------------------------------------------------------------------------- main

def _text(raw: RawMetadata, unparsed: dict[str, list[str]], key: str, email_name: str,
          ) -> str | None:
    """A single-valued text field: raw when parsed, else leniently the first unparsed value."""
    value = raw.get(key)
    if isinstance(value, str):
        return value
    values = unparsed.get(email_name)
    return values[0] if values else None


def _strings(raw: RawMetadata, unparsed: dict[str, list[str]], key: str, email_name: str,
             ) -> list[str]:
    value = raw.get(key)
    if isinstance(value, list):
        return [str(v) for v in value]
    return list(unparsed.get(email_name, []))


def _project_urls(raw: RawMetadata, unparsed: dict[str, list[str]],
                  ) -> tuple[tuple[str, str], ...]:
    urls = raw.get("project_urls")
    if isinstance(urls, dict):
        return tuple((label, url) for label, url in urls.items())
    pairs = []
    for entry in unparsed.get("project-url", []):       # e.g. a label given twice
        label, _, url = entry.partition(",")
        pairs.append((label.strip(), url.strip()))
    return tuple(pairs)


def _unfold_description(text: str) -> str:
    """Undo the header folding of a multi-line Description field.

    Old tools wrote ``Description:`` as a header whose continuation lines start with
    8 spaces, or with 7 spaces and ``|`` (core metadata 2.1).  A description whose every
    continuation line starts so gets that prefix removed; anything else is left alone.
    """
    lines = text.split("\n")
    if len(lines) < 2 or not all(line.startswith(("        ", "       |"))
                                 for line in lines[1:]):
        return text
    return "\n".join([lines[0], *(line[8:] for line in lines[1:])])


def _author_from_email(author_email: str | None) -> str | None:
    if not author_email:
        return None
    names = [name.strip() for name, _addr in email.utils.getaddresses([author_email])
             if name.strip()]
    return ", ".join(names) or None


def _check_metadata_version(raw: RawMetadata, unparsed: dict[str, list[str]],
                            problems: list[str]) -> None:
    metadata_version = _metadata_version(raw, unparsed)
    if metadata_version is None:
        problems.append("missing, repeated or invalid Metadata-Version "
                        f"{_show(str(raw.get('metadata_version', '')))}")
    elif metadata_version.major > 2:
        problems.append(f"unsupported Metadata-Version {metadata_version}")


def _name(display_name: str, unparsed: dict[str, list[str]],
          problems: list[str]) -> NormalizedName | None:
    if "name" in unparsed:
        problems.append("the Name field is repeated or not valid UTF-8")
    elif not display_name:
        problems.append("missing Name")
    else:
        try:
            return canonicalize_name(display_name, validate=True)
        except InvalidName:
            problems.append(f"invalid project name {_show(display_name)}")
    return None


def _version(raw: RawMetadata, unparsed: dict[str, list[str]],
             problems: list[str]) -> Version | None:
    raw_version = (raw.get("version") or "").strip()
    if "version" in unparsed:
        problems.append("the Version field is repeated or not valid UTF-8")
    elif not raw_version:
        problems.append("missing Version")
    else:
        try:
            return Version(raw_version)
        except InvalidVersion:
            problems.append(f"invalid version {_show(raw_version)} (not PEP 440)")
    return None


def _requires_dist(raw: RawMetadata, unparsed: dict[str, list[str]],
                   problems: list[str]) -> tuple[Requirement, ...]:
    requires_dist: list[Requirement] = []
    for text in _strings(raw, unparsed, "requires_dist", "requires-dist"):
        try:
            requires_dist.append(Requirement(text))
        except InvalidRequirement as exc:
            problems.append(f"invalid requirement {_show(text)}: {_one_line(str(exc))[:200]}")
    return tuple(requires_dist)


def _requires_python(raw: RawMetadata, unparsed: dict[str, list[str]],
                     problems: list[str]) -> SpecifierSet | None:
    if "requires-python" in unparsed:
        problems.append("the Requires-Python field is repeated or not valid UTF-8")
    elif (rp := (raw.get("requires_python") or "").strip()):
        try:
            return SpecifierSet(rp)
        except InvalidSpecifier:
            problems.append(f"invalid Requires-Python {_show(rp)}")
    return None


def _extras(raw: RawMetadata, unparsed: dict[str, list[str]],
            problems: list[str]) -> tuple[str, ...]:
    extras: list[str] = []
    for extra in _strings(raw, unparsed, "provides_extra", "provides-extra"):
        try:
            extras.append(canonicalize_name(extra.strip(), validate=True))
        except InvalidName:
            problems.append(f"invalid extra name {_show(extra)}")
    return tuple(dict.fromkeys(extras))


def _console_scripts(tree: Path, pyproject: dict[str, Any], entry_points: str | None,
                     problems: list[str]) -> tuple[str, ...]:
    """The console scripts of the PEP 517 entry_points.txt when given, else of the
    egg-info's, else of pyproject.toml."""
    if entry_points is not None:
        scripts = _parse_entry_points(entry_points, "entry_points.txt", problems)
    elif (egg := _egg_info_entry_points(tree, problems)) is not None:
        scripts = _parse_entry_points(egg[1], egg[0], problems)
    else:
        scripts = _pyproject_scripts(pyproject, problems)
    for script in scripts:
        if not _SCRIPT_RE.match(script):
            problems.append(f"invalid console script name {_show(script)}")
    return tuple(dict.fromkeys(scripts))


def _description(raw: RawMetadata, unparsed: dict[str, list[str]]) -> str:
    description: str | bytes | None = raw.get("description")
    if description is None:
        # header and body both given: take the body; a body that is not UTF-8 comes as bytes
        bodies: list[str | bytes] = list(unparsed.get("description", []))
        description = bodies[-1] if bodies else ""
    if isinstance(description, bytes):
        description = description.decode("utf-8", "replace")
    return _unfold_description(description)


def project_from_metadata(
    metadata: bytes,
    tree: Path,
    *,
    source: Literal["PKG-INFO", "PEP 517"],
    entry_points: str | None = None,
    expected_name: str | None = None,
    expected_version: Version | None = None,
) -> Project:
    """Build a Project from core metadata plus what the source tree says.

    ``metadata``: PKG-INFO (static) or the PEP 517 METADATA.  ``entry_points``: the PEP 517
    entry_points.txt text; when None, ``*.egg-info/entry_points.txt`` (top or src/) and
    then pyproject.toml [project.scripts]/[project.gui-scripts] are used.
    ``expected_name``/``expected_version``: what the index says; a mismatch is an error.
    All problems are reported together in one MetadataError.
    """
    raw, unparsed = parse_email(metadata)
    problems: list[str] = []
    _check_metadata_version(raw, unparsed, problems)
    display_name = (raw.get("name") or "").strip()
    name = _name(display_name, unparsed, problems)
    version = _version(raw, unparsed, problems)
    name_differs = (expected_name is not None and name is not None
                    and canonicalize_name(expected_name) != name)
    version_differs = (expected_version is not None and version is not None
                       and version != expected_version)
    if name_differs or version_differs:
        index_says = " ".join(str(x) for x in (expected_name, expected_version) if x is not None)
        problems.append(f"sdist says {display_name} {version} but the index says {index_says}")
    requires_dist = _requires_dist(raw, unparsed, problems)
    requires_python = _requires_python(raw, unparsed, problems)
    extras = _extras(raw, unparsed, problems)
    pyproject = _read_pyproject(tree, problems)
    build_requires, build_backend = _build_system(pyproject, problems)
    scripts = _console_scripts(tree, pyproject, entry_points, problems)
    if problems:
        raise MetadataError(f"invalid metadata ({source}): " + "; ".join(problems),
                            project=expected_name or name or tree.name)
    assert name is not None and version is not None
    author_email = _text(raw, unparsed, "author_email", "author-email")
    author = _text(raw, unparsed, "author", "author") or _author_from_email(author_email)

    return Project(
        name=name,
        display_name=display_name,
        version=version,
        summary=_one_line(_text(raw, unparsed, "summary", "summary") or ""),
        description=_description(raw, unparsed),
        description_content_type=_text(raw, unparsed, "description_content_type",
                                       "description-content-type"),
        license=_text(raw, unparsed, "license", "license"),
        license_expression=_text(raw, unparsed, "license_expression", "license-expression"),
        license_files=_license_files(
            tree, _strings(raw, unparsed, "license_files", "license-file")),
        author=author,
        author_email=author_email,
        home_page=_text(raw, unparsed, "home_page", "home-page"),
        project_urls=_project_urls(raw, unparsed),
        requires_dist=requires_dist,
        requires_python=requires_python,
        provides_extra=extras,
        console_scripts=scripts,
        build_requires=build_requires,
        build_backend=build_backend,
        has_native_code=find_native_sources(tree) and compiles(tree, pyproject, build_backend),
        has_cplusplus=find_cplusplus_sources(tree),
        metadata_source=source,
        pep621=isinstance(pyproject.get("project"), dict),
        toml10=_mixed_arrays(pyproject),
        classifiers=bool(isinstance(table := pyproject.get("project"), dict)
                         and table.get("classifiers")),
        flat_discovery=flat_discovery(tree, pyproject, build_backend),
        meson_version=_meson_version(tree, name),
    )
