"""The repository commands: sign, publish, repo ..., serve."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from repack import config, log, publishing
from repack.cli.options import common, key_options, publish_options
from repack.errors import ExpiryNear, VerifyFailed
from repack.publishing import PublishArgs


@click.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--key", help="Fingerprint of the key to sign with (default: [publish] key, "
                            "else the published ones).")
@click.option("-t", "--target", help="Target of the files (default: from the "
                                     "OUT/<target>/ directory or the version suffix); "
                                     "only keys its clients verify sign them.")
@key_options
@common
def sign(files: tuple[Path, ...], key: str | None, target: str | None, gnupghome: Path | None,
         passphrase_file: Path | None, settings: config.Settings) -> None:
    """Sign build artifacts: .changes (with its .dsc and .buildinfo, debsign style),
    .dsc, .buildinfo, .rpm."""
    from repack.deb.sign import sign_files

    signer = publishing.signer(gnupghome, key, passphrase_file, settings.publish)
    for path in sign_files(list(files), signer, target=target):
        log.info(f"signed {path}")


@click.command()
@click.argument("artifacts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-t", "--target", help="Target of the given files (default: from the "
                                     "OUT/<target>/ directory or the version suffix).")
@click.option("--channel", metavar="NAME",
              help="Publish into this channel (e.g. testing): apt suite <codename>-NAME, "
                   "yum repository yum/<target>_NAME/ (default: stable, the plain ones).")
@publish_options
@common
def publish(artifacts: tuple[Path, ...], target: str | None, channel: str | None,
            given: PublishArgs, settings: config.Settings) -> None:
    """Add ARTIFACTS (files, or directories such as repack-out/) to the signed
    repository REPO, atomically."""
    from repack.publish import publisher

    opts = publishing.options(given, settings.publish, settings=settings)
    added = publisher.publish(list(artifacts), opts, target=target, channel=channel)
    if added:     # one print for all: a nightly publish says 200 lines
        log.info("\n".join(f"added {line}" for line in added))
    else:
        log.info("nothing new: the repository is unchanged")


@click.group()
def repo() -> None:
    """Inspect and maintain a published repository."""


@repo.command("verify")
@click.argument("root", metavar="REPO", type=click.Path(path_type=Path, file_okay=False,
                                                      exists=True))
@click.option("--keyring", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Check against this keyring (as a client has it), not REPO/keys.")
@click.option("--warn-within", type=click.FloatRange(min=0), metavar="DAYS",
              help="Warn about a Valid-Until or key expiring within DAYS (default: 3 for "
                   "Valid-Until, 30 for keys).")
@click.option("--fail-within", type=click.FloatRange(min=0), metavar="DAYS",
              help="Exit 13 if a Valid-Until or key expires within DAYS (for monitoring).")
@common
def repo_verify(root: Path, keyring: Path | None, warn_within: float | None,
                fail_within: float | None, settings: config.Settings) -> None:
    """Check REPO as a client would: signatures, hashes, expiry.  One problem a line;
    a warning line for each signature or key that expires soon."""
    from datetime import UTC, datetime

    from repack.publish import verify as checks

    now = datetime.now(UTC)
    problems = checks.verify(root, keyring, now)
    expiries = checks.expiring(root, keyring)
    sig_days = warn_within if warn_within is not None else checks.SIGNATURE_WARN_DAYS
    key_days = warn_within if warn_within is not None else checks.KEY_WARN_DAYS
    if fail_within is not None:
        sig_days, key_days = max(sig_days, fail_within), max(key_days, fail_within)
    for e in checks.near(expiries, now, signature_days=sig_days, key_days=key_days):
        log.warn(checks.warning(e, now))
    for p in problems:
        click.echo(p)
    if problems:
        raise VerifyFailed(f"{len(problems)} problem(s) in {root}")
    if fail_within is not None:
        soon = checks.near(expiries, now, signature_days=fail_within, key_days=fail_within)
        if soon:
            raise ExpiryNear(f"{root}: {len(soon)} signature(s) or key(s) expire within "
                             f"{fail_within:g} day(s)",
                             hint="run `repack repo refresh` (signatures) or rotate the key")
    log.info(f"{root}: signatures, hashes and expiry are good")


@repo.command("list")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="The repository directory (required unless [publish] repo is set).")
@click.option("-t", "--target", help="Only this target's packages (e.g. debian-12).")
@click.option("--channel", metavar="NAME", help="Only this channel's packages (stable: "
                                               "the default one).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON document on stdout (a list, one object per package).")
@common
def repo_list(repo: Path | None, target: str | None, channel: str | None, as_json: bool,
              settings: config.Settings) -> None:
    """List what REPO publishes: one line per package, version and target, with its
    channel (apt suite or yum target; the -security suite or updateinfo too when it is
    a security update), when it was published, how its source was verified (from the
    package's provenance record) and its known advisories that no newer published
    version fixes (PENDING).  Changes nothing."""
    from repack.publish.listing import listing, text_lines

    entries = listing(publishing.repo(repo, settings.publish, exists=True), target,
                      channel=channel)
    if as_json:
        click.echo(json.dumps([e.as_json() for e in entries], indent=2))
        return
    for line in text_lines(entries):
        click.echo(line)


@click.command()
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="The repository directory (required unless [publish] repo is set).")
@click.option("-t", "--target", help="Only this target's packages (e.g. debian-12).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON document on stdout: behind, current, skipped.")
@common
def outdated(repo: Path | None, target: str | None, as_json: bool,
             settings: config.Settings) -> None:
    """For every project REPO publishes, per target: the newest release on the index whose
    Requires-Python admits the target's Python, and the advisories of the published
    version that it fixes.  One line per project and target that is behind, then a
    summary.  Exit 0: nothing pending; 100: newer releases, none a security update; 101:
    a security update is pending.  Changes nothing."""
    from repack.publish.outdated import exit_code, summary, text_lines

    report = publishing.outdated(repo, target, settings.publish)
    for s in report.skipped:
        log.warn(f"{s.package} {s.version} ({s.target}): not checked: {s.why}")
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
        log.info(summary(report))
    else:
        for line in text_lines(report):
            click.echo(line)
        click.echo(summary(report))
    click.get_current_context().exit(exit_code(report))


@repo.command("remove")
@click.argument("spec", metavar="PACKAGE[=VERSION]")
@click.option("-t", "--target", help="Only from this target (e.g. debian-12, el9).")
@click.option("--channel", metavar="NAME",
              help="Only from this channel (stable: the default one; default: every one).")
@click.option("--dry-run", is_flag=True,
              help="Print what would be removed; change nothing (no key needed).")
@publish_options
@common
def repo_remove(spec: str, target: str | None, channel: str | None, dry_run: bool,
                given: PublishArgs, settings: config.Settings) -> None:
    """Remove a package (all versions, or one; from every target, or -t TARGET) with
    the source packages (.dsc and its files, .src.rpm) only it came from, and re-sign.
    VERSION is the upstream version or the full distro version."""
    lines = publishing.remove(spec, target, given, settings.publish, dry_run=dry_run,
                               settings=settings, channel=channel)
    for line in lines:
        if dry_run:
            click.echo(f"would remove {line}")
        else:
            log.info(f"removed {line}")


@repo.command("prune")
@click.option("--keep", type=int, required=True, help="Versions to keep per package.")
@publish_options
@common
def repo_prune(keep: int, given: PublishArgs, settings: config.Settings) -> None:
    """Keep only the newest N versions of each package."""
    from repack.publish import publisher

    opts = publishing.options(given, settings.publish, settings=settings)
    for line in publisher.prune(opts, keep):
        log.info(f"removed {line}")


@repo.command("promote")
@click.argument("spec", metavar="PROJECT[==VERSION]")
@click.option("--from", "source", required=True, metavar="CHANNEL",
              help="The channel that publishes it (e.g. testing).")
@click.option("--to", "dest", required=True, metavar="CHANNEL",
              help="The channel to publish it in too (e.g. stable).")
@click.option("-t", "--target", help="Only for this target (default: every target).")
@publish_options
@common
def repo_promote(spec: str, source: str, dest: str, target: str | None, given: PublishArgs,
                 settings: config.Settings) -> None:
    """Publish in channel --to the very files (.deb/.rpm, signatures and all) channel
    --from publishes of PROJECT (VERSION, else the newest there), in one transaction;
    nothing is rebuilt, the metadata is signed anew."""
    from repack.publish import publisher

    lines = publisher.promote(publishing.options(given, settings.publish), spec, source,
                              dest, target)
    for line in lines:
        log.info(f"promoted {line}")
    if not lines:
        log.info(f"nothing new: {dest} already publishes it")


@repo.command("rollback")
@click.option("--to", "to", metavar="GENERATION",
              help="The kept generation to restore (default: the one before the live "
                   "one; `repo generations` lists them).")
@publish_options
@common
def repo_rollback(to: str | None, given: PublishArgs, settings: config.Settings) -> None:
    """Make an earlier generation's content live again, as a new generation (so a
    rollback can be rolled back), re-signed with a fresh Date and Valid-Until."""
    from repack.publish import publisher

    restored = publisher.rollback(publishing.options(given, settings.publish), to)
    log.info(f"restored the content of {restored} as a new generation")


@repo.command("generations")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="The repository directory (required unless [publish] repo is set).")
@common
def repo_generations(repo: Path | None, settings: config.Settings) -> None:
    """The generations kept on disk, oldest first: when and by what command each was
    made; `repo rollback --to` restores one that is not live.  Changes nothing."""
    from repack.publish.tree import generations

    for name, made, live in generations(publishing.repo(repo, settings.publish,
                                                        exists=True)):
        by = made.get("by", "?") + (f" (of {made['restores']})" if "restores" in made else "")
        by = "".join(c if c.isprintable() else "?" for c in by)
        click.echo(f"{name}  {made.get('made', '?'):20}  {by}{'  [live]' if live else ''}")


@repo.command("refresh")
@publish_options
@common
def repo_refresh(given: PublishArgs, settings: config.Settings) -> None:
    """Re-sign with a fresh Valid-Until (run it regularly, e.g. daily from cron)."""
    from repack.publish import publisher

    publisher.refresh(publishing.options(given, settings.publish, settings=settings))


@repo.command("client-config")
@click.option("--repo", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="The repository directory (required unless [publish] repo is set).")
@click.option("--url", help="Base URL the clients use (default: [publish] url, else "
                            "the one REPO was published with).")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False),
              help="Write the files into this directory (default: print the text ones).")
@common
def repo_client_config(repo: Path | None, url: str | None, output: Path | None,
                       settings: config.Settings) -> None:
    """The files clients need, one per release: <name>-<codename>.sources (apt,
    Signed-By), <name>-<target>.repo (dnf, gpgcheck and repo_gpgcheck), and the public
    keys.  Changes nothing in REPO."""
    files = publishing.client_files(repo, url, settings.publish)
    if output is not None:
        for path in publishing.write_files(files, output):
            log.info(f"wrote {path}")
        return
    texts = [(n, d) for n, d in files.items() if not n.endswith(".gpg")]
    for i, (fname, data) in enumerate(texts):
        click.echo(f"{'' if i == 0 else chr(10)}# ==> {fname} <==")
        click.echo(data.decode().rstrip("\n"))


@click.command()
@click.argument("root", metavar="REPO", type=click.Path(path_type=Path, file_okay=False,
                                                      exists=True))
@click.option("--port", type=int, default=8080, show_default=True,
              help="Port on 127.0.0.1 (0: any free port, printed on stdout).")
@common
def serve(root: Path, port: int, settings: config.Settings) -> None:
    """Serve REPO read-only over HTTP on 127.0.0.1 (tests, small teams)."""
    from repack.publish.serve import server

    httpd = server(root, port)
    click.echo(f"http://127.0.0.1:{httpd.server_address[1]}/", nl=True)
    sys.stdout.flush()
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()


COMMANDS = (sign, publish, repo, outdated, serve)
