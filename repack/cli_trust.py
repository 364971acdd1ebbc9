"""`repack trust ...` (the upstream trust policy's keyring) and `repack explain` (what a
built package records about its upstream source)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from repack import config, log
from repack.errors import ConfigError
from repack.model import Advisory, Provenance
from repack.trust.provenance import clean_text, clean_url


def register(cli: click.Group, common: Callable[[Callable[..., Any]], Callable[..., Any]],
             report: Callable[[bool, Callable[[], None]], None]) -> None:
    """Add the commands to the main group (common options and error reporting from it)."""

    @cli.group()
    def trust() -> None:
        """Manage the upstream trust policy's OpenPGP keyring (./trusted-keys beside
        repack.toml).  The policy itself is the [trust] table of repack.toml."""

    @trust.command("add-key")
    @click.argument("project")
    @click.argument("keyfile", type=click.Path(path_type=Path, dir_okay=False, exists=True))
    @common
    def trust_add_key(project: str, keyfile: Path, verbose: bool, debug: bool,
                      config_file: Path | None) -> None:
        """Import PROJECT's upstream signing key from KEYFILE (armored or binary) into the
        policy's keyring and print the rule that allows it."""
        log.configure(verbose=verbose)

        def body() -> None:
            from packaging.utils import canonicalize_name

            from repack.trust import pgp as upstream_pgp
            from repack.trust.policy import DEFAULT_KEYRING

            settings = config.load(config_file)
            name = canonicalize_name(project)
            if not name or "/" in project:
                raise ConfigError(f"{project!r} is not a project name")
            keyring = settings.policy.keyring or (
                (settings.project_file or Path(config.PROJECT_CONFIG)).resolve().parent
                / DEFAULT_KEYRING)
            infos = upstream_pgp.add_key(keyring, keyfile)
            for info in infos:
                state = {"added": "added to", "updated": "updated in",
                         "unchanged": "already in"}[info.status]
                uids = "; ".join(info.uids) or "(no user id)"
                log.info(f"{info.fingerprint} {uids}: {state} {keyring}")
            fprs = ", ".join(f'"{i.fingerprint}"' for i in infos)
            click.echo(f"[trust.projects.{name}]\npgp = [{fprs}]")
        report(debug, body)

    @trust.command("check")
    @common
    def trust_check(verbose: bool, debug: bool, config_file: Path | None) -> None:
        """Check the policy without building: every project it names exists on the index,
        every allowed key is in the keyring and usable.  Exits 11 on any problem (for CI)."""
        log.configure(verbose=verbose)

        def body() -> None:
            from repack import http, resolve
            from repack.errors import TrustError
            from repack.trust import accept as trust

            settings = config.load(config_file)
            policy = settings.policy
            if policy.source is None:
                raise ConfigError("no [trust] policy: ./repack.toml has none (or --config FILE)")
            trust.check_policy_projects(policy, index=resolve.index_url(), session=http.session())
            problems = trust.check_keyring(policy)
            for line in problems:
                click.echo(line)
            if problems:
                raise TrustError(f"{policy.source}: {len(problems)} problem(s) with the keyring")
            for name, rule in sorted(policy.projects.items()):
                checks = " and ".join(rule.checks) if rule.require == "all" else \
                    " or ".join(rule.checks)
                click.echo(f"{name}: {checks}")
            log.info(f"{policy.source}: {len(policy.projects)} rule(s), all projects on the "
                     "index, all keys present")
        report(debug, body)

    @trust.command("list")
    @common
    def trust_list(verbose: bool, debug: bool, config_file: Path | None) -> None:
        """List the keys in the policy's keyring and the projects that allow each."""
        log.configure(verbose=verbose)

        def body() -> None:
            from repack.trust import pgp as upstream_pgp

            policy = config.load(config_file).policy
            if policy.keyring is None or not policy.keyring.is_dir():
                log.info("the policy's keyring is empty")
                return
            allowed: dict[str, list[str]] = {}
            for name, rule in policy.projects.items():
                for fpr in rule.pgp:
                    allowed.setdefault(fpr, []).append(name)
            for key in upstream_pgp.list_keys(policy.keyring):
                expires = f"{key.expires:%Y-%m-%d}" if key.expires else "never"
                flags = " REVOKED" if key.revoked else (" EXPIRED" if key.expired else "")
                users = ", ".join(sorted(allowed.get(key.fingerprint, []))) or "(no rule)"
                click.echo(f"{key.fingerprint} {key.algorithm:8} expires {expires}{flags}  "
                           f"{'; '.join(key.uids)}  allowed for: {users}")
        report(debug, body)

    @cli.command()
    @click.argument("artifacts", nargs=-1, required=True,
                    type=click.Path(path_type=Path, dir_okay=False, exists=True))
    @click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
    @common
    def explain(artifacts: tuple[Path, ...], as_json: bool, verbose: bool, debug: bool,
                config_file: Path | None) -> None:
        """Print where each built .deb or .rpm came from and what was verified, read from
        the package file itself (its repack-provenance.json)."""
        log.configure(verbose=verbose)

        def body() -> None:
            from repack.trust import provenance

            config.load(config_file)        # checked, though explain needs none of it
            records: dict[str, Any] = {}
            for path in artifacts:
                record = provenance.read(path)
                if record is None:
                    raise ConfigError(f"{path.name} carries no repack provenance record "
                                      "(not built by repack, or by an older version)")
                if as_json:
                    records[str(path)] = json.loads(provenance.to_json(record))
                else:
                    click.echo(describe(path, record))
            if as_json:
                click.echo(json.dumps(records, indent=2))
        report(debug, body)


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
