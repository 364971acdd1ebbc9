"""Targets are data: one TOML file per distribution release, validated into a frozen Target.

repack ships its targets in this package; a user adds a release of an existing family with one
more file, `<id>.toml`, in $REPACK_TARGETS_DIR (default: `targets/` beside the user config,
~/.config/repack/targets/).  Such a file is validated like a shipped one and may not replace
a shipped target.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import platformdirs

from repack.errors import TargetError
from repack.model import Target

_FIELDS = {f.name: f for f in dataclasses.fields(Target)}
_REQUIRED = [n for n, f in _FIELDS.items() if f.default is dataclasses.MISSING]
# Keys an rpm target must set: its builder, and the rpm that builder carries.
_RPM_REQUIRED = ("builder", "builder_codename", "rpm_version")
# One key algorithm a target's clients verify: an RSA or DSA size ("rsa4096") or minimum
# size ("rsa>=2048"), or a curve ("ed25519"), named as GnuPG names keys.
SIGNATURE_ALGORITHM = re.compile(r"(rsa|dsa)(>=)?[0-9]{3,5}|ed25519|ed448|nistp(256|384|521)")
# A target id names image tags and output directories: lower-case words joined by - or .
TARGET_ID = re.compile(r"[a-z0-9]+([.-][a-z0-9]+)*")
DEB_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]{1,100}")      # Debian Policy 5.6.1
RPM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,100}")
# One apt sources line ("deb URI SUITE COMPONENT..."): it is written into a sources.list.
APT_SOURCE = re.compile(r"deb https?://[A-Za-z0-9._~:/@%+-]+( [A-Za-z0-9._/-]+){2,8}")


def user_dir() -> Path:
    """Where a user's own target files live."""
    env = os.environ.get("REPACK_TARGETS_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir("repack")) / "targets"


def _shipped() -> list[str]:
    files = resources.files(__name__).iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def _user_files() -> dict[str, Path]:
    """The user's target files by id; a bad name or a shipped id is refused, naming the file."""
    found: dict[str, Path] = {}
    shipped = set(_shipped())
    for path in sorted(user_dir().glob("*.toml")):
        tid = path.name.removesuffix(".toml")
        if not TARGET_ID.fullmatch(tid):
            raise TargetError(f"target file {path}: the name must be <id>.toml with an id of "
                              "lower-case letters, digits, '-' and '.'")
        if tid in shipped:
            raise TargetError(f"target file {path}: {tid} is a target repack ships; "
                              "give the new release its own id")
        found[tid] = path
    return found


def available() -> list[str]:
    """Ids of the targets repack ships and the user added, sorted."""
    return sorted([*_shipped(), *_user_files()])


def of_file(path: Path, known: Mapping[str, Target] | None = None) -> str | None:
    """The target a built file belongs to: the name of a directory it sits in (repack build
    writes OUT/<target>/), else the target whose version suffix (~deb12, .el9) its name
    carries; None when neither tells.  known: every target loaded already (a caller asking
    for many files: no listing and loading of the target files per file)."""
    ids = available() if known is None else sorted(known)
    found = next((d.name for d in path.resolve().parents if d.name in ids), None)
    if found is not None:
        return found
    return next((t for t in ids if (suffix := (load(t) if known is None else known[t])
                                    .version_suffix) and suffix in path.name), None)


def load(target_id: str) -> Target:
    """Load and validate targets/<id>.toml (or the user's); every problem is reported at once."""
    user = _user_files()
    if target_id in user:
        path = user[target_id]
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise TargetError(f"target file {path}: {e}") from None
        return parse(target_id, data, source=f"target file {path}")
    if target_id not in _shipped():
        raise TargetError(
            f"unknown target {target_id!r}", hint=f"known targets: {', '.join(available())}; "
            f"add one as {user_dir()}/<id>.toml")
    text = resources.files(__name__).joinpath(f"{target_id}.toml").read_text()
    return parse(target_id, tomllib.loads(text))


def _type_problems(data: dict[str, object]) -> list[str]:
    """Each key of the wrong type: a string, or a list of strings for the tuple fields."""
    hints = typing.get_type_hints(Target)
    problems = []
    for key, value in data.items():
        want = hints.get(key)
        if want is str and not isinstance(value, str):
            problems.append(f"{key} must be a string")
        elif typing.get_origin(want) is tuple and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"{key} must be a list of strings")
    return problems


def _devel_packages(value: object) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """The `[devel_packages]` table: Debian -dev package name -> rpm BuildRequires name, both
    plain package names (they reach a spec file)."""
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and DEB_NAME.fullmatch(k)
            and RPM_NAME.fullmatch(v) for k, v in value.items()):
        return (), [("devel_packages must be a table of Debian -dev package names to rpm "
                     "package names, such as libyaml-dev = \"libyaml-devel\"")]
    return tuple(sorted(value.items())), []


def parse(target_id: str, data: dict[str, object], *, source: str = "") -> Target:
    problems = [f"unknown key {k!r}" for k in data if k not in _FIELDS]
    data = dict(data)
    devel, bad = _devel_packages(data.pop("devel_packages", {}))
    problems += bad
    problems += _type_problems(data)
    problems += [f"missing key {k!r}" for k in _REQUIRED if k not in data]
    if data.get("family") == "rpm":
        problems += [f"rpm targets need a non-empty {k!r}" for k in _RPM_REQUIRED
                     if not data.get(k)]
        site = f"/usr/lib/python{data.get('python_version')}/site-packages"
        if data.get("site_packages") != site:
            problems.append(f"site_packages of an rpm target must be {site!r}")
    algos = data.get("signature_algorithms", ["rsa>=2048"])
    if not isinstance(algos, list) or not algos or not all(
            isinstance(a, str) and SIGNATURE_ALGORITHM.fullmatch(a) for a in algos):
        problems.append("signature_algorithms must be a non-empty list such as "
                        "['rsa>=2048', 'ed25519']")
    fallback = data.get("contents_fallback", [])
    if isinstance(fallback, list) and not all(
            isinstance(s, str) and APT_SOURCE.fullmatch(s) for s in fallback):
        problems.append("contents_fallback must be apt sources lines such as "
                        "'deb http://deb.debian.org/debian bookworm main'")
    if data.get("id") not in (None, target_id):
        problems.append(f"id {data.get('id')!r} does not match the file name")
    if data.get("family") not in (None, "deb", "rpm"):
        problems.append(f"family must be 'deb' or 'rpm', not {data.get('family')!r}")
    if problems:
        raise TargetError(f"{source or 'target ' + target_id}: " + "; ".join(problems))
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return Target(**values, devel_packages=devel)  # type: ignore[arg-type]
