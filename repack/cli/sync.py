"""`repack sync`: make the repository hold what [repository] of repack.toml asks for
(repack.sync decides and does; this parses and prints)."""

from __future__ import annotations

import json

import click

from repack import config, log
from repack.cli.options import common, grouped, key_options
from repack.sync import Request, run


@click.command("sync")
@click.option("--channel", metavar="NAME",
              help="Sync this channel of [repository] (default: the default channel).")
@click.option("--dry-run", is_flag=True,
              help="Print what would be built and published; build and change nothing.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the plan (and what was published) as one JSON object on stdout.")
@click.option("--security-only", is_flag=True,
              help="Take only the updates that fix an advisory of the published version "
                   "(as `repack outdated` reports them), with what they need.")
@click.option("-j", "--jobs", default=2, show_default=True, type=click.IntRange(min=1),
              help="Builds run at once.")
@key_options
@grouped(Request, "request")
@common
def sync(request: Request, as_json: bool, settings: config.Settings) -> None:
    """Build what the repository lacks of [repository] (repack.toml) and publish it, in
    one generation.

    The desired releases are resolved per target (a lock file: read, no network) and
    compared with the provenance records of the published packages; only the missing ones
    are built, dependencies first, under the trust policy.  Nothing missing: nothing is
    built or published, exit 0.  One line per change; a failed build publishes nothing
    and exits with its code.  Safe for cron: one sync at a time per repository.
    """
    outcome = run(request, settings)
    c = outcome.comparison
    for s in c.skipped:
        log.warn(s.line())
    if outcome.dry_run:
        for u in c.updates:
            click.echo(u.line(), err=as_json)
    for package, version, target in outcome.published:
        click.echo(f"add {package} {version} {target}", err=as_json)
    if as_json:
        click.echo(json.dumps(outcome.as_json(), indent=2))
    if not c.updates:
        log.info(f"nothing new: {len(c.current)} up to date in {outcome.repo}")
    elif outcome.dry_run:
        log.info(f"would build {len(c.updates)}, {len(c.current)} up to date (dry run)")
    else:
        log.info(f"published {len(outcome.published)} package(s) in one generation, "
                 f"{len(c.current)} up to date")


COMMANDS = (sync,)
