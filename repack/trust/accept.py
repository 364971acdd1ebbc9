"""The verify stage: a hash-checked sdist meets the team's trust policy, or nothing is built.

    fetch (TLS, index sha256, pins) -> accept (OpenPGP, PEP 740, advisories) -> unpack ...

What passed is added to `Sdist.verified` ("pgp:<FPR>", "attestation:github:<repo>/<workflow>")
and travels into every package as its provenance record (repack.trust.provenance).  Checks run
before any upstream code does: the metadata hook and the build see only accepted files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, MutableMapping
from typing import TYPE_CHECKING

import requests

from repack import log
from repack.errors import ResolveError, TrustError
from repack.model import Advisory, Sdist
from repack.trust.policy import Policy, ProjectRule
from repack.trust.provenance import advisory_ids, clean_text

if TYPE_CHECKING:
    from repack.trust.attest import Publisher

__all__ = ["AcceptKey", "accept", "check_policy_projects", "describe_advisories"]


AcceptKey = tuple[str, str, tuple[str, ...], str]
"""What an acceptance depends on: the file, where it came from, what fetch verified, the policy."""


def accept(sdist: Sdist, policy: Policy, *, session: requests.Session,
           accepted: MutableMapping[AcceptKey, Sdist] | None = None) -> Sdist:
    """`sdist` with the checks the policy asks for done and recorded, and the index's
    advisories attached; TrustError when the policy is not met.  With `accepted` (the run's
    Context.accepted) done once per file and policy in a run (--with-deps reads metadata,
    then builds, the same sdist)."""
    # the policy by value; what fetch verified too (a pinned fetch adds "sha256:pin")
    key = (sdist.sha256, sdist.release.url, sdist.verified, repr(policy))
    if accepted is not None and key in accepted:
        return accepted[key]
    result = _accept(sdist, policy, session)
    if accepted is not None:
        accepted[key] = result
    return result


def _accept(sdist: Sdist, policy: Policy, session: requests.Session) -> Sdist:
    release = sdist.release
    project = str(release.name)
    rule = policy.rule(project)
    passed: list[str] = []
    missing: list[str] = []
    if rule is not None and rule.pgp:
        result = _pgp(sdist, rule, policy, session)
        (passed if result.startswith("pgp:") else missing).append(result)
    # Where a project has a rule, only the checks it names count: an unpinned attestation
    # (anyone can mint one from their own CI) is for projects without a rule.
    if (rule.attestation is not None) if rule is not None else policy.require_signature:
        result = _attestation(sdist, rule.attestation if rule else None, session)
        (passed if result.startswith("attestation:") else missing).append(result)
    if rule is not None:
        if rule.require == "all" and missing:
            raise TrustError(f"{release.filename}: the policy requires all of "
                             f"{' and '.join(rule.checks)}; {'; '.join(missing)}", project=project)
        if not passed:
            raise TrustError(f"{release.filename}: the policy requires a verified "
                             f"{' or '.join(rule.checks)}; {'; '.join(missing)}", project=project)
    if policy.require_signature and not passed:
        raise TrustError(
            f"{release.filename} carries no verified signature or attestation "
            "(--require-signature)", project=project,
            hint="add a [trust.projects] rule naming the project's keys or Trusted Publisher, "
                 "or build without --require-signature")
    for check in passed:
        log.info(f"{project}: {clean_text(release.filename)} verified: {check}")
    sdist = dataclasses.replace(sdist, verified=sdist.verified + tuple(passed))
    return _advisories(sdist, policy, session)


def _pgp(sdist: Sdist, rule: ProjectRule, policy: Policy, session: requests.Session) -> str:
    """"pgp:<FPR>" when the signature verifies, a reason when there is none; raises on a
    bad one."""
    from repack.trust import pgp

    release = sdist.release
    url = pgp.signature_url(release)
    signature = pgp.fetch_signature(url, session, str(release.name))
    if signature is None:
        return f"no OpenPGP signature ({url} is not there)"
    if policy.keyring is None:
        raise TrustError("the policy names pgp keys but has no keyring directory",
                         project=str(release.name))
    return pgp.verify_detached(sdist.path, signature, allowed=rule.pgp,
                               keyring=policy.keyring, project=str(release.name),
                               filename=release.filename)


def _attestation(sdist: Sdist, expected: Publisher | None, session: requests.Session) -> str:
    """The attestation check; `expected` None takes whichever one publisher it names."""
    from repack.trust import attest

    release = sdist.release
    if release.provenance_url is None:
        return "no PEP 740 attestation (the index announces no provenance)"
    data = attest.fetch_provenance(release.provenance_url, session, str(release.name))
    return attest.verify_provenance(sdist.path, release.filename, data,
                                    expected=expected,
                                    project=str(release.name))


def describe_advisories(advisories: Iterable[Advisory]) -> str:
    items = list(advisories)
    fixed = sorted({v for a in items for v in a.fixed_in})
    ids = advisory_ids(items)
    shown = ", ".join(ids[:6]) + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")
    return shown + (f" (fixed in {', '.join(fixed[:4])})" if fixed else "")


def _advisories(sdist: Sdist, policy: Policy, session: requests.Session) -> Sdist:
    from repack.trust import advisories

    release = sdist.release
    project = str(release.name)
    try:
        found = advisories.lookup(release, session)
    except ResolveError as exc:
        if policy.deny_vulnerable:
            raise TrustError(f"cannot check {release.filename} for known vulnerabilities "
                             f"(--deny-vulnerable): {exc}", project=project) from exc
        log.warn(f"{project}: could not check for known vulnerabilities: {exc}")
        return sdist
    if not found.checked:
        what = f"the index has no advisory data for {release.name} {release.version}"
        if policy.deny_vulnerable:
            raise TrustError(f"{what}, so known vulnerabilities cannot be ruled out "
                             "(--deny-vulnerable)", project=project,
                             hint="use an index with PyPI's JSON API (/pypi/<name>/<version>/"
                                  "json), or build without --deny-vulnerable")
        log.info(f"{project}: {what}; known vulnerabilities not checked")
        return sdist
    if found.vulnerabilities:
        what = (f"{release.version} has {len(found.vulnerabilities)} known "
                f"vulnerabilit{'y' if len(found.vulnerabilities) == 1 else 'ies'}: "
                f"{describe_advisories(found.vulnerabilities)}")
        if policy.deny_vulnerable:
            raise TrustError(f"{what}; refused (--deny-vulnerable)", project=project,
                             hint="pick a release that fixes them")
        log.warn(f"{project}: {what}")
    if found.fixes:
        log.info(f"{project}: {release.version} is a security update: it fixes "
                 f"{describe_advisories(found.fixes)}")
    return dataclasses.replace(sdist, vulnerabilities=found.vulnerabilities, fixes=found.fixes,
                               advisories_checked=True)


def check_policy_projects(policy: Policy, *, index: str, session: requests.Session) -> None:
    """A rule for a project the index does not have is a typo that would silently protect
    nothing: refuse it before building."""
    from concurrent.futures import ThreadPoolExecutor

    from repack import resolve

    def check(name: str) -> ResolveError | None:
        try:
            resolve.project_page(name, index=index, session=session)
        except ResolveError as exc:
            return exc
        return None

    names = sorted(policy.projects)
    with ThreadPoolExecutor(max_workers=8) as pool:   # one page each: a long policy stays quick
        failures = [(n, e) for n, e in zip(names, pool.map(check, names), strict=True) if e]
    if failures:
        name, exc = failures[0]
        where = policy.source or "the trust policy"
        raise TrustError(f"{where}: [trust.projects.{name}] names a project that is "
                         f"{exc.args[0]}", project=name,
                         hint="fix the project name in the policy") from exc


def check_keyring(policy: Policy) -> list[str]:
    """Problems a build would meet later: allowed keys missing from the keyring, expired or
    revoked ones.  One line each."""
    from repack.trust import pgp

    wanted = {fpr: name for name, rule in policy.projects.items() for fpr in rule.pgp}
    if not wanted:
        return []
    keyring = policy.keyring
    have = {k.fingerprint: k for k in pgp.list_keys(keyring)} if keyring else {}
    problems = []
    for fpr, name in sorted(wanted.items(), key=lambda item: (item[1], item[0])):
        key = have.get(fpr)
        if key is None:
            problems.append(f"{name}: key {fpr} is not in {keyring} "
                            f"(repack trust add-key {name} KEYFILE)")
        elif key.revoked:
            problems.append(f"{name}: key {fpr} is revoked")
        elif key.expired:
            problems.append(f"{name}: key {fpr} expired on {key.expires:%Y-%m-%d}")
    return problems
