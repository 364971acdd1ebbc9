"""Targets are data: one TOML file per distribution release, validated into a frozen Target."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from importlib import resources
from pathlib import Path

from repack.errors import TargetError
from repack.model import Target

_FIELDS = {f.name: f for f in dataclasses.fields(Target)}
_REQUIRED = [n for n, f in _FIELDS.items() if f.default is dataclasses.MISSING]
# Keys an rpm target must set: its builder, and the rpm that builder carries.
_RPM_REQUIRED = ("builder", "builder_codename", "rpm_version")
# One key algorithm a target's clients verify: an RSA or DSA size ("rsa4096") or minimum
# size ("rsa>=2048"), or a curve ("ed25519"), named as GnuPG names keys.
SIGNATURE_ALGORITHM = re.compile(r"(rsa|dsa)(>=)?[0-9]{3,5}|ed25519|ed448|nistp(256|384|521)")


def available() -> list[str]:
    """Ids of the targets shipped with repack, sorted."""
    files = resources.files(__name__).iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def of_file(path: Path) -> str | None:
    """The target a built file belongs to: the name of a directory it sits in (repack build
    writes OUT/<target>/), else the target whose version suffix (~deb12, .el9) its name
    carries; None when neither tells."""
    known = available()
    found = next((d.name for d in path.resolve().parents if d.name in known), None)
    if found is not None:
        return found
    return next((t for t in known if (suffix := load(t).version_suffix) and suffix in path.name),
                None)


def load(target_id: str) -> Target:
    """Load and validate targets/<id>.toml; every problem is reported at once."""
    if target_id not in available():
        raise TargetError(
            f"unknown target {target_id!r}", hint=f"known targets: {', '.join(available())}"
        )
    text = resources.files(__name__).joinpath(f"{target_id}.toml").read_text()
    return parse(target_id, tomllib.loads(text))


def parse(target_id: str, data: dict[str, object]) -> Target:
    problems = [f"unknown key {k!r}" for k in data if k not in _FIELDS]
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
    if data.get("id") not in (None, target_id):
        problems.append(f"id {data.get('id')!r} does not match the file name")
    if data.get("family") not in (None, "deb", "rpm"):
        problems.append(f"family must be 'deb' or 'rpm', not {data.get('family')!r}")
    if problems:
        raise TargetError(f"target {target_id}: " + "; ".join(problems))
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return Target(**values)  # type: ignore[arg-type]
