"""Settings: command line > environment > config file > defaults.

The config file is `$XDG_CONFIG_HOME/repack/config.toml` (or `--config`):

    [maintainer]
    name = "Example Team"
    email = "packages@example.org"

    [build]
    engine = "podman"          # or "docker"; default: detected
    output = "repack-out"

Secrets never live here.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from repack.errors import ConfigError

DEFAULT_MAINTAINER = "repack <repack@example.invalid>"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    cache_dir: Path
    config_file: Path
    maintainer: str
    engine: str | None
    output_dir: Path


def config_path() -> Path:
    return Path(platformdirs.user_config_dir("repack")) / "config.toml"


def load(config_file: Path | None = None, *, environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    path = config_file or config_path()
    data: dict[str, object] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: {e}") from e
    elif config_file is not None:
        raise ConfigError(f"config file {path} does not exist")
    unknown = set(data) - {"maintainer", "build"}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
    maint = _table(data, "maintainer", path)
    build = _table(data, "build", path)
    name = env.get("DEBFULLNAME") or maint.get("name")
    email = env.get("DEBEMAIL") or maint.get("email")
    maintainer = DEFAULT_MAINTAINER
    if name and email:
        maintainer = f"{name} <{email}>"
    elif email and "<" in email:  # DEBEMAIL="Name <mail>" is allowed by devscripts
        maintainer = email
    if any(c in maintainer for c in "\n\r") or "<" not in maintainer:
        raise ConfigError(f"maintainer {maintainer!r} must be one line like 'Name <email>'")
    cache = Path(env.get("REPACK_CACHE_DIR") or platformdirs.user_cache_dir("repack"))
    return Settings(
        cache_dir=cache,
        config_file=path,
        maintainer=maintainer,
        engine=env.get("REPACK_ENGINE") or _str(build.get("engine")),
        output_dir=Path(_str(build.get("output")) or "repack-out"),
    )


def _table(data: dict[str, object], key: str, path: Path) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{path}: [{key}] must be a table of strings")
    return value


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
