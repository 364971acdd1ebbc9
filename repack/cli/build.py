"""The building commands: build, lock, plan, render, rebuild, targets, image, cache, doctor.

Each parses its options, calls repack.buildrun (or repack.housekeeping, repack.doctor) and
prints the result; `repack build` is `buildrun.build`, which runs repack.pipeline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from repack import buildrun, config, log
from repack.buildrun import DEFAULT_TARGET, BuildOptions
from repack.cli.options import common, grouped, key_options
from repack.errors import ToolMissing

if TYPE_CHECKING:
    from repack import housekeeping, pipeline
else:   # housekeeping (images, cache): an import the other commands need not pay for
    from repack.lazy import lazy_import
    housekeeping = lazy_import("repack.housekeeping")


@click.command()
@click.argument("reqs", nargs=-1, metavar="REQ...")
@click.option("-t", "--target", "target_ids", multiple=True, metavar="TARGET",
              help=f"Target distribution release (repeatable; default {DEFAULT_TARGET}). "
                   "See `repack targets`.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output directory; artifacts go to OUTPUT/<target>/ (default ./repack-out).")
@click.option("--hash", "hashes", multiple=True, metavar="sha256:HEX",
              help="Allowed sha256 of the sdist (repeatable), as pip's --hash.")
@click.option("-r", "--requirement", "req_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A pip requirements file (==pins and --hash lines).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object describing artifacts and sources on stdout.")
@click.option("--with-deps", is_flag=True,
              help="Also build every dependency the target distribution does not provide, "
                   "in dependency order.")
@click.option("--lock", "lock_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Build exactly what this lock file (from `repack lock`) records; a sdist "
                   "whose sha256 differs is refused.")
@click.option("--only", multiple=True, metavar="NAME",
              help="With --lock: build only this project of the lock (repeatable), not its "
                   "locked dependencies (a `repack plan` job: earlier jobs build them).")
@click.option("-j", "--jobs", default=2, show_default=True, type=click.IntRange(min=1),
              help="Builds run at once with --with-deps or --lock.")
@click.option("--revision", type=int, metavar="N",
              help="Build every package as revision N (Debian -0repackN, rpm Release "
                   "0.repackN); the changelog says it was asked for.")
@click.option("--against", metavar="REPO|URL",
              help="The published repository (directory or URL; default [publish] repo) "
                   "whose builds pick the revision: the published one when identical, the "
                   "next when it differs.")
@click.option("--sign", is_flag=True,
              help="Sign the .dsc/.changes (debsign style) and the rpms as built.")
@click.option("--key", "sign_key", help="Fingerprint to sign with (default: [publish] key, "
                                        "else the published key).")
@click.option("--require-signature", is_flag=True,
              help="Refuse every sdist without a verified OpenPGP signature or PEP 740 "
                   "attestation (as the policy's require-signature).")
@click.option("--deny-vulnerable", is_flag=True,
              help="Refuse releases the index lists known vulnerabilities for.")
@click.option("--no-check", "check", is_flag=True, flag_value=False, default=True,
              help="Skip the import check: by default the run's packages are installed in a "
                   "clean container of each target, every top-level module imported and "
                   "every script run with --help (a failure is exit 14); `check = false` "
                   "under [packages.NAME] skips one project's.")
@key_options
@grouped(BuildOptions, "options")
@common
def build(options: BuildOptions, as_json: bool, settings: config.Settings) -> None:
    """Build native packages of REQ (PEP 508 requirements, e.g. 'django==4.2').

    An unpinned REQ resolves to the newest release that is not yanked, has an sdist and
    whose Requires-Python admits the target's Python.  The sdist's sha256 is checked
    against the index and every --hash before it is used; then the trust policy
    (./repack.toml [trust]: OpenPGP keys, Trusted Publishers) and the index's advisories.
    Every package records what was verified: see `repack explain`.
    """
    result = buildrun.build(options, settings)
    if as_json:
        click.echo(json.dumps(result_json(result), indent=2))
        return
    for a in result.artifacts:
        if a.format in ("deb", "rpm"):
            log.info(f"built {a.path}")


def result_json(result: pipeline.BuildResult) -> dict[str, object]:
    """`build --json`: the artifacts and the sources they were built from."""
    return {
        "artifacts": [{"target": a.target, "format": a.format, "package": a.package,
                       "version": a.version, "path": str(a.path), "sha256": a.sha256}
                      for a in result.artifacts],
        "sources": [{"project": s.release.name, "version": str(s.release.version),
                     "url": s.release.url, "sha256": s.sha256, "verified": list(s.verified)}
                    for s in result.sources],
        "warnings": list(result.warnings),
    }


@click.command("lock")
@click.argument("reqs", nargs=-1, metavar="REQ...")
@click.option("-t", "--target", "target_ids", multiple=True, metavar="TARGET",
              help=f"Target distribution release (repeatable; default {DEFAULT_TARGET}).")
@click.option("-r", "--requirement", "req_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A pip requirements file (==pins and --hash lines).")
@click.option("-o", "--output", "lock_path", type=click.Path(path_type=Path, dir_okay=False),
              default=Path("repack.lock"), show_default=True, help="The lock file to write.")
@common
def lock_cmd(reqs: tuple[str, ...], target_ids: tuple[str, ...], req_file: Path | None,
             lock_path: Path, settings: config.Settings) -> None:
    """Resolve REQ and the dependencies each TARGET does not provide, and write them with
    the sha256 of every sdist to a lock file for `repack build --lock`."""
    buildrun.lock(reqs, req_file, target_ids, lock_path, settings)
    log.info(f"wrote {lock_path}")


@click.command("plan")
@click.option("--lock", "lock_path", type=click.Path(path_type=Path, dir_okay=False),
              default=Path("repack.lock"), show_default=True, help="The lock file to plan.")
@click.option("-t", "--target", "target_ids", multiple=True, metavar="TARGET",
              help="Plan this target of the lock (repeatable; default: all it locks).")
@click.option("--shards", default=1, show_default=True, type=int, metavar="N",
              help="Split each wave of each target into at most N jobs.")
@click.option("--json", "as_json", is_flag=True, default=True,
              help="Print JSON (the only format; the default).")
@common
def plan_cmd(lock_path: Path, target_ids: tuple[str, ...], shards: int, as_json: bool,
             settings: config.Settings) -> None:
    """Print the lock file's builds as independent jobs, a CI build matrix (JSON).

    Each target's packages fall into dependency waves (wave 0 has no locked dependency);
    each (wave, target) is split into at most N shards.  Run the jobs of a wave at once,
    the waves in order; each job's "build" is its `repack build --lock ... --only ...`.
    """
    del as_json, settings   # JSON is the one format; the config is checked, not needed
    click.echo(json.dumps(buildrun.plan(lock_path, target_ids, shards), indent=2))


@click.command()
@click.argument("req", metavar="REQ")
@click.option("-t", "--target", "target_id", default=DEFAULT_TARGET, show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Directory to write <source>-<version>/debian/ into.")
@click.option("--hash", "hashes", multiple=True, metavar="sha256:HEX")
@common
def render(req: str, target_id: str, output: Path, hashes: tuple[str, ...],
           settings: config.Settings) -> None:
    """Write the generated debian/ packaging of REQ for review, without building."""
    log.info(f"wrote {buildrun.render(req, target_id, hashes, output, settings)}")


@click.command()
@click.argument("artifacts", nargs=-1, required=True, metavar="ARTIFACT...",
                type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("-t", "--target", "target_id", metavar="TARGET",
              help="The target the packages were built for (default: from their version).")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False),
              help="Keep the rebuilt packages in OUTPUT/<target>/ (default: thrown away).")
@common
def rebuild(artifacts: tuple[Path, ...], target_id: str | None, output: Path | None,
            settings: config.Settings) -> None:
    """Rebuild each ARTIFACT (.deb or .rpm built by repack) from the sdist and date its
    provenance record names, without the build cache, and compare: "identical", or the
    first difference (exit 4).  A signed .rpm matches its unsigned rebuild.  Run it on a
    second machine to check the one that signs."""
    outcomes = buildrun.rebuild(artifacts, target_id, output, settings)
    for outcome in outcomes:
        if outcome.identical:
            click.echo(f"identical: {outcome.artifact.name}")
        else:
            log.warn(f"{outcome.artifact.name} differs from its rebuild: {outcome.difference}")
    buildrun.require_identical(outcomes)


@click.command("targets")
@common
def list_targets(settings: config.Settings) -> None:
    """List the known targets and whether their builder image is ready."""
    for t, state in housekeeping.target_states(settings):
        click.echo(f"{t.id:12} {t.family:4} python {t.python_version:5} {t.name:24} {state}")


@click.group()
def image() -> None:
    """Manage builder images (bootstrapped from the target's archive)."""


@image.command("build")
@click.argument("target_ids", nargs=-1, required=True, metavar="TARGET...")
@click.option("--rebuild", is_flag=True, help="Rebuild even if the image exists (fresh archive).")
@click.option("--base", is_flag=True, help="Also build the plain base image (used by tests).")
@common
def image_build(target_ids: tuple[str, ...], rebuild: bool, base: bool,
                settings: config.Settings) -> None:
    """Prepare the builder image of each TARGET ahead of time."""
    for tag in housekeeping.build_images(settings, target_ids, rebuild=rebuild, base=base):
        click.echo(tag)


@image.command("prune")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; remove nothing.")
@common
def image_prune(dry_run: bool, settings: config.Settings) -> None:
    """Remove repack's builder and base images (localhost/repack-*) that are no target's
    current recipe: those of older recipes or repack versions.  The current ones, other
    images, and images a container still uses (rmi is never forced) stay."""
    pruned = housekeeping.prune_images(settings, dry_run=dry_run)
    for tag in pruned.gone:
        click.echo(f"{'would remove' if dry_run else 'removed'} {tag}")
    for line in pruned.failed:
        log.warn(f"kept {line}")
    if pruned.nothing:
        log.info("no stale repack images")
    if pruned.error:
        raise pruned.error


@click.group()
def cache() -> None:
    """Inspect and trim the cache (REPACK_CACHE_DIR or the configured cache_dir)."""


@cache.command("prune")
@click.option("--older-than", "days", type=click.IntRange(min=0), default=30,
              show_default=True, metavar="DAYS",
              help="Remove entries nothing was written into for this many days.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; remove nothing.")
@common
def cache_prune(days: int, dry_run: bool, settings: config.Settings) -> None:
    """Remove cached builds, downloaded sdists and wheels, kept metadata, downloaded
    build-dependency .debs and leftover work directories that nothing was written into
    for DAYS days (a running build keeps writing its own, so it is never touched), and
    print what that freed.  Builder images are `repack image prune`'s."""
    pruned = housekeeping.prune_cache(settings, days, dry_run=dry_run)
    for e in pruned.gone:
        if dry_run:
            click.echo(f"would remove {e.path} ({log.size(e.size, binary=True)})")
        else:
            log.debug(f"removed {e.path} ({log.size(e.size, binary=True)})")
    for line in pruned.failed:
        log.warn(f"kept {line}")
    freed, n = sum(e.size for e in pruned.gone), len(pruned.gone)
    click.echo(f"{'would free' if dry_run else 'freed'} {log.size(freed, binary=True)} "
               f"({freed} bytes) in {n} entr{'y' if n == 1 else 'ies'} of {settings.cache_dir}")
    if pruned.error:
        raise pruned.error


@click.command()
def doctor() -> None:
    """Check every host tool repack drives; name what a missing one disables and how to
    install it (exit 9 when one is missing)."""
    from repack import doctor as checkup

    found = checkup.check()
    if "docker" in found.unanswered:
        click.echo(f"{'docker':18} client only: no engine answers `docker info`")
    click.echo(f"{'container engine':18} "
               f"{found.engine or 'MISSING: disables ' + checkup.ENGINE_USE}")
    for tool, path in found.tools.items():
        click.echo(f"{tool:18} {path or 'MISSING: disables ' + checkup.TOOLS[tool]}")
    if found.missing:
        click.echo(f"\nmissing: {', '.join(found.missing)}\ninstall with: apt-get install "
                   f"{' '.join(found.packages)}", err=True)
        sys.exit(ToolMissing.exit_code)
    click.echo("all host tools found")


COMMANDS = (build, lock_cmd, plan_cmd, render, rebuild, list_targets, image, cache, doctor)
