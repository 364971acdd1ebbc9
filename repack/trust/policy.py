"""The upstream trust policy: what a team accepts from upstream, written once, enforced by
every build.  It is the ``[trust]`` table of the project configuration (``repack.toml``):

    [trust]
    require-signature = false   # true: every sdist needs a verified signature or attestation
    require = "any"             # default for rules naming both pgp and attestation
    deny-vulnerable = false     # true: refuse releases with known advisories
    keyring = "trusted-keys"    # OpenPGP keys (`repack trust add-key`), beside this file

    [trust.projects.example]
    pgp = ["0123456789ABCDEF0123456789ABCDEF01234567"]
    attestation = { repository = "owner/name", workflow = "release.yml" }
    require = "all"             # both must verify; "any": one is enough

The index's sha256 and the user's pins are always checked (``hash = true`` may be written,
``false`` is refused).  A signature that is present but does not verify is an error under
either `require`: "any" forgives a *missing* check, never a failed one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.utils import NormalizedName, canonicalize_name

from repack.errors import ConfigError, unknown_keys

if TYPE_CHECKING:
    from repack.trust.attest import Publisher

__all__ = ["DEFAULT_KEYRING", "Policy", "ProjectRule", "from_table"]

DEFAULT_KEYRING = "trusted-keys"
_FINGERPRINT = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
_PROJECT = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_TRUST_KEYS = {"require-signature", "require", "deny-vulnerable", "keyring", "projects"}
_RULE_KEYS = {"hash", "pgp", "attestation", "require"}

Require = Literal["any", "all"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectRule:
    """What one project's files must carry besides matching hashes."""

    name: NormalizedName
    pgp: tuple[str, ...] = ()            # primary key fingerprints allowed to sign (upper hex)
    attestation: Publisher | None = None   # the Trusted Publisher allowed (PEP 740)
    require: Require = "any"

    @property
    def checks(self) -> tuple[str, ...]:
        return (("pgp",) if self.pgp else ()) + (("attestation",) if self.attestation else ())


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    source: Path | None = None           # the file it came from; None: built-in defaults
    keyring: Path | None = None          # the directory of allowed OpenPGP keys
    require_signature: bool = False
    deny_vulnerable: bool = False
    projects: Mapping[NormalizedName, ProjectRule] = field(default_factory=dict)

    def rule(self, name: str) -> ProjectRule | None:
        return self.projects.get(canonicalize_name(name))

    def with_flags(self, *, require_signature: bool, deny_vulnerable: bool) -> Policy:
        """The command line can only tighten the file's policy, never loosen it."""
        return Policy(source=self.source, keyring=self.keyring,
                      require_signature=self.require_signature or require_signature,
                      deny_vulnerable=self.deny_vulnerable or deny_vulnerable,
                      projects=self.projects)


def _err(source: Path, where: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: {where}: {problem}",
                       hint="see the trust policy section of the README")


def _bool(table: Mapping[str, object], key: str, source: Path, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise _err(source, f"{where}.{key}", "must be true or false")
    return value


def _require(value: object, source: Path, where: str) -> Require:
    if value == "any":
        return "any"
    if value == "all":
        return "all"
    raise _err(source, where, f'must be "any" or "all", not {value!r}')


def _unknown(table: Mapping[str, object], allowed: set[str], source: Path, where: str) -> None:
    if (problem := unknown_keys(table, allowed)) is not None:
        raise _err(source, where, problem)


def _fingerprints(value: object, source: Path, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _err(source, where, "must be a non-empty list of key fingerprints")
    out = []
    for item in value:
        fpr = item.replace(" ", "").upper().removeprefix("0X") if isinstance(item, str) else ""
        if not _FINGERPRINT.fullmatch(fpr):
            raise _err(source, where, f"{item!r} is not a full key fingerprint (40 hex digits; "
                                      "short key ids can be forged)")
        out.append(fpr)
    return tuple(dict.fromkeys(out))


def _rule(name: str, table: object, default: Require, source: Path) -> ProjectRule:
    where = f"trust.projects.{name}"
    if not _PROJECT.fullmatch(name):
        raise _err(source, where, "is not a valid project name")
    if not isinstance(table, dict):
        raise _err(source, where, "must be a table")
    _unknown(table, _RULE_KEYS, source, where)
    if table.get("hash", True) is not True:
        raise _err(source, f"{where}.hash", "hash checking is always on and cannot be disabled")
    pgp = _fingerprints(table["pgp"], source, f"{where}.pgp") if "pgp" in table else ()
    publisher = None
    if "attestation" in table:
        from repack.trust.attest import publisher_from_policy  # sigstore is imported only when used

        att = table["attestation"]
        if not isinstance(att, dict):
            raise _err(source, f"{where}.attestation",
                       'must be a table like {repository = "owner/name", workflow = "release.yml"}')
        try:
            publisher = publisher_from_policy(att, name)
        except ConfigError as exc:
            raise _err(source, f"{where}.attestation", str(exc)) from exc
    require = _require(table.get("require", default), source, f"{where}.require")
    rule = ProjectRule(name=canonicalize_name(name), pgp=pgp, attestation=publisher,
                       require=require)
    if not rule.checks:
        raise _err(source, where, "names neither pgp keys nor an attestation publisher")
    return rule


def from_table(table: object, source: Path) -> Policy:
    """The Policy of a ``[trust]`` table read from `source` (ConfigError when malformed)."""
    if not isinstance(table, dict):
        raise _err(source, "trust", "must be a table")
    _unknown(table, _TRUST_KEYS, source, "trust")
    default = _require(table.get("require", "any"), source, "trust.require")
    keyring = table.get("keyring", DEFAULT_KEYRING)
    if not isinstance(keyring, str) or not keyring:
        raise _err(source, "trust.keyring", "must be a directory name")
    projects = table.get("projects", {})
    if not isinstance(projects, dict):
        raise _err(source, "trust.projects", "must be a table of project tables")
    rules: dict[NormalizedName, ProjectRule] = {}
    for name, rule_table in projects.items():
        rule = _rule(name, rule_table, default, source)
        if rule.name in rules:
            raise _err(source, f"trust.projects.{name}",
                       f"names the same project as another rule ({rule.name})")
        rules[rule.name] = rule
    return Policy(
        source=source,
        keyring=(source.parent / keyring).resolve(),
        require_signature=_bool(table, "require-signature", source, "trust"),
        deny_vulnerable=_bool(table, "deny-vulnerable", source, "trust"),
        projects=rules,
    )
