"""A project's overrides (``[packages.<name>]`` of repack.toml), checked into model.Overrides.

The keys (repack.config's docstring shows them together):

    depends = { deb = ["libpq5 (>= 14)"], rpm = ["libpq >= 14"] }   # run-time, per family
    build-depends = { deb = ["libpq-dev"], rpm = ["libpq-devel"] }
    recommends = { deb = ["python3-numpy"], rpm = ["python3dist(numpy)"] }  # weak run-time
    conflicts = { deb = ["python3-psycopg2-old"], rpm = ["python3-psycopg2-old"] }
    exclude = ["/usr/lib/python3*/*/psycopg2/tests/*"]   # installed paths (globs) left out
    patches = ["patches/psycopg2/0001-fix.patch"]        # beside the config file; in order
    env = { PSYCOPG_NO_BINARY = "1" }                    # the build's and its hooks'
    config-settings = { setup-args = ["-Dsystem-freetype=true"] }   # PEP 517 config settings
    requires-dist = ["mypy-extensions>=1.0"]   # run-time requirements the metadata lacks

Each value is written into a file that a tool parses (debian/control, debian/rules, the
.spec, a shell line in them), so each is checked against what that field may hold, not
escaped after the fact: a Debian relation is one group of ``name [(op version)]`` atoms
joined by ``|`` (a conflict is one atom); an rpm dependency is ``name [op version]`` without
``%`` (rpm expands macros in every tag), commas or whitespace (each separates dependencies);
a glob is an absolute path of letters, digits, ``._+@=~-`` and the wildcards ``*?``, without
``.``/``..`` segments (it is spliced, unquoted, into an ``rm -rf`` line beneath the package
root); an env name is ``[A-Z_][A-Z0-9_]*`` and not one that steers the build itself
(RESERVED_ENV); a value is one printable line without a backslash; a PEP 517 config
setting's key is a word of ``[A-Za-z0-9._-]`` and each value one word of
``[A-Za-z0-9_.,:=+/@-]`` (it joins a pip command line in the .spec's %build, and rpm expands
``%``); a requirement is PEP 508 without a URL or ``===``, written back as packaging
normalises it, and is then mapped like the project's own. Patch files are read here, once:
their bytes are what the build applies and what the build cache key covers. Any mistake
is a ConfigError (exit 2) naming ``[packages.<name>].<key>``.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from repack.errors import ConfigError
from repack.model import DebName, DebVersion, Overrides, Patch, Relation

__all__ = ["FAMILIES", "KEYS", "RESERVED_ENV", "RESERVED_ENV_PREFIXES", "config_setting_problem",
           "deb_relations", "env_problem", "is_glob", "parse", "rpm_dependency"]

KEYS = frozenset({"depends", "recommends", "build-depends", "conflicts", "exclude", "patches",
                  "env", "config-settings", "requires-dist"})
FAMILIES = frozenset({"deb", "rpm"})
PATCH_LIMIT = 16 << 20

_DEB_ATOM = re.compile(
    r"\s*(?P<name>[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?)"
    r"(?:\s*\(\s*(?P<op><<|<=|=|>=|>>)\s*(?P<version>(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*)\s*\))?\s*")
_RPM_NAME = r"[A-Za-z0-9_/][A-Za-z0-9._+/()-]*"
_RPM_DEP = re.compile(rf"(?P<name>{_RPM_NAME})(?: (?:<|<=|=|>=|>) [A-Za-z0-9._+~^:-]+)?")
_SEGMENT = r"(?:[A-Za-z0-9_+@=~*?-]|\.[A-Za-z0-9_+@=~-])[A-Za-z0-9._+@=~*?-]*"
_GLOB = re.compile(rf"(?:/{_SEGMENT})+")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_SETTING_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SETTING_VALUE = re.compile(r"[A-Za-z0-9_.,:=+/@-]{1,400}")
MAX_SETTING_VALUES = 64
_PATCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\.(?:patch|diff)")
ENV_VALUE_MAX = 4096

# Names a build reads to decide what it runs, where it installs, how it is checked or when
# it was made; set from a config file they would change the build behind repack's back.
RESERVED_ENV: dict[str, str] = {
    "PATH": "it selects the programs the build runs",
    "HOME": "the builder's home directory is part of the build environment repack sets",
    "SHELL": "it selects the shell the build's commands run in",
    "IFS": "it changes how the build's shell splits words",
    "ENV": "the shell reads it as a startup file",
    "BASH_ENV": "the shell reads it as a startup file",
    "CDPATH": "it changes where the build's `cd` goes",
    "SOURCE_DATE_EPOCH": "repack sets it from the release, for reproducible builds",
    "TMPDIR": "the builder's temporary directory is repack's",
    "GCONV_PATH": "glibc loads code from it",
    "MAKEFLAGS": "it changes how debian/rules runs", "MFLAGS": "it changes how debian/rules runs",
    "GNUMAKEFLAGS": "it changes how debian/rules runs",
    "MAKELEVEL": "it changes how debian/rules runs",
    "SETUPTOOLS_SCM_PRETEND_VERSION": "the version is the verified sdist's",
    "PWD": "the shell keeps it: the build's working directory",
    "SHELLOPTS": "the shell reads its options from it",
    "BASHOPTS": "the shell reads its options from it",
    "GLIBC_TUNABLES": "the dynamic loader reads it",
    "TAR_OPTIONS": "dpkg-source and rpmbuild run tar, which reads it (the source packages)",
    "GZIP": "gzip reads options from it (the source packages)",
}
RESERVED_ENV_PREFIXES: dict[str, str] = {
    "LD_": "the dynamic loader reads it (LD_PRELOAD, LD_LIBRARY_PATH load other code)",
    "PYTHON": "the interpreter reads it (PYTHONPATH, PYTHONHOME, PYTHONSTARTUP run other code)",
    "PIP_": "repack's own pip runs use it (index, wheels, what is installed)",
    "DEB_": "dpkg-buildpackage and debhelper read it (build options, flags)",
    "DPKG_": "dpkg's tools read it",
    "DH_": "debhelper reads it",
    "PYBUILD_": "pybuild reads it (what is built, installed and tested)",
    "QUILT_": "the patch series is repack's",
    "RPM_": "rpmbuild sets it",
    "REPACK_": "repack's own settings",
    "PERL": "debhelper and dpkg's tools are Perl (PERL5LIB, PERL5OPT load other code)",
    "XZ_": "xz reads options from it (the packages' compression)",
    "SETUPTOOLS_SCM_PRETEND_VERSION": "the version is the verified sdist's",
}


def _fail(where: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{where}.{key}: {problem}")


def deb_relations(text: str) -> tuple[Relation, ...]:
    """One Debian relation group, ``a (>= 1) | b``, as Relations; ValueError if it is not
    one (a comma would start another group, brackets and restrictions are not taken)."""
    if not isinstance(text, str) or not text.isprintable():
        raise ValueError("not one printable line")
    atoms = []
    for part in text.split("|"):
        m = _DEB_ATOM.fullmatch(part)
        if m is None:
            raise ValueError("not a Debian relation like 'libpq5 (>= 14)' or 'a | b'")
        atoms.append(Relation(name=DebName(m["name"]), op=m["op"],
                              version=DebVersion(m["version"]) if m["version"] else None))
    return tuple(atoms)


def rpm_dependency(text: str) -> str:
    """One rpm dependency, ``name [op version]`` (``libpq``, ``libpq.so.5()(64bit)``,
    ``python3dist(foo) >= 2``); ValueError otherwise.  Single spaces only, no ``%``, no
    comma, parentheses balanced; rich dependencies are not taken."""
    if not isinstance(text, str) or not _RPM_DEP.fullmatch(text):
        raise ValueError("not an rpm dependency like 'libpq' or 'libpq >= 14' (no %, commas, "
                         "rich dependencies or extra spaces)")
    depth = 0
    for ch in text.partition(" ")[0]:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth:
        raise ValueError("unbalanced parentheses")
    return text


def _per_family(value: object, where: str, key: str) -> dict[str, list[str]]:
    if not isinstance(value, dict) or not set(value) <= FAMILIES or not all(
            isinstance(v, list) and all(isinstance(s, str) for s in v) for v in value.values()):
        raise _fail(where, key, "must be a table of lists of strings per family, like "
                    '{ deb = ["libpq5"], rpm = ["libpq"] }')
    return value


def _dependencies(value: object, where: str,
                  key: str) -> tuple[tuple[tuple[Relation, ...], ...], tuple[str, ...]]:
    table = _per_family(value, where, key)
    deb, rpm = [], []
    for text in table.get("deb", []):
        try:
            deb.append(deb_relations(text))
        except ValueError as e:
            raise _fail(where, key, f"deb entry {text!r}: {e}") from None
    for text in table.get("rpm", []):
        try:
            rpm.append(rpm_dependency(text))
        except ValueError as e:
            raise _fail(where, key, f"rpm entry {text!r}: {e}") from None
    return tuple(deb), tuple(rpm)


def _conflicts(value: object, where: str) -> tuple[tuple[Relation, ...], tuple[str, ...]]:
    """Conflicts per family: Debian's field takes no alternatives, so each entry is one
    atom (a package that ships the same files, as trixie's python3-opentelemetry-proto and
    the index's opentelemetry-proto do)."""
    groups, rpm = _dependencies(value, where, "conflicts")
    for group in groups:
        if len(group) != 1:
            raise _fail(where, "conflicts", f"deb entry {' | '.join(map(str, group))!r}: one "
                        "package, not alternatives")
    return tuple(g[0] for g in groups), rpm


def _exclude(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
            isinstance(g, str) and _GLOB.fullmatch(g) for g in value):
        raise _fail(where, "exclude", "must be a list of absolute paths or globs like "
                    '"/usr/lib/python3*/*/foo/tests/*" (letters, digits, ._+@=~- and *?; '
                    "no spaces, quotes, %, $ or ./.. segments)")
    return tuple(value)


def is_glob(text: str) -> bool:
    """Whether `text` is an exclude glob this module accepts (the renderers check again)."""
    return bool(_GLOB.fullmatch(text))


def env_problem(name: str, value: object) -> str | None:
    """Why `name` = `value` may not be set in a build's environment, or None."""
    if not _ENV_NAME.fullmatch(name):
        return f"{name!r} is not a variable name [A-Z_][A-Z0-9_]*"
    why = RESERVED_ENV.get(name) or next(
        (w for p, w in RESERVED_ENV_PREFIXES.items() if name.startswith(p)), None)
    if why is not None:
        return f"{name} may not be set: {why}"
    if not isinstance(value, str) or not value.isprintable() or "\\" in value \
            or value != value.strip() or len(value) > ENV_VALUE_MAX:
        return (f"{name}: the value must be a string on one printable line, without a "
                "backslash or surrounding blanks")
    return None


def _env(value: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise _fail(where, "env", 'must be a table of strings, like { NAME = "value" }')
    for name, v in value.items():
        if (problem := env_problem(name, v)) is not None:
            raise _fail(where, "env", problem)
    return tuple(sorted(value.items()))


def config_setting_problem(key: str, values: object) -> str | None:
    """Why `key` = `values` (a string or a list of strings) may not be a PEP 517 config
    setting of a build, or None."""
    if not isinstance(key, str) or not _SETTING_KEY.fullmatch(key):
        return f"{key!r} is not a config setting name (letters, digits and ._-)"
    items = [values] if isinstance(values, str) else values
    if not isinstance(items, list) or not items or len(items) > MAX_SETTING_VALUES or not all(
            isinstance(v, str) and _SETTING_VALUE.fullmatch(v) for v in items):
        return (f"{key}: the value must be a string or a list of strings, each one word of "
                "letters, digits and _.,:=+/@- (no spaces, quotes, %, $ or backslashes)")
    return None


def _config_settings(value: object, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise _fail(where, "config-settings", "must be a table of strings or lists of "
                    'strings, like { setup-args = ["-Dsystem-freetype=true"] }')
    for key, v in value.items():
        if (problem := config_setting_problem(key, v)) is not None:
            raise _fail(where, "config-settings", problem)
    return tuple(sorted((k, (v,) if isinstance(v, str) else tuple(v))
                        for k, v in value.items()))


def _requires_dist(value: object, where: str) -> tuple[str, ...]:
    """Run-time requirements an upstream forgot to declare, as PEP 508 strings: the same
    mapping (per target, markers and all) and the same --with-deps closure as its own."""
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise _fail(where, "requires-dist", 'must be a list of PEP 508 requirements, like '
                    '["mypy-extensions>=1.0"]')
    out: list[str] = []
    for text in value:
        try:
            req = Requirement(text)
        except InvalidRequirement as e:
            raise _fail(where, "requires-dist", f"{text!r} is not a PEP 508 requirement "
                        f"({str(e).splitlines()[0]})") from None
        if req.url or any(s.operator == "===" for s in req.specifier):
            raise _fail(where, "requires-dist", f"{text!r}: a requirement on the index by "
                        "name and version, not a URL or arbitrary equality (===)")
        out.append(str(req))
    return tuple(dict.fromkeys(out))


def _read_patch(path: Path, where: str, shown: str) -> bytes:
    """The patch's bytes, read once from a regular file (not through a symlink)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        raise _fail(where, "patches", f"{shown}: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _fail(where, "patches", f"{shown} is not a regular file")
        if st.st_size > PATCH_LIMIT:
            raise _fail(where, "patches", f"{shown} is larger than {PATCH_LIMIT >> 20} MiB")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(PATCH_LIMIT + 1)
    finally:
        os.close(fd)
    if not data.strip():
        raise _fail(where, "patches", f"{shown} is empty")
    return data


def _patches(value: object, where: str, base: Path) -> tuple[Patch, ...]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise _fail(where, "patches", "must be a list of patch files, relative to the config "
                    'file, like ["patches/0001-fix.patch"]')
    out: list[Patch] = []
    for text in value:
        name = Path(text).name
        if not _PATCH_NAME.fullmatch(name):
            raise _fail(where, "patches", f"{text!r}: the file name must be letters, digits "
                        "and ._+- ending in .patch or .diff")
        if name in {p.name for p in out}:
            raise _fail(where, "patches", f"{text!r}: two patches named {name}")
        data = _read_patch(base / Path(text).expanduser(), where, repr(text))
        out.append(Patch(name=name, data=data, sha256=hashlib.sha256(data).hexdigest()))
    return tuple(out)


def parse(entry: Mapping[str, object], where: str, base: Path) -> Overrides:
    """The override keys (KEYS) of one ``[packages.<name>]`` table; `where` names the table
    in errors ("repack.toml: [packages.foo]"), `base` is the directory patches are beside."""
    depends, requires = _dependencies(entry.get("depends", {}), where, "depends")
    build_depends, build_requires = _dependencies(entry.get("build-depends", {}), where,
                                                  "build-depends")
    recommends, rpm_recommends = _dependencies(entry.get("recommends", {}), where, "recommends")
    conflicts, rpm_conflicts = _conflicts(entry.get("conflicts", {}), where)
    return Overrides(depends=depends, build_depends=build_depends, requires=requires,
                     build_requires=build_requires, recommends=recommends,
                     rpm_recommends=rpm_recommends, conflicts=conflicts,
                     rpm_conflicts=rpm_conflicts,
                     exclude=_exclude(entry.get("exclude", []), where),
                     patches=_patches(entry.get("patches", []), where, base),
                     env=_env(entry.get("env", {}), where),
                     config_settings=_config_settings(entry.get("config-settings", {}), where),
                     requires_dist=_requires_dist(entry.get("requires-dist", []), where))
