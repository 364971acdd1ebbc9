"""`repack trust ...` (the upstream trust policy's keyring) and `repack explain` (what a
built package records about its upstream source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from repack import config, log
from repack.cli.options import common
from repack.trust import report


@click.group()
def trust() -> None:
    """Manage the upstream trust policy's OpenPGP keyring (./trusted-keys beside
    repack.toml).  The policy itself is the [trust] table of repack.toml."""


@trust.command("add-key")
@click.argument("project")
@click.argument("keyfile", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@common
def trust_add_key(project: str, keyfile: Path, settings: config.Settings) -> None:
    """Import PROJECT's upstream signing key from KEYFILE (armored or binary) into the
    policy's keyring and print the rule that allows it."""
    added = report.add_key(settings, project, keyfile)
    for line in added.lines:
        log.info(line)
    click.echo(added.rule)


@trust.command("check")
@common
def trust_check(settings: config.Settings) -> None:
    """Check the policy without building: every project it names exists on the index,
    every allowed key is in the keyring and usable.  Exits 11 on any problem (for CI)."""
    policy = settings.policy
    problems = report.check(policy)
    for line in problems:
        click.echo(line)
    if problems:
        raise report.keyring_failed(policy, problems)
    for line in report.rule_lines(policy):
        click.echo(line)
    log.info(f"{policy.source}: {len(policy.projects)} rule(s), all projects on the "
             "index, all keys present")


@trust.command("list")
@common
def trust_list(settings: config.Settings) -> None:
    """List the keys in the policy's keyring and the projects that allow each."""
    lines = report.keyring_lines(settings.policy)
    if lines is None:
        log.info("the policy's keyring is empty")
    for line in lines or ():
        click.echo(line)


@click.command()
@click.argument("artifacts", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@common
def explain(artifacts: tuple[Path, ...], as_json: bool, settings: config.Settings) -> None:
    """Print where each built .deb or .rpm came from and what was verified, read from
    the package file itself (its repack-provenance.json)."""
    from repack.trust import provenance

    records: dict[str, Any] = {}
    for path, record in report.records(artifacts):
        if as_json:
            records[str(path)] = json.loads(provenance.to_json(record))
        else:
            click.echo(report.describe(path, record))
    if as_json:
        click.echo(json.dumps(records, indent=2))


COMMANDS = (trust, explain)
