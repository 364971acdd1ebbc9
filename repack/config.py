"""Settings: command line > environment > project config > user config > defaults.

Two files, both optional, both TOML with the same tables: the user's
`$XDG_CONFIG_HOME/repack/config.toml`, then the project's `repack.toml` in the working
directory (or the file `--config` names), whose keys win:

    [maintainer]               # else DEBFULLNAME/DEBEMAIL, else the signing key's user id
    name = "Example Team"
    email = "packages@example.org"

    [build]
    engine = "podman"          # or "docker"; default: detected
    output = "repack-out"
    timeout = 3600             # seconds a build container may run
    memory = "8g"              # memory a build container may use
    pids = 4096                # processes a build container may run at once

    [trust]                    # the upstream trust policy: see repack.trust.policy
    require-signature = false  # (merges key by key with the other file's; rules do not)

    [publish]                  # defaults of publish, repo, key and sign's options
    repo = "repo"              # --repo (paths are relative to this file's directory)
    url = "https://packages.example.org/repack"   # --url
    name = "example"           # --name
    valid-days = 7             # --valid-days (at least 1)
    gnupghome = "gnupg"        # --gnupghome
    key = "0123...CDEF"        # --key (fingerprint)
    keyring-packages = false   # true: publish builds <name>-archive-keyring, <name>-release

    [repository]               # the desired state `repack sync` makes true (project file only)
    path = "repo"              # default: [publish] repo
    targets = ["debian-12", "el9"]
    requirements = ["django>=4.2,<5"]   # or requirements-file = "..." or lock = "repack.lock"
    [repository.channels.testing]       # further channels, the same three keys

    [packages.awscli]          # per PyPI project (PEP 503 names match)
    name = "python3-awscli-pypi"            # its package name instead of the archive's awscli
    allow-paths = ["/usr/bin/aws"]          # files of the target system it may replace
    check = false                           # the import check skips its modules

    [packages.psycopg2]        # overrides of one project's build (repack.overrides checks them)
    depends = { deb = ["libpq5 (>= 14)"], rpm = ["libpq >= 14"] }   # extra run-time deps
    recommends = { deb = ["postgresql-client"], rpm = ["postgresql"] }  # weak ones
    build-depends = { deb = ["libpq-dev"], rpm = ["libpq-devel"] }  # and build deps
    conflicts = { deb = ["python3-psycopg2-old"] }       # packages of the same files
    exclude = ["/usr/lib/python3*/*/psycopg2/tests/*"]   # installed paths (globs) left out
    patches = ["patches/psycopg2/0001-fix.patch"]        # -p1, beside this file; in order
    env = { PSYCOPG_NO_BINARY = "1" }                    # the build's environment
    requires-dist = ["packaging>=20"]   # PEP 508 run-time requirements its metadata lacks

The trust policy belongs with the project (it is reviewed and committed beside the
requirements it governs); its keyring directory is resolved beside the file that holds it.
Secrets never live here.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs
from packaging.utils import canonicalize_name

from repack import overrides
from repack.container.engine import Limits
from repack.errors import ConfigError, unknown_keys
from repack.model import Overrides
from repack.trust.policy import Policy, from_table

DEFAULT_MAINTAINER = "repack <repack@example.invalid>"
DEFAULT_SOURCE = "the default"
# "Name <local@domain>" on one line: what debian/control's Maintainer, a changelog trailer
# and an rpm %changelog entry all take.  No quotes, commas, semicolons or backslashes in
# the name (RFC 5322 would need quoting; Uploaders-style lists split on commas).
_NAME_CHAR = r'[^<>",;\\\s]'
_ADDR_CHAR = r'[^<>()",;\\\s@]'
_MAINTAINER = re.compile(
    rf'{_NAME_CHAR}(?:[^<>",;\\]*{_NAME_CHAR})? <{_ADDR_CHAR}+@{_ADDR_CHAR}+>')
PROJECT_CONFIG = "repack.toml"
_SECTIONS = {"maintainer", "build", "trust", "packages", "publish", "repository"}
_PACKAGE_KEYS = {"name", "allow-paths", "check", "scripts-without-help", *overrides.KEYS}
# A console script's file name in /usr/bin (repack.check runs it as an argv item).
SCRIPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
# Debian Policy 5.6.1; also a valid RPM name, so one name serves every target.
_PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageSettings:
    """What the user decided for one PyPI project (``[packages.<name>]``)."""

    name: str | None = None                # the binary package's name on every target
    allow_paths: tuple[str, ...] = ()      # target-system files its package may replace
    overrides: Overrides = field(default_factory=Overrides)   # deps, patches, excludes, env
    check: bool = True                     # false: the import check skips its modules
    # console scripts the import check does not run with --help (upstream's take no --help)
    scripts_without_help: tuple[str, ...] = ()

    def cache_data(self) -> list[object]:
        """What the build cache key covers of it (not `check`: it builds the same)."""
        return [self.name, sorted(self.allow_paths), self.overrides.cache_data()]

    def builds_differently(self) -> bool:
        """Whether it changes what a build makes (an entry with `check` alone does not)."""
        return self.cache_data() != PackageSettings().cache_data()


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishSettings:
    """The ``[publish]`` table: what the repository commands use when an option is not
    given on the command line (None: not set; the command's own default applies)."""

    repo: Path | None = None
    url: str | None = None
    name: str | None = None
    valid_days: int | None = None
    gnupghome: Path | None = None
    key: str | None = None
    keyring_packages: bool = False   # build <name>-archive-keyring / <name>-release


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    """What one channel of the repository should hold: exactly one of the three sources."""

    name: str | None                          # None: the default channel
    requirements: tuple[str, ...] = ()        # PEP 508 requirements, resolved with their deps
    requirements_file: Path | None = None     # a pip requirements file (resolved likewise)
    lock: Path | None = None                  # a lock file (`repack lock`): exactly that


@dataclass(frozen=True, slots=True, kw_only=True)
class RepositorySettings:
    """The ``[repository]`` table: the desired state of the published repository that
    `repack sync` compares with what it holds.  Unset path, name and url fall back to
    ``[publish]``'s."""

    path: Path | None = None
    name: str | None = None
    url: str | None = None
    targets: tuple[str, ...] = ()
    channels: Mapping[str | None, Channel] = field(default_factory=dict)   # None: default


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    cache_dir: Path
    config_file: Path
    maintainer: str
    maintainer_source: str = DEFAULT_SOURCE   # where `maintainer` came from, for the log
    engine: str | None
    output_dir: Path
    policy: Policy = field(default_factory=Policy)
    project_file: Path | None = None     # the repack.toml read, if any
    limits: Limits = field(default_factory=Limits)   # what one build container may use
    packages: Mapping[str, PackageSettings] = field(default_factory=dict)  # PEP 503 name ->
    publish: PublishSettings = field(default_factory=PublishSettings)
    repository: RepositorySettings | None = None    # [repository] of the project file

    def package_names(self) -> dict[str, str]:
        """PEP 503 name -> the package name chosen for it (`naming`'s *names*)."""
        return {k: v.name for k, v in self.packages.items() if v.name is not None}

    def overrides(self, project: str) -> Overrides:
        """The overrides of `project` (PEP 503 names match); none when it has no table."""
        entry = self.packages.get(canonicalize_name(project))
        return entry.overrides if entry else Overrides()

    def allowed_paths(self, project: str) -> frozenset[str]:
        entry = self.packages.get(canonicalize_name(project))
        return frozenset(entry.allow_paths) if entry else frozenset()

    def import_checked(self, project: str) -> bool:
        """Whether the import check imports the project's modules (`check = false`: no)."""
        entry = self.packages.get(canonicalize_name(project))
        return entry.check if entry else True

    def scripts_without_help(self, project: str) -> frozenset[str]:
        """The project's console scripts the import check does not run with --help."""
        entry = self.packages.get(canonicalize_name(project))
        return frozenset(entry.scripts_without_help) if entry else frozenset()


def config_path() -> Path:
    return Path(platformdirs.user_config_dir("repack")) / "config.toml"


def _read(path: Path) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    if (problem := unknown_keys(data, _SECTIONS)) is not None:
        raise ConfigError(f"{path}: {problem.replace('key(s)', 'section(s)')}")
    return data


def load(config_file: Path | None = None, *, environ: dict[str, str] | None = None,
         cwd: Path | None = None) -> Settings:
    """Settings from the user's and the project's files.  `config_file` replaces
    ./repack.toml and must exist."""
    env = os.environ if environ is None else environ
    user_file = config_path()
    user = _read(user_file) if user_file.is_file() else {}
    candidate = config_file if config_file is not None else (cwd or Path.cwd()) / PROJECT_CONFIG
    project: dict[str, object] = {}
    project_file: Path | None = None
    if candidate.is_file():
        project, project_file = _read(candidate), candidate
    elif config_file is not None and config_file.exists():
        raise ConfigError(f"config file {config_file} is not a regular file (the patches and "
                          "keyrings it names are found beside it)")
    elif config_file is not None:
        raise ConfigError(f"config file {config_file} does not exist")
    path = project_file or user_file
    if "repository" in user:
        raise ConfigError(f"{user_file}: [repository] belongs in the project's repack.toml "
                          "(the desired state is reviewed with the project)")
    maint = {**_table(user, "maintainer", user_file), **_table(project, "maintainer", path)}
    build = {**_table(user, "build", user_file, _BUILD_NUMBERS),
             **_table(project, "build", path, _BUILD_NUMBERS)}
    policy = _policy(user, user_file, project, project_file)
    maintainer, maintainer_source = _maintainer(
        env, maint, project_file if _has_table(project, "maintainer") else user_file)
    cache = Path(env.get("REPACK_CACHE_DIR") or platformdirs.user_cache_dir("repack"))
    return Settings(
        cache_dir=cache,
        config_file=path,
        maintainer=maintainer,
        maintainer_source=maintainer_source,
        engine=env.get("REPACK_ENGINE") or _str(build.get("engine")),
        output_dir=Path(_str(build.get("output")) or "repack-out"),
        policy=policy,
        project_file=project_file,
        limits=_limits(build, path),
        packages={**_packages(user, user_file), **_packages(project, path)},
        publish=_publish({**_publish_table(user, user_file),
                          **_publish_table(project, path)}),
        repository=_repository(project, project_file) if project_file is not None else None,
    )


def _has_table(data: dict[str, object], key: str) -> bool:
    return bool(data.get(key))


def _maintainer(env: Mapping[str, str], table: dict[str, object],
                path: Path | None) -> tuple[str, str]:
    """The maintainer the user chose and where (DEBFULLNAME/DEBEMAIL, then [maintainer]);
    the default when neither names both (`resolve_maintainer` may then use the signing
    key's user id)."""
    name, email = env.get("DEBFULLNAME"), env.get("DEBEMAIL")
    source = "DEBFULLNAME/DEBEMAIL"
    if not (name and email or email and "<" in email):
        name, email = name or _str(table.get("name")), email or _str(table.get("email"))
        source = f"{path} [maintainer]" if table else source
    if email and "<" in email:  # DEBEMAIL="Name <mail>" is allowed by devscripts, and wins
        value = email
    elif name and email:
        value = f"{name} <{email}>"
    else:
        return DEFAULT_MAINTAINER, DEFAULT_SOURCE
    return check_maintainer(value, source), source


def check_maintainer(value: str, source: str) -> str:
    """`value` if it is one printable line "Name <local@domain>"; else ConfigError (exit 2)
    naming where it came from.  Upstream never supplies it, but it lands in control fields,
    a changelog trailer and rpm headers, so it gets the same scrutiny."""
    if not (value.isprintable() and _MAINTAINER.fullmatch(value)):
        raise ConfigError(f"{source}: maintainer {value!r} must be one line like "
                          "'Name <email>' (no quotes, commas, semicolons, backslashes or "
                          "control characters)")
    return value


def resolve_maintainer(settings: Settings, gnupghome: Path | None = None,
                       key: str | None = None) -> Settings:
    """The settings with the maintainer a build uses, said in one log line: the user's
    (DEBFULLNAME/DEBEMAIL, [maintainer]), else the user id of the key repack would sign
    with (--key or [publish] key, else the newest published one, in --gnupghome or
    [publish] gnupghome or the default home), else DEFAULT_MAINTAINER.  A key whose user
    id is no "Name <email>" is passed over with a warning."""
    from repack import keys, log
    from repack.gpg import default_gnupghome

    if settings.maintainer_source == DEFAULT_SOURCE:
        home = gnupghome or settings.publish.gnupghome or default_gnupghome()
        found = keys.signing_uid(home, key or settings.publish.key)
        if found is not None:
            fingerprint, uid = found
            source = f"the signing key {fingerprint}"
            try:
                value = check_maintainer(uid, source)
            except ConfigError as e:
                log.warn(f"{e}; using {DEFAULT_MAINTAINER}")
            else:
                settings = dataclasses.replace(settings, maintainer=value,
                                               maintainer_source=source)
    log.info(f"maintainer: {settings.maintainer} (from {settings.maintainer_source})")
    return settings


_BUILD_NUMBERS = frozenset({"timeout", "pids"})


def _limits(build: dict[str, object], path: Path) -> Limits:
    default = Limits()
    try:
        return Limits(timeout=_int(build.get("timeout"), default.timeout),
                      memory=_str(build.get("memory")) or default.memory,
                      pids=_int(build.get("pids"), default.pids))
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e


def _policy(user: dict[str, object], user_file: Path, project: dict[str, object],
            project_file: Path | None) -> Policy:
    """The [trust] policy.  The rules (and their keyring and `require`) come from one file,
    the project's when it has a [trust] table; `require-signature` and `deny-vulnerable`
    merge key by key, the project's winning, so a user's `true` is not lost to a project
    table that does not set the key."""
    mine = from_table(user["trust"], user_file) if "trust" in user else None
    if "trust" not in project or project_file is None:
        return mine or Policy()
    table = project["trust"]
    policy = from_table(table, project_file)
    if mine is None or not isinstance(table, dict):
        return policy
    return dataclasses.replace(
        policy,
        require_signature=policy.require_signature if "require-signature" in table
        else mine.require_signature,
        deny_vulnerable=policy.deny_vulnerable if "deny-vulnerable" in table
        else mine.deny_vulnerable)


def _packages(data: dict[str, object], path: Path) -> dict[str, PackageSettings]:
    """``[packages.<name>]`` tables, keyed by PEP 503 name; anything else is refused."""
    table = data.get("packages", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [packages] must hold one table per project")
    out: dict[str, PackageSettings] = {}
    for project, entry in table.items():
        where = f"{path}: [packages.{project}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table")
        if (problem := unknown_keys(entry, _PACKAGE_KEYS)) is not None:
            raise ConfigError(f"{where}: {problem}")
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or not _PACKAGE_NAME.fullmatch(name)):
            raise ConfigError(f"{where}: name must be a package name of lowercase letters, "
                              f"digits and + . - (got {name!r})")
        paths = entry.get("allow-paths", [])
        if not isinstance(paths, list) or not all(
                isinstance(p, str) and p.startswith("/") and "\n" not in p
                and posixpath.normpath(p) == p for p in paths):
            raise ConfigError(f"{where}: allow-paths must be a list of absolute, normalised "
                              "paths like \"/usr/bin/su\"")
        check = entry.get("check", True)
        if not isinstance(check, bool):
            raise ConfigError(f"{where}: check must be true or false (got {check!r})")
        unhelped = entry.get("scripts-without-help", [])
        if not isinstance(unhelped, list) or not all(
                isinstance(n, str) and SCRIPT_NAME.fullmatch(n) for n in unhelped):
            raise ConfigError(f"{where}: scripts-without-help must be a list of console script "
                              "names like \"pyftmerge\"")
        out[canonicalize_name(project)] = PackageSettings(
            name=name, allow_paths=tuple(paths),
            overrides=overrides.parse(entry, where, path.absolute().parent), check=check,
            scripts_without_help=tuple(unhelped))
    return out


_PUBLISH_KEYS = frozenset({"repo", "url", "name", "valid-days", "gnupghome", "key",
                           "keyring-packages"})
_PUBLISH_PATHS = frozenset({"repo", "gnupghome"})


def _publish_table(data: dict[str, object], path: Path) -> dict[str, object]:
    """One file's ``[publish]`` table, checked, its paths resolved beside that file (so a
    user file's and a project file's entries each mean what their own file says)."""
    table = data.get("publish", {})
    where = f"{path}: [publish]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    if (problem := unknown_keys(table, _PUBLISH_KEYS)) is not None:
        raise ConfigError(f"{where} {problem}")
    out: dict[str, object] = {}
    for k, v in table.items():
        if k == "valid-days":
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{where} valid-days must be a whole number of days, at "
                                  f"least 1 (got {v!r})")
            out[k] = v
            continue
        if k == "keyring-packages":
            if not isinstance(v, bool):
                raise ConfigError(f"{where} keyring-packages must be true or false (got {v!r})")
            out[k] = v
            continue
        if not isinstance(v, str) or not v or any(c in v for c in "\n\r\0"):
            raise ConfigError(f"{where} {k} must be a non-empty one-line string (got {v!r})")
        out[k] = path.absolute().parent / Path(v).expanduser() if k in _PUBLISH_PATHS else v
    return out


def _publish(merged: dict[str, object]) -> PublishSettings:
    def path(k: str) -> Path | None:
        v = merged.get(k)
        return v if isinstance(v, Path) else None

    days = merged.get("valid-days")
    return PublishSettings(repo=path("repo"), url=_str(merged.get("url")),
                           name=_str(merged.get("name")),
                           valid_days=days if isinstance(days, int) else None,
                           gnupghome=path("gnupghome"), key=_str(merged.get("key")),
                           keyring_packages=merged.get("keyring-packages") is True)


_REPOSITORY_KEYS = frozenset({"path", "name", "url", "targets", "channels"})
_SOURCE_KEYS = ("requirements", "requirements-file", "lock")
_CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


def _repository(data: dict[str, object], path: Path) -> RepositorySettings | None:
    """The project file's ``[repository]`` table, checked (the desired state belongs with
    the project, like the trust policy; a user file's is refused as unknown there)."""
    if "repository" not in data:
        return None
    table = data["repository"]
    where = f"{path}: [repository]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    allowed = _REPOSITORY_KEYS | set(_SOURCE_KEYS)
    if (problem := unknown_keys(table, allowed)) is not None:
        raise ConfigError(f"{where} {problem}")
    text: dict[str, str] = {}
    for k in ("path", "name", "url"):
        v = table.get(k)
        if v is not None and (not isinstance(v, str) or not v
                              or any(c in v for c in "\n\r\0")):
            raise ConfigError(f"{where} {k} must be a non-empty one-line string (got {v!r})")
        if v is not None:
            text[k] = v
    targets = table.get("targets")
    if not isinstance(targets, list) or not targets or not all(
            isinstance(t, str) and t for t in targets) or len(set(targets)) != len(targets):
        raise ConfigError(f"{where} targets must be a non-empty list of distinct target "
                          f"ids like [\"debian-12\", \"el9\"] (got {targets!r})")
    channels: dict[str | None, Channel] = {}
    if any(k in table for k in _SOURCE_KEYS):
        channels[None] = _channel(table, None, path, where)
    extra = table.get("channels", {})
    if not isinstance(extra, dict):
        raise ConfigError(f"{where} channels must hold one table per channel")
    for name, entry in extra.items():
        here = f"{path}: [repository.channels.{name}]"
        if not _CHANNEL_NAME.fullmatch(name):
            raise ConfigError(f"{here}: a channel name is lowercase letters, digits and -")
        if not isinstance(entry, dict):
            raise ConfigError(f"{here} must be a table")
        if (problem := unknown_keys(entry, _SOURCE_KEYS)) is not None:
            raise ConfigError(f"{here} {problem}")
        channels[name] = _channel(entry, name, path, here)
    if not channels:
        raise ConfigError(f"{where} names nothing to publish: give requirements, "
                          "requirements-file or lock (or a [repository.channels.NAME] table)")
    base = path.absolute().parent
    return RepositorySettings(
        path=base / Path(text["path"]).expanduser() if "path" in text else None,
        name=text.get("name"), url=text.get("url"), targets=tuple(targets),
        channels=channels)


def _channel(table: dict[str, object], name: str | None, path: Path, where: str) -> Channel:
    """One channel's source of requirements: exactly one of requirements,
    requirements-file and lock (the files relative to the config file)."""
    given = [k for k in _SOURCE_KEYS if k in table]
    if len(given) != 1:
        raise ConfigError(f"{where} needs exactly one of requirements, requirements-file "
                          f"and lock (got {', '.join(given) or 'none'})")
    key, value = given[0], table[given[0]]
    if key == "requirements":
        if not isinstance(value, list) or not value or not all(
                isinstance(r, str) and r.strip() and "\n" not in r for r in value):
            raise ConfigError(f"{where} requirements must be a non-empty list of PEP 508 "
                              f"requirements like [\"django>=4.2,<5\"] (got {value!r})")
        from packaging.requirements import InvalidRequirement, Requirement

        for r in value:
            try:
                Requirement(r)
            except InvalidRequirement as e:
                raise ConfigError(f"{where} requirements: {r!r} is not a valid PEP 508 "
                                  f"requirement: {e}") from e
        return Channel(name=name, requirements=tuple(value))
    if not isinstance(value, str) or not value or any(c in value for c in "\n\r\0"):
        raise ConfigError(f"{where} {key} must be a file name (got {value!r})")
    file = path.absolute().parent / Path(value).expanduser()
    return (Channel(name=name, requirements_file=file) if key == "requirements-file"
            else Channel(name=name, lock=file))


_KEYS = {"maintainer": frozenset({"name", "email"}),
         "build": frozenset({"engine", "output", "timeout", "memory", "pids"})}


def _table(data: dict[str, object], key: str, path: Path,
           numbers: frozenset[str] = frozenset()) -> dict[str, object]:
    """A table of strings, except the keys in `numbers`, which are whole numbers; a key
    it does not know is refused, naming the closest one."""
    value = data.get(key, {})
    if isinstance(value, dict) and (problem := unknown_keys(value, _KEYS[key])) is not None:
        raise ConfigError(f"{path}: [{key}] {problem}")
    if not isinstance(value, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) if k in numbers else isinstance(v, str)
            for k, v in value.items()):
        wanted = f" ({', '.join(sorted(numbers))}: whole numbers)" if numbers else ""
        raise ConfigError(f"{path}: [{key}] must be a table of strings{wanted}")
    return value


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) else default


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
