"""The `repack` command line.  No logic here: parse, call the pipeline, report.

Exit codes: 0 success; 1 internal error; 2 usage or configuration; 3 not on the index;
4 hash mismatch; 5 unsafe or corrupt archive; 6 bad metadata; 7 cannot map to the target;
8 a build step failed; 9 a host tool is missing; 10 signing failed; 11 the trust policy
refused an upstream file; 12 the host refused a file operation (disk full, read-only or
missing directory); 130/143 interrupted by SIGINT/SIGTERM.
"""

from __future__ import annotations

import errno
import json
import shutil
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click
from packaging.requirements import InvalidRequirement, Requirement

from repack import __version__, cli_publish, cli_trust, config, log
from repack import targets as target_files
from repack.container import engine as engines
from repack.errors import CommandFailed, ConfigError, HostError, RepackError
from repack.model import BuildRequest, Target
from repack.run import TOOL_PACKAGES

if TYPE_CHECKING:
    from repack import pipeline
    from repack.gpg import Signer
else:   # the build pipeline's imports cost ~0.5 s that the repository commands need not pay
    from repack.lazy import lazy_import
    pipeline = lazy_import("repack.pipeline")

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_TARGET = "debian-12"


def _common(f: F) -> F:
    f = click.option("-v", "--verbose", is_flag=True, help="Show every command and its output.")(f)
    f = click.option("--debug", is_flag=True, help="Show tracebacks for errors.")(f)
    f = click.option("--config", "config_file", type=click.Path(path_type=Path),
                     help="Project config: the trust policy, [publish] defaults... (default: "
                          "./repack.toml; "
                          "$XDG_CONFIG_HOME/repack/config.toml is read first).")(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="repack")
def cli() -> None:
    """Turn Python sdists from your package index into native Debian packages, built from
    the hash-verified upstream sdist in clean containers.

    \b
    Typical use:
      repack doctor                      check the host tools
      repack build django==4.2           ./repack-out/debian-12/python3-django_*.deb
      repack build -r requirements.txt -t debian-12 -t debian-13
      repack render django==4.2 -o review/   the debian/ directory, not built

    The index is the one pip uses (PIP_INDEX_URL or pip.conf index-url).
    """


def _context(settings: config.Settings, output: Path | None) -> pipeline.Context:
    from repack import http, resolve
    from repack.container import engine

    out = output or settings.output_dir
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output {out} is not a directory", hint="-o names a directory")

    return pipeline.Context(settings=settings,
                            engine=engine.detect(settings.engine, settings.limits),
                            session=http.session(), index=resolve.index_url(),
                            output_dir=out)


def _requests(reqs: tuple[str, ...], req_file: Path | None,
              hashes: tuple[str, ...]) -> list[BuildRequest]:
    from repack.requirements import parse_hash_option, parse_requirements_file

    pins = tuple(parse_hash_option(h) for h in hashes)
    if pins and len(reqs) != 1:
        raise ConfigError("--hash applies to exactly one REQ; use -r FILE with --hash per line")
    out = []
    for text in reqs:
        try:
            out.append(BuildRequest(requirement=Requirement(text), hashes=pins))
        except InvalidRequirement as e:
            raise ConfigError(f"{text!r} is not a valid PEP 508 requirement: {e}") from e
    if req_file is not None:
        out += [BuildRequest(requirement=p.req, hashes=p.hashes)
                for p in parse_requirements_file(req_file)]
    if not out:
        raise ConfigError("nothing to build: give REQ arguments or -r FILE")
    return out


def _report(debug: bool, body: Callable[[], None]) -> None:
    """Run a command's body; every error becomes one `error:` line and its exit code."""
    try:
        body()
    except KeyboardInterrupt as e:
        engines.stop_all()
        log.console.print("error: interrupted", style="bold red")
        sys.exit(128 + (e.args[0] if e.args and isinstance(e.args[0], int) else signal.SIGINT))
    except RepackError as e:
        _fail(e, debug)
    except OSError as e:
        if e.errno is None:
            _internal(e, debug)
        _fail(_host_error(e), debug)
    except Exception as e:  # noqa: BLE001 - the last net: one line, the traceback on --debug
        _internal(e, debug)


def _host_error(e: OSError) -> HostError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        # the file named may be the *source* of a copy: say what ran out instead
        return HostError(f"{e.strerror}", hint="free space on the file system of the "
                         "repository, the output directory or the cache (REPACK_CACHE_DIR)")
    where = f"{e.filename}: " if e.filename else ""
    return HostError(f"{where}{e.strerror or e}",
                     hint="check permissions and that the directory exists and is writable")


def _internal(e: Exception, debug: bool) -> None:
    """A bug in repack: still one line, with the way to see the traceback."""
    if debug:
        log.console.print_exception()
    message = " ".join(f"{type(e).__name__}: {e}".split())
    log.console.print(f"error: internal error: {message}", style="bold red", markup=False)
    log.console.print("hint: this is a bug in repack; run again with --debug and report the "
                      "traceback", markup=False)
    sys.exit(1)


def _fail(e: RepackError, debug: bool) -> None:
    if debug:
        log.console.print_exception()
    if isinstance(e, CommandFailed) and e.output_tail:
        log.console.print(e.output_tail, markup=False, style="dim")
    log.console.print(f"error: {e}", style="bold red", markup=False)
    if e.hint:
        log.console.print(f"hint: {e.hint}", markup=False)
    sys.exit(e.exit_code)


@cli.command()
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
@click.option("-j", "--jobs", default=2, show_default=True, type=click.IntRange(min=1),
              help="Builds run at once with --with-deps or --lock.")
@click.option("--revision", type=int, metavar="N",
              help="Build every package as revision N (Debian -0repackN, rpm Release "
                   "0.repackN); the changelog says it was asked for.")
@click.option("--against", metavar="REPO|URL",
              help="The published repository (directory or URL; default [publish] repo) "
                   "whose builds pick the revision: the published one when identical, the "
                   "next when it differs.")
@click.option("--sign", is_flag=True, help="Sign the .dsc/.changes (debsign style) as built.")
@click.option("--key", "sign_key", help="Fingerprint to sign with (default: [publish] key, "
                                        "else the published key).")
@click.option("--require-signature", is_flag=True,
              help="Refuse every sdist without a verified OpenPGP signature or PEP 740 "
                   "attestation (as the policy's require-signature).")
@click.option("--deny-vulnerable", is_flag=True,
              help="Refuse releases the index lists known vulnerabilities for.")
@cli_publish.key_options
@_common
def build(reqs: tuple[str, ...], target_ids: tuple[str, ...], output: Path | None,
          hashes: tuple[str, ...], req_file: Path | None, as_json: bool, with_deps: bool,
          lock_file: Path | None, jobs: int, revision: int | None, against: str | None,
          sign: bool, sign_key: str | None, require_signature: bool, deny_vulnerable: bool,
          gnupghome: Path | None, passphrase_file: Path | None, verbose: bool, debug: bool,
          config_file: Path | None) -> None:
    """Build native packages of REQ (PEP 508 requirements, e.g. 'django==4.2').

    An unpinned REQ resolves to the newest release that is not yanked, has an sdist and
    whose Requires-Python admits the target's Python.  The sdist's sha256 is checked
    against the index and every --hash before it is used; then the trust policy
    (./repack.toml [trust]: OpenPGP keys, Trusted Publishers) and the index's advisories.
    Every package records what was verified: see `repack explain`.
    """
    log.configure(verbose=verbose)

    def body() -> None:
        from repack.revision import check_revision

        check_revision(revision, with_against=against is not None)   # before anything runs
        settings = _with_policy_flags(config.load(config_file), require_signature,
                                      deny_vulnerable)
        signer = cli_publish.make_signer(gnupghome, sign_key, passphrase_file,
                                         settings.publish) if sign else None
        if lock_file is not None:
            ctx = _revision_context(_checked_context(settings, output), revision, against)
            result = _build_locked(lock_file, reqs, req_file, with_deps, target_ids, jobs, ctx,
                                   signer)
        else:
            targets = pipeline.load_targets(target_ids or (DEFAULT_TARGET,))
            _check_signer(signer, targets)
            requests_ = _requests(reqs, req_file, hashes)
            ctx = _revision_context(_checked_context(settings, output), revision, against)
            if with_deps:
                from repack.plan import plans as buildplan

                plans = buildplan.resolve_plans(requests_, targets, ctx)
                result = buildplan.build_plans(plans, targets, ctx, jobs=jobs)
            else:
                result = pipeline.build_all(requests_, targets, ctx)
        if signer is not None:
            result = cli_publish.sign_build_result(result, signer)
        if as_json:
            click.echo(json.dumps(result_json(result), indent=2))
        else:
            for a in result.artifacts:
                if a.format in ("deb", "rpm"):
                    log.info(f"built {a.path}")
    _report(debug, body)


def _with_policy_flags(settings: config.Settings, require_signature: bool,
                       deny_vulnerable: bool) -> config.Settings:
    import dataclasses

    policy = settings.policy.with_flags(require_signature=require_signature,
                                        deny_vulnerable=deny_vulnerable)
    return dataclasses.replace(settings, policy=policy)


def _revision_context(ctx: pipeline.Context, revision: int | None,
                      against: str | None) -> pipeline.Context:
    """--revision N, or the repository that picks the revision (repack.revision): --against,
    else [publish] repo once it exists."""
    import dataclasses

    from repack import revision as revisions

    if revision is not None:
        return dataclasses.replace(ctx, revision=revision)
    repo = ctx.settings.publish.repo
    if against is None and repo is not None and repo.is_dir():
        against = str(repo)
    if against is None:
        return ctx
    return dataclasses.replace(ctx, against=revisions.Published.parse(against, ctx.session))


def _checked_context(settings: config.Settings, output: Path | None) -> pipeline.Context:
    """The build context, once the policy's projects are known to exist on its index (the
    same session and index the build then uses)."""
    ctx = _context(settings, output)
    if settings.policy.projects:
        from repack.trust import accept as trust

        trust.check_policy_projects(settings.policy, index=ctx.index, session=ctx.session)
    return ctx


def _check_signer(signer: Signer | None, targets: Sequence[Target]) -> None:
    """--sign: a key some target's clients cannot verify (ed25519 for el9) is refused
    before anything is built, not after (exit 10)."""
    if signer is not None:
        from repack import keys

        for target in targets:
            keys.for_target(signer, target)


def _build_locked(lock_file: Path, reqs: tuple[str, ...], req_file: Path | None,
                  with_deps: bool, target_ids: tuple[str, ...], jobs: int,
                  ctx: pipeline.Context, signer: Signer | None = None) -> pipeline.BuildResult:
    import dataclasses

    from repack.plan import lockfile
    from repack.plan import plans as buildplan

    if reqs or req_file is not None or with_deps:
        raise ConfigError("--lock builds what the lock file records: give no REQ, -r or "
                          "--with-deps with it")
    lock = lockfile.load(lock_file)
    targets = pipeline.load_targets(target_ids or tuple(t.id for t in lock.targets))
    _check_signer(signer, targets)
    plans = buildplan.locked_plans(lock, targets, ctx)
    ctx = dataclasses.replace(ctx, tool_pins=lockfile.tool_pins(lock))   # build tools too
    return buildplan.build_plans(plans, targets, ctx, jobs=jobs)


@cli.command("lock")
@click.argument("reqs", nargs=-1, metavar="REQ...")
@click.option("-t", "--target", "target_ids", multiple=True, metavar="TARGET",
              help=f"Target distribution release (repeatable; default {DEFAULT_TARGET}).")
@click.option("-r", "--requirement", "req_file", type=click.Path(path_type=Path, dir_okay=False),
              help="A pip requirements file (==pins and --hash lines).")
@click.option("-o", "--output", "lock_path", type=click.Path(path_type=Path, dir_okay=False),
              default=Path("repack.lock"), show_default=True, help="The lock file to write.")
@_common
def lock_cmd(reqs: tuple[str, ...], target_ids: tuple[str, ...], req_file: Path | None,
             lock_path: Path, verbose: bool, debug: bool, config_file: Path | None) -> None:
    """Resolve REQ and the dependencies each TARGET does not provide, and write them with
    the sha256 of every sdist to a lock file for `repack build --lock`."""
    log.configure(verbose=verbose)

    def body() -> None:
        from repack.plan import lockfile
        from repack.plan import plans as buildplan

        settings = config.load(config_file)
        targets = pipeline.load_targets(target_ids or (DEFAULT_TARGET,))
        requests_ = _requests(reqs, req_file, ())
        ctx = _context(settings, None)
        plans = buildplan.resolve_plans(requests_, targets, ctx)
        tools = buildplan.lock_tools(plans, targets, ctx)
        lockfile.write(lock_path, plans, index=ctx.index,
                       requested=[str(r.requirement) for r in requests_], tools=tools)
        log.info(f"wrote {lock_path}")
    _report(debug, body)


def result_json(result: pipeline.BuildResult) -> dict[str, object]:
    return {
        "artifacts": [{"target": a.target, "format": a.format, "package": a.package,
                       "version": a.version, "path": str(a.path), "sha256": a.sha256}
                      for a in result.artifacts],
        "sources": [{"project": s.release.name, "version": str(s.release.version),
                     "url": s.release.url, "sha256": s.sha256, "verified": list(s.verified)}
                    for s in result.sources],
        "warnings": list(result.warnings),
    }


@cli.command()
@click.argument("req", metavar="REQ")
@click.option("-t", "--target", "target_id", default=DEFAULT_TARGET, show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Directory to write <source>-<version>/debian/ into.")
@click.option("--hash", "hashes", multiple=True, metavar="sha256:HEX")
@_common
def render(req: str, target_id: str, output: Path, hashes: tuple[str, ...], verbose: bool,
           debug: bool, config_file: Path | None) -> None:
    """Write the generated debian/ packaging of REQ for review, without building."""
    log.configure(verbose=verbose)

    def body() -> None:
        settings = config.load(config_file)
        (target,) = pipeline.load_targets((target_id,))
        (request,) = _requests((req,), None, hashes)
        ctx = _checked_context(settings, output)
        sdist = pipeline.fetch_sdist(request, target, ctx)
        out = pipeline.render_only(sdist, target, ctx, output)
        log.info(f"wrote {out}")
    _report(debug, body)


@cli.command()
@click.argument("artifacts", nargs=-1, required=True, metavar="ARTIFACT...",
                type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("-t", "--target", "target_id", metavar="TARGET",
              help="The target the packages were built for (default: from their version).")
@click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False),
              help="Keep the rebuilt packages in OUTPUT/<target>/ (default: thrown away).")
@_common
def rebuild(artifacts: tuple[Path, ...], target_id: str | None, output: Path | None,
            verbose: bool, debug: bool, config_file: Path | None) -> None:
    """Rebuild each ARTIFACT (.deb or .rpm built by repack) from the sdist and date its
    provenance record names, without the build cache, and compare: "identical", or the
    first difference (exit 4).  A signed .rpm matches its unsigned rebuild.  Run it on a
    second machine to check the one that signs."""
    log.configure(verbose=verbose)

    def body() -> None:
        import dataclasses
        import tempfile

        from repack import rebuild as rebuilding
        from repack.errors import IntegrityError

        settings = config.load(config_file)
        with tempfile.TemporaryDirectory(prefix="repack-rebuild-") as tmp:
            ctx = dataclasses.replace(_checked_context(settings, output or Path(tmp)),
                                      fresh=True)
            differ = []
            for outcome in rebuilding.rebuild(artifacts, ctx, target_id):
                name = outcome.artifact.name
                if outcome.identical:
                    click.echo(f"identical: {name}")
                else:
                    log.warn(f"{name} differs from its rebuild: {outcome.difference}")
                    differ.append(name)
        if differ:
            raise IntegrityError(f"{len(differ)} of {len(artifacts)} packages differ from "
                                 f"their rebuild: {', '.join(differ)}",
                                 hint="the same builder image (repack image build --rebuild "
                                      "refreshes it) and trust policy give the same bytes")
    _report(debug, body)


@cli.command("targets")
@_common
def list_targets(verbose: bool, debug: bool, config_file: Path | None) -> None:
    """List the known targets and whether their builder image is ready."""
    log.configure(verbose=verbose)

    def body() -> None:
        from repack.container import engine, images

        settings = config.load(config_file)
        try:
            eng: engine.Engine | None = engine.detect(settings.engine, settings.limits)
        except RepackError:
            eng = None
        for tid in target_files.available():
            t = target_files.load(tid)
            img = images.image_for(t, "builder", settings.cache_dir)
            ready = "no engine" if eng is None else (
                "ready" if images.is_ready(eng, img) else "not built (repack image build "
                f"{tid})")
            click.echo(f"{tid:12} {t.family:4} python {t.python_version:5} {t.name:24} {ready}")
    _report(debug, body)


@cli.group()
def image() -> None:
    """Manage builder images (bootstrapped from the target's archive)."""


@image.command("build")
@click.argument("target_ids", nargs=-1, required=True, metavar="TARGET...")
@click.option("--rebuild", is_flag=True, help="Rebuild even if the image exists (fresh archive).")
@click.option("--base", is_flag=True, help="Also build the plain base image (used by tests).")
@_common
def image_build(target_ids: tuple[str, ...], rebuild: bool, base: bool, verbose: bool,
                debug: bool, config_file: Path | None) -> None:
    """Prepare the builder image of each TARGET ahead of time."""
    log.configure(verbose=verbose)

    def body() -> None:
        from repack.container import engine, images

        settings = config.load(config_file)
        eng = engine.detect(settings.engine, settings.limits)
        for t in pipeline.load_targets(target_ids):
            for kind in ("builder", "base") if base else ("builder",):
                img = images.ensure(eng, images.image_for(t, kind, settings.cache_dir),
                                    rebuild=rebuild)
                click.echo(img.tag)
    _report(debug, body)


@image.command("prune")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; remove nothing.")
@_common
def image_prune(dry_run: bool, verbose: bool, debug: bool, config_file: Path | None) -> None:
    """Remove repack's builder and base images (localhost/repack-*) that are no target's
    current recipe: those of older recipes or repack versions.  The current ones, other
    images, and images a container still uses (rmi is never forced) stay."""
    log.configure(verbose=verbose)

    def body() -> None:
        from repack.container import engine, images

        settings = config.load(config_file)
        eng = engine.detect(settings.engine, settings.limits)
        doomed = images.stale_tags(images.engine_tags(eng),
                                   images.current_tags(settings.cache_dir))
        failed = [] if dry_run else images.remove_images(eng, doomed)
        for tag in doomed:
            if not any(f.startswith(f"{tag}:") for f in failed):
                click.echo(f"{'would remove' if dry_run else 'removed'} {tag}")
        for line in failed:
            log.warn(f"kept {line}")
        if not doomed:
            log.info("no stale repack images")
        if failed:
            raise HostError(f"{len(failed)} image(s) could not be removed")
    _report(debug, body)


@cli.group()
def cache() -> None:
    """Inspect and trim the cache (REPACK_CACHE_DIR or the configured cache_dir)."""


@cache.command("prune")
@click.option("--older-than", "days", type=click.IntRange(min=0), default=30,
              show_default=True, metavar="DAYS",
              help="Remove entries nothing was written into for this many days.")
@click.option("--dry-run", is_flag=True, help="Print what would be removed; remove nothing.")
@_common
def cache_prune(days: int, dry_run: bool, verbose: bool, debug: bool,
                config_file: Path | None) -> None:
    """Remove cached builds, downloaded sdists and wheels, kept metadata, downloaded
    build-dependency .debs and leftover work directories that nothing was written into
    for DAYS days (a running build keeps writing its own, so it is never touched), and
    print what that freed.  Builder images are `repack image prune`'s."""
    log.configure(verbose=verbose)

    def body() -> None:
        from repack import prune

        settings = config.load(config_file)
        doomed, failed = prune.prune(settings.cache_dir, days, dry_run=dry_run)
        gone = [e for e in doomed if not any(f.startswith(f"{e.path}:") for f in failed)]
        for e in gone:
            if dry_run:
                click.echo(f"would remove {e.path} ({log.size(e.size, binary=True)})")
            else:
                log.debug(f"removed {e.path} ({log.size(e.size, binary=True)})")
        for line in failed:
            log.warn(f"kept {line}")
        freed = sum(e.size for e in gone)
        click.echo(f"{'would free' if dry_run else 'freed'} {log.size(freed, binary=True)} "
                   f"({freed} bytes) in {len(gone)} entr{'y' if len(gone) == 1 else 'ies'} "
                   f"of {settings.cache_dir}")
        if failed:
            raise HostError(f"{len(failed)} cache entr{'y' if len(failed) == 1 else 'ies'} "
                            "could not be removed")
    _report(debug, body)


# Host tools and what each is for: the builds themselves run in containers, so a host
# without rpm can still build rpms, but cannot publish or inspect them.
DOCTOR_TOOLS: dict[str, str] = {
    "mmdebstrap": "build, render, lock, rebuild, image build (bootstrapping builder images)",
    "dpkg-deb": "build (checking the .debs), publish, explain, rebuild",
    "gpg": "key, sign, publish, repo refresh, trust add-key, build --sign",
    "gpgv": "publish, repo verify",
    "rpm": "publish and repo verify of yum repositories, rebuild of .rpm",
    "rpmsign": "sign and publish of .rpm",
    "rpm2archive": "explain of .rpm",
    "createrepo_c": "publish of .rpm (the yum metadata)",
}
ENGINE_USE = "build, render, lock, rebuild, image build (podman or docker)"


@cli.command()
def doctor() -> None:
    """Check every host tool repack drives; name what a missing one disables and how to
    install it (exit 9 when one is missing)."""
    missing: dict[str, str] = {}
    try:
        engine_name = engines.detect().name
    except RepackError:
        engine_name = None
        missing["podman"] = ENGINE_USE
    if engine_name is None and shutil.which("docker"):
        click.echo(f"{'docker':18} client only: no engine answers `docker info`")
    click.echo(f"{'container engine':18} {engine_name or 'MISSING: disables ' + ENGINE_USE}")
    for tool, use in DOCTOR_TOOLS.items():
        path = shutil.which(tool)
        click.echo(f"{tool:18} {path or 'MISSING: disables ' + use}")
        if not path:
            missing[tool] = use
    if missing:
        packages = sorted({TOOL_PACKAGES.get(t, t) for t in missing})
        click.echo(f"\nmissing: {', '.join(missing)}\ninstall with: apt-get install "
                   f"{' '.join(packages)}", err=True)
        sys.exit(9)
    click.echo("all host tools found")


cli_publish.register(cli, _common, _report)
cli_trust.register(cli, _common, _report)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGINT, SIGTERM and SIGHUP stop the run the same way: its build containers are
    removed at once (worker threads waiting on them fail fast), then the main thread
    unwinds through every `finally` as for Ctrl-C."""
    engines.stop_all()
    raise KeyboardInterrupt(signum)


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        cli(prog_name="repack")
    except KeyboardInterrupt as e:     # outside a command's body (e.g. while parsing)
        sys.exit(128 + (e.args[0] if e.args and isinstance(e.args[0], int) else signal.SIGINT))
