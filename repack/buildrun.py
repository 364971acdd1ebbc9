"""One `repack build`, `lock`, `plan`, `render` or `rebuild` run, from its parsed options to its
result.

The command line (repack.cli.build) only parses and prints; the requests a run builds, the
context it builds in, and how --lock, --with-deps and --sign change that are decided here.
`build` hands the requests to the pipeline (repack.pipeline: `build_all`, or `build_plans`
for --with-deps and --lock), then signs what it delivered on --sign (`sign_result`).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement

from repack import config, publishing, revision
from repack.container import engine
from repack.errors import ConfigError, IntegrityError
from repack.gpg import Signer
from repack.model import BuildRequest, Target

if TYPE_CHECKING:
    from repack import pipeline
    from repack.context import Context
    from repack.rebuild import Outcome
else:   # the pipeline's imports cost ~0.5 s that the repository commands need not pay
    from repack.lazy import lazy_import
    pipeline = lazy_import("repack.pipeline")

DEFAULT_TARGET = "debian-12"


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildOptions:
    """What `repack build` was asked to build, and how (its command-line options)."""

    reqs: tuple[str, ...] = ()               # PEP 508 requirements
    req_file: Path | None = None             # -r: a pip requirements file
    hashes: tuple[str, ...] = ()             # --hash pins of the one REQ
    target_ids: tuple[str, ...] = ()         # default: DEFAULT_TARGET, or the lock file's
    output: Path | None = None               # default: the config's output_dir
    with_deps: bool = False
    lock_file: Path | None = None
    only: tuple[str, ...] = ()               # --only NAME: these projects of the lock
    jobs: int = 2
    revision: int | None = None              # --revision N
    against: str | None = None               # --against REPO|URL
    require_signature: bool = False          # policy flags, on top of [trust]
    deny_vulnerable: bool = False
    sign: bool = False                       # --sign, with --key, --gnupghome, --passphrase-file
    sign_key: str | None = None
    gnupghome: Path | None = None
    passphrase_file: Path | None = None
    check: bool = True                       # the import check (repack.check); --no-check


def context(settings: config.Settings, output: Path | None) -> Context:
    """The run's Context: its settings, the container engine, the one HTTP session and
    index, and the output directory (-o, else the config's)."""
    from repack import http, resolve
    from repack.context import Context

    out = output or settings.output_dir
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output {out} is not a directory", hint="-o names a directory")
    return Context(settings=settings, engine=engine.detect(settings.engine, settings.limits),
                   session=http.session(), index=resolve.index_url(), output_dir=out)


def checked_context(settings: config.Settings, output: Path | None) -> Context:
    """The build context, once the policy's projects are known to exist on its index (the
    same session and index the build then uses)."""
    ctx = context(settings, output)
    if settings.policy.projects:
        from repack.trust.accept import check_policy_projects

        check_policy_projects(settings.policy, index=ctx.index, session=ctx.session)
    return ctx


def build_requests(reqs: Sequence[str], req_file: Path | None,
                   hashes: Sequence[str]) -> list[BuildRequest]:
    """The requests of REQ arguments (the --hash pins apply to exactly one) and -r FILE."""
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


def build(options: BuildOptions, settings: config.Settings) -> pipeline.BuildResult:
    """`repack build`: REQ and -r FILE (with their dependencies on --with-deps), or what
    --lock records, built by the pipeline; signed as built on --sign."""
    revision.check_revision(options.revision, with_against=options.against is not None)
    policy = settings.policy.with_flags(require_signature=options.require_signature,
                                        deny_vulnerable=options.deny_vulnerable)
    settings = dataclasses.replace(settings, policy=policy)
    settings = config.resolve_maintainer(settings, options.gnupghome, options.sign_key)
    signer = publishing.signer(options.gnupghome, options.sign_key, options.passphrase_file,
                               settings.publish) if options.sign else None
    if options.lock_file is not None:
        ctx = revision_context(checked_context(settings, options.output), options)
        result = _build_locked(options.lock_file, options, ctx, signer)
    else:
        if options.only:
            raise ConfigError("--only picks projects of a lock file: use it with --lock")
        targets = pipeline.load_targets(options.target_ids or (DEFAULT_TARGET,))
        _check_signer(signer, targets)
        wanted = build_requests(options.reqs, options.req_file, options.hashes)
        ctx = revision_context(checked_context(settings, options.output), options)
        with pipeline.warmed(targets, ctx):
            if options.with_deps:
                from repack.plan import plans as buildplan

                plans = buildplan.resolve_plans(wanted, targets, ctx)
                result = pipeline.build_plans(plans, targets, ctx, jobs=options.jobs)
            else:
                result = pipeline.build_all(wanted, targets, ctx)
            import_check(result, targets, ctx, options)
    return result if signer is None else sign_result(result, signer)


def sign_result(result: pipeline.BuildResult, signer: Signer) -> pipeline.BuildResult:
    """--sign: each target's family signs what it signs of the delivered files (Debian: the
    .dsc and .changes, debsign style; RPM: the .rpm and .src.rpm); the result carries their
    new sha256."""
    from repack import targets as target_files
    from repack.digest import sha256_file
    from repack.family import FAMILIES

    by_target: dict[str, list[Path]] = {}
    for a in result.artifacts:
        by_target.setdefault(a.target, []).append(a.path)
    signed: set[Path] = set()
    for target_id, paths in by_target.items():
        target = target_files.load(target_id)
        signed.update(FAMILIES[target.family].sign(paths, signer, target))
    artifacts = tuple(dataclasses.replace(a, sha256=sha256_file(a.path)) if a.path in signed
                      else a for a in result.artifacts)
    return dataclasses.replace(result, artifacts=artifacts)


def revision_context(ctx: Context, options: BuildOptions) -> Context:
    """--revision N, or the repository that picks the revision (repack.republish):
    --against, else [publish] repo once it exists."""
    if options.revision is not None:
        return dataclasses.replace(ctx, revision=options.revision)
    against, repo = options.against, ctx.settings.publish.repo
    if against is None and repo is not None and repo.is_dir():
        against = str(repo)
    if against is None:
        return ctx
    from repack.republish import Published

    return dataclasses.replace(ctx, against=Published.parse(against, ctx.session))


def _check_signer(signer: Signer | None, targets: Sequence[Target]) -> None:
    """--sign: a key some target's clients cannot verify (ed25519 for el9) is refused
    before anything is built, not after (exit 10)."""
    if signer is not None:
        from repack import keys

        for target in targets:
            keys.for_target(signer, target)


def _build_locked(lock_file: Path, options: BuildOptions, ctx: Context,
                  signer: Signer | None) -> pipeline.BuildResult:
    from repack.plan import lockfile
    from repack.plan import plans as buildplan

    if options.reqs or options.req_file is not None or options.with_deps:
        raise ConfigError("--lock builds what the lock file records: give no REQ, -r or "
                          "--with-deps with it")
    lock = lockfile.load(lock_file)
    targets = pipeline.load_targets(options.target_ids or tuple(t.id for t in lock.targets))
    _check_signer(signer, targets)
    if options.only:   # one `repack plan` job: its dependencies are built by earlier jobs
        from repack.plan.shards import restrict

        ctx = dataclasses.replace(ctx, planned=frozenset(
            str(p.name) for t in lock.targets for p in t.packages))
        lock = restrict(lock, options.only)
    plans = buildplan.locked_plans(lock, targets, ctx)
    ctx = dataclasses.replace(ctx, tool_pins=lockfile.tool_pins(lock))   # build tools too
    with pipeline.warmed(targets, ctx):
        result = pipeline.build_plans(plans, targets, ctx, jobs=options.jobs)
        import_check(result, targets, ctx, options)
    return result


def import_check(result: pipeline.BuildResult, targets: Sequence[Target], ctx: Context,
                 options: BuildOptions) -> None:
    """The run's packages installed in a clean container of each target and imported
    (repack.check), before anything is signed; --no-check skips it."""
    if options.check:
        from repack import check

        check.check_run(result.artifacts, targets, ctx)


def plan(lock_path: Path, target_ids: Sequence[str], shards: int) -> dict[str, object]:
    """`repack plan`: the lock file's builds as jobs for a CI matrix (repack.plan.shards),
    with the lock file's sha256; nothing is fetched or built."""
    from repack.digest import sha256_file
    from repack.plan import lockfile
    from repack.plan.shards import jobs, plan_json

    lock = lockfile.load(lock_path)
    waves = jobs(lock, target_ids=target_ids, shards=shards)
    return plan_json(waves, lock_path=str(lock_path), lock_sha256=sha256_file(lock_path))


def lock(reqs: Sequence[str], req_file: Path | None, target_ids: Sequence[str],
         lock_path: Path, settings: config.Settings) -> None:
    """`repack lock`: resolve REQ and what each target lacks; write them, with the sha256
    of every sdist and the build tools, to lock_path."""
    from repack.plan import lockfile
    from repack.plan import plans as buildplan

    targets = pipeline.load_targets(target_ids or (DEFAULT_TARGET,))
    wanted = build_requests(reqs, req_file, ())
    ctx = context(settings, None)
    plans = buildplan.resolve_plans(wanted, targets, ctx)
    tools = buildplan.lock_tools(plans, targets, ctx)
    lockfile.write(lock_path, plans, index=ctx.index,
                   requested=[str(r.requirement) for r in wanted], tools=tools.build,
                   fallback_tools=tools.fallback)


def render(req: str, target_id: str, hashes: Sequence[str], output: Path,
           settings: config.Settings) -> Path:
    """`repack render`: the packaging of REQ written under output, not built."""
    settings = config.resolve_maintainer(settings)
    (target,) = pipeline.load_targets((target_id,))
    (request,) = build_requests((req,), None, hashes)
    ctx = checked_context(settings, output)
    sdist = pipeline.fetch_sdist(request, target, ctx)
    return pipeline.render_only(sdist, target, ctx, output)


def rebuild(artifacts: Sequence[Path], target_id: str | None, output: Path | None,
            settings: config.Settings) -> list[Outcome]:
    """`repack rebuild`: each artifact built again, without the build cache, and compared;
    the rebuilt packages are kept in output, or thrown away."""
    from repack import rebuild as rebuilding

    with tempfile.TemporaryDirectory(prefix="repack-rebuild-") as tmp:
        ctx = dataclasses.replace(checked_context(settings, output or Path(tmp)), fresh=True)
        return rebuilding.rebuild(artifacts, ctx, target_id)


def require_identical(outcomes: Sequence[Outcome]) -> None:
    """IntegrityError (exit 4) naming the packages that differ from their rebuild."""
    differ = [o.artifact.name for o in outcomes if not o.identical]
    if differ:
        raise IntegrityError(f"{len(differ)} of {len(outcomes)} packages differ from "
                             f"their rebuild: {', '.join(differ)}",
                             hint="the same builder image (repack image build --rebuild "
                                  "refreshes it) and trust policy give the same bytes")
