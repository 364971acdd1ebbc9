"""What `repack trust ...` and `repack explain` do and show: the policy's keyring, its
check, and a package's provenance record as text.

The command line (repack.cli.trust) only prints these lines.  Upstream text (user ids,
URLs, advisory summaries) is printed as data, never as markup or control characters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from repack import config
from repack.errors import ConfigError, TrustError
from repack.model import Advisory, Provenance
from repack.trust.policy import DEFAULT_KEYRING, Policy
from repack.trust.provenance import clean_text, clean_url


@dataclass(frozen=True, slots=True, kw_only=True)
class Added:
    """`trust add-key`: one line per key imported, and the rule that allows them."""

    lines: tuple[str, ...]
    rule: str


def add_key(settings: config.Settings, project: str, keyfile: Path) -> Added:
    """Import PROJECT's upstream signing keys from keyfile into the policy's keyring (its
    `keyring`, else trusted-keys beside repack.toml)."""
    from packaging.utils import canonicalize_name

    from repack.trust import pgp

    name = canonicalize_name(project)
    if not name or "/" in project:
        raise ConfigError(f"{project!r} is not a project name")
    keyring = settings.policy.keyring or (
        (settings.project_file or Path(config.PROJECT_CONFIG)).resolve().parent
        / DEFAULT_KEYRING)
    infos = pgp.add_key(keyring, keyfile)
    states = {"added": "added to", "updated": "updated in", "unchanged": "already in"}
    lines = tuple(f"{i.fingerprint} {'; '.join(i.uids) or '(no user id)'}: "
                  f"{states[i.status]} {keyring}" for i in infos)
    fprs = ", ".join(f'"{i.fingerprint}"' for i in infos)
    return Added(lines=lines, rule=f"[trust.projects.{name}]\npgp = [{fprs}]")


def check(policy: Policy) -> list[str]:
    """`trust check`: every project the policy names is on the index (else an error);
    returns the keyring's problems, one line each."""
    from repack import http, resolve
    from repack.trust.accept import check_keyring, check_policy_projects

    if policy.source is None:
        raise ConfigError("no [trust] policy: ./repack.toml has none (or --config FILE)")
    check_policy_projects(policy, index=resolve.index_url(), session=http.session())
    return check_keyring(policy)


def keyring_failed(policy: Policy, problems: Sequence[str]) -> TrustError:
    return TrustError(f"{policy.source}: {len(problems)} problem(s) with the keyring")


def rule_lines(policy: Policy) -> list[str]:
    """One line per project rule: its checks, joined as the rule requires them."""
    return [f"{name}: " + (" and " if rule.require == "all" else " or ").join(rule.checks)
            for name, rule in sorted(policy.projects.items())]


def keyring_lines(policy: Policy) -> list[str] | None:
    """`trust list`: each key of the keyring with the projects that allow it; None when the
    keyring is empty."""
    from repack.trust import pgp

    if policy.keyring is None or not policy.keyring.is_dir():
        return None
    allowed: dict[str, list[str]] = {}
    for name, rule in policy.projects.items():
        for fpr in rule.pgp:
            allowed.setdefault(fpr, []).append(name)
    lines = []
    for key in pgp.list_keys(policy.keyring):
        expires = f"{key.expires:%Y-%m-%d}" if key.expires else "never"
        flags = " REVOKED" if key.revoked else (" EXPIRED" if key.expired else "")
        users = ", ".join(sorted(allowed.get(key.fingerprint, []))) or "(no rule)"
        lines.append(f"{key.fingerprint} {key.algorithm:8} expires {expires}{flags}  "
                     f"{'; '.join(key.uids)}  allowed for: {users}")
    return lines


def _advisory_line(a: Advisory) -> str:
    aliases = f" ({', '.join(a.aliases)})" if a.aliases else ""
    fixed = f"; fixed in {', '.join(a.fixed_in)}" if a.fixed_in else ""
    return "    " + clean_text(f"{a.id}{aliases}{fixed}")


def describe(path: Path, p: Provenance) -> str:
    """The human-readable record (upstream text printed as data, one field a line, without
    control characters however the record was made)."""
    lines = [
        clean_text(path.name),
        "  upstream:  " + clean_text(f"{p.project} {p.version} ({p.filename})"),
        "  source:    " + clean_url(p.url),
        "  sha256:    " + clean_text(p.sha256),
        "  verified:  " + (clean_text(", ".join(p.verified)) or "nothing"),
    ]
    if p.vulnerabilities:
        lines.append(f"  known vulnerabilities when built: {len(p.vulnerabilities)}")
        lines += [_advisory_line(a) for a in p.vulnerabilities]
    elif p.advisories_checked:
        lines.append("  known vulnerabilities when built: none listed by the index")
    else:
        lines.append("  known vulnerabilities when built: not checked (no advisory data)")
    if p.fixes:
        lines.append(f"  security update, fixes: {len(p.fixes)}")
        lines += [_advisory_line(a) for a in p.fixes]
    if p.revision > 1:
        lines.append(f"  revision:  {p.revision}: " + clean_text(p.rebuilt or "no reason recorded"))
    lines += build_tool_lines(p)
    return "\n".join(lines)


def build_tool_lines(p: Provenance) -> list[str]:
    """The wheels from the index the build ran (its backend and helpers: they wrote the
    package), each with its sha256 and what verified it."""
    if not p.build_tools:
        return []
    lines = [f"  build tools from the index: {len(p.build_tools)}"]
    for t in p.build_tools:
        lines += [f"    {t.project} {t.version} ({' '.join(t.filename.split())})",
                  f"      sha256:    {t.sha256}",
                  f"      verified:  {', '.join(t.verified) or 'nothing'}"]
        if t.vulnerabilities:
            lines.append(f"      known vulnerabilities when built: {len(t.vulnerabilities)}")
            lines += ["  " + _advisory_line(a) for a in t.vulnerabilities]
    return lines


def records(artifacts: Sequence[Path]) -> Iterator[tuple[Path, Provenance]]:
    """`explain`: each package's provenance record, in turn; a ConfigError at the first
    without one."""
    from repack.trust import provenance

    for path in artifacts:
        record = provenance.read(path)
        if record is None:
            raise ConfigError(f"{path.name} carries no repack provenance record "
                              "(not built by repack, or by an older version)")
        yield path, record
