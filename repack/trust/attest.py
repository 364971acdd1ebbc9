"""PEP 740 attestations: check an upstream file's provenance against the policy's publisher.

PyPI serves, for a file uploaded through a Trusted Publisher, a provenance object: one
attestation bundle per publisher, each holding Sigstore-signed in-toto statements whose
subject is the file's name and sha256.  `verify_provenance` accepts a file when a bundle
from the expected publisher (GitHub repository + workflow file, or GitLab project + CI file)
holds attestations that all

- verify with Sigstore: the Fulcio certificate chains to Sigstore's root, the signature is
  over the statement, the Rekor entry's inclusion promise and proof check out;
- carry a certificate whose claims are that publisher's (pypi-attestations' own Trusted
  Publisher policies: issuer, source repository, build config URI);
- name exactly this file: its name and the sha256 of its bytes.

Verification is offline: the trust root is the one embedded in the installed sigstore
package (not the TUF cache under the user's home, which sigstore's offline mode reads and
seeds on first use), so the result does not depend on earlier runs, nothing is written,
and no connection is made to Sigstore.  An attestation signed after a Sigstore key rotation
newer than the installed sigstore fails until sigstore is upgraded.

The ``environment`` of a publisher is not in the Sigstore certificate: it is checked against
the provenance's publisher record, which the index vouches for, not Sigstore.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, cast

import pypi_attestations
import requests
import sigstore.errors
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from pydantic import ValidationError
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import VerificationPolicy

from repack.digest import sha256_file
from repack.errors import ConfigError, TrustError
from repack.http import get_small
from repack.trust.provenance import clean_text

__all__ = ["MAX_PROVENANCE_BYTES", "Publisher", "fetch_provenance", "publisher_from_policy",
           "verify_provenance"]

#: A provenance object is a few kB per attestation; refuse to read more than this.
MAX_PROVENANCE_BYTES = 1024 * 1024
#: The integrity API's media type (PEP 740), then plain JSON.
_ACCEPT = "application/vnd.pypi.integrity.v1+json, application/json;q=0.9"
_DSSE_TYPE = "application/vnd.in-toto+json"
_KNOWN_PREDICATES = frozenset(t.value for t in pypi_attestations.AttestationType)
#: Sigstore's production TUF repository, as sigstore names its embedded copy of it.
_EMBEDDED_ROOT = ("_store", "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev", "trusted_root.json")

_SEGMENT = r"[A-Za-z0-9_.-]+"
_GITHUB_REPO_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9_.-]{1,100}")
_GITLAB_REPO_RE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})+")
_GITHUB_WORKFLOW_RE = re.compile(r"[A-Za-z0-9_.-]+\.ya?ml")
_GITLAB_WORKFLOW_RE = re.compile(rf"(?:{_SEGMENT}/)*{_SEGMENT}\.ya?ml")
_ENVIRONMENT_RE = re.compile(r"[^\x00-\x1f\x7f]{1,255}")
_POLICY_KEYS = ("kind", "repository", "workflow", "environment")


@dataclass(frozen=True, slots=True, kw_only=True)
class Publisher:
    """A Trusted Publisher: the CI workflow allowed to have published a project's files.

    github: repository "owner/name", workflow the file name under .github/workflows/.
    gitlab: repository "namespace/project" (subgroups allowed), workflow the CI file's
    path in the project (usually ".gitlab-ci.yml").
    """

    repository: str
    workflow: str
    kind: Literal["github", "gitlab"] = "github"
    environment: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.repository}/{self.workflow}"

    def describe(self) -> str:
        """For messages: the publisher and, when set, its environment."""
        return f"{self}" + (f" (environment {self.environment!r})" if self.environment else "")

    def record(self, *, pinned: bool) -> str:
        """The entry for Sdist.verified: ``attestation:github:owner/name/release.yml``."""
        return f"attestation:{self}" + ("" if pinned else "(unpinned)")


def publisher_from_policy(table: Mapping[str, object], project: str) -> Publisher:
    """The Publisher a policy's ``attestation = {repository = ..., workflow = ...}`` names.

    ``kind`` is "github" (the default) or "gitlab"; ``environment`` is optional.  Raises
    ConfigError on unknown keys, missing keys or values of the wrong shape.
    """
    where = "attestation policy"
    unknown = sorted(set(table) - set(_POLICY_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(_POLICY_KEYS)})",
            project=project,
        )
    values: dict[str, str] = {}
    for key in _POLICY_KEYS:
        value = table.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string, got {value!r}", project=project)
        values[key] = value.strip()
    kind = values.get("kind", "github").lower()
    if kind not in ("github", "gitlab"):
        raise ConfigError(
            f"{where}: kind must be 'github' or 'gitlab', got {values['kind']!r}", project=project
        )
    for key in ("repository", "workflow"):
        if not values.get(key):
            example = 'attestation = {repository = "owner/name", workflow = "release.yml"}'
            raise ConfigError(f"{where}: {key} is required", project=project,
                              hint=f"for example: {example}")
    repository, workflow = values["repository"], values["workflow"]
    repo_re = _GITHUB_REPO_RE if kind == "github" else _GITLAB_REPO_RE
    if not repo_re.fullmatch(repository) or any(
        part in (".", "..") for part in repository.split("/")
    ):
        shape = "'owner/name'" if kind == "github" else "'namespace/project'"
        raise ConfigError(
            f"{where}: repository must be {shape}, got {repository!r}", project=project
        )
    if kind == "github" and not _GITHUB_WORKFLOW_RE.fullmatch(workflow):
        raise ConfigError(
            f"{where}: workflow must be a file name like 'release.yml', got {workflow!r}",
            project=project,
            hint="the file name only, without .github/workflows/",
        )
    if kind == "gitlab" and (
        not _GITLAB_WORKFLOW_RE.fullmatch(workflow)
        or any(part in (".", "..") for part in workflow.split("/"))
    ):
        raise ConfigError(
            f"{where}: workflow must be the CI file's path like '.gitlab-ci.yml', "
            f"got {workflow!r}",
            project=project,
        )
    environment = values.get("environment") or None
    if environment is not None and not _ENVIRONMENT_RE.fullmatch(environment):
        raise ConfigError(f"{where}: environment {environment!r} is not a valid name",
                          project=project)
    return Publisher(kind=cast(Literal["github", "gitlab"], kind), repository=repository,
                     workflow=workflow, environment=environment)


def fetch_provenance(url: str, session: requests.Session, project: str) -> bytes:
    """GET the provenance object the index announced, at most MAX_PROVENANCE_BYTES.

    Its bytes need no transport security: every attestation in it is checked by
    `verify_provenance`.  Raises TrustError when the index announced it but answers
    anything but 200 or more than the limit, ResolveError on a network failure.
    """
    data = get_small(url, session, project=project, what="the provenance",
                     limit=MAX_PROVENANCE_BYTES, headers={"Accept": _ACCEPT},
                     too_large=TrustError, refused=TrustError,
                     hint_404="the index announced provenance for the file but does not serve it")
    assert data is not None    # not missing_ok: a 404 raised
    return data


def verify_provenance(
    dist: Path,
    filename: str,
    provenance: bytes,
    *,
    expected: Publisher | None,
    project: str,
) -> str:
    """Verify the PEP 740 `provenance` of the file `filename` whose bytes are at `dist`.

    `expected` is the publisher the policy pins; None trusts the one publisher the
    provenance names (trust on first use), which the returned record says.  Returns the
    entry for Sdist.verified, e.g. ``attestation:github:owner/name/release.yml``; raises
    TrustError with a one-line reason otherwise.
    """
    bundles = _parse(provenance, filename, project)
    named = [(_publisher_of(b), b) for b in bundles]
    if expected is None:
        ours = {p for p, _ in named if p is not None}
        if not ours:
            raise TrustError(
                f"the provenance of {filename} names no GitHub or GitLab Trusted Publisher "
                f"(it names {_list_publishers(named)})",
                project=project,
            )
        if len(ours) > 1:
            raise TrustError(
                f"the provenance of {filename} names several publishers "
                f"({_list_publishers(named)}) and the policy pins none",
                project=project,
                hint='pin one: attestation = {repository = "owner/name", workflow = "release.yml"}',
            )
        chosen = [(p, b) for p, b in named if p is not None]
    else:
        chosen = [(p, b) for p, b in named if p is not None and _matches(p, expected)]
        if not chosen:
            raise TrustError(
                f"the provenance of {filename} is from {_list_publishers(named)}, "
                f"not from the policy's publisher {expected.describe()}",
                project=project,
                hint="if upstream really moved its releases, check why and update the "
                "policy's attestation table",
            )

    digest = sha256_file(dist)
    verifier = _verifier(project)
    for publisher, bundle in chosen:
        if not bundle.attestations:
            raise TrustError(
                f"the provenance of {filename} has no attestation from {publisher}",
                project=project,
            )
        for attestation in bundle.attestations:
            _verify_one(attestation, publisher, verifier, filename, digest, project)
    used = expected if expected is not None else chosen[0][0]
    return used.record(pinned=expected is not None)


# -- the steps ---------------------------------------------------------------------------


def _parse(
    provenance: bytes, filename: str, project: str
) -> list[pypi_attestations.AttestationBundle]:
    try:
        parsed = pypi_attestations.Provenance.model_validate_json(provenance)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise TrustError(
            f"malformed PEP 740 provenance for {filename}: {loc}: {first['msg']}",
            project=project,
        ) from exc
    if not parsed.attestation_bundles:
        raise TrustError(f"the provenance of {filename} holds no attestation bundle",
                         project=project)
    return parsed.attestation_bundles


def _publisher_of(bundle: pypi_attestations.AttestationBundle) -> Publisher | None:
    """Our Publisher for a GitHub or GitLab bundle; None for the kinds we do not pin."""
    pub = bundle.publisher
    if isinstance(pub, pypi_attestations.GitHubPublisher):
        return Publisher(kind="github", repository=pub.repository, workflow=pub.workflow,
                         environment=pub.environment or None)
    if isinstance(pub, pypi_attestations.GitLabPublisher):
        return Publisher(kind="gitlab", repository=pub.repository,
                         workflow=pub.workflow_filepath, environment=pub.environment or None)
    return None


def _list_publishers(named: list[tuple[Publisher | None, pypi_attestations.AttestationBundle]]
                     ) -> str:
    shown = []
    for publisher, bundle in named:
        if publisher is not None:
            shown.append(publisher.describe())
        else:
            pub = bundle.publisher
            who = getattr(pub, "email", None) or getattr(pub, "project_id", None) or "?"
            shown.append(f"{pub.kind}:{who}")
    return ", ".join(dict.fromkeys(clean_text(s, limit=200) for s in shown))


def _matches(found: Publisher, expected: Publisher) -> bool:
    """GitHub and GitLab names are case-insensitive; workflow file names are not."""
    if (found.kind, found.workflow) != (expected.kind, expected.workflow):
        return False
    if found.repository.casefold() != expected.repository.casefold():
        return False
    if expected.environment is None:
        return True
    return (found.environment or "").casefold() == expected.environment.casefold()


def _policy(publisher: Publisher) -> VerificationPolicy:
    """pypi-attestations' Trusted Publisher policy: issuer, repository, workflow@ref."""
    model: pypi_attestations.GitHubPublisher | pypi_attestations.GitLabPublisher
    if publisher.kind == "github":
        model = pypi_attestations.GitHubPublisher(
            repository=publisher.repository, workflow=publisher.workflow
        )
    else:
        model = pypi_attestations.GitLabPublisher(
            repository=publisher.repository, workflow_filepath=publisher.workflow
        )
    return model._as_policy()   # private, but the very policy Attestation.verify applies  # noqa: SLF001


@lru_cache(maxsize=1)
def _embedded_verifier() -> Verifier:
    resource = importlib.resources.files("sigstore").joinpath(*_EMBEDDED_ROOT)
    with importlib.resources.as_file(resource) as path:
        return Verifier(trusted_root=TrustedRoot.from_file(str(path)))


def _verifier(project: str) -> Verifier:
    try:
        return _embedded_verifier()
    except (OSError, ValueError, sigstore.errors.Error) as exc:
        raise TrustError(
            f"cannot load Sigstore's trust root from the installed sigstore package: {exc}",
            project=project,
            hint="reinstall repack's dependencies (pip install --force-reinstall sigstore)",
        ) from exc


def _verify_one(
    attestation: pypi_attestations.Attestation,
    publisher: Publisher,
    verifier: Verifier,
    filename: str,
    digest: str,
    project: str,
) -> None:
    what = f"the attestation of {filename} from {publisher}"
    try:
        bundle = attestation.to_bundle()
        payload_type, payload = verifier.verify_dsse(bundle, _policy(publisher))
    except (sigstore.errors.Error, pypi_attestations.AttestationError, ValueError) as exc:
        # sigstore's VerificationError covers a bad signature, a certificate that does not
        # chain to Fulcio or lacks the publisher's claims, and a bad transparency log entry.
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise TrustError(f"{what} does not verify: {reason}", project=project) from exc
    if payload_type != _DSSE_TYPE:
        raise TrustError(f"{what} has payload type {payload_type!r}, not in-toto",
                         project=project)
    subject_name, subject_digest, predicate = _subject(payload, what, project)
    if predicate not in _KNOWN_PREDICATES:
        raise TrustError(f"{what} has an unknown predicate type {predicate!r}", project=project)
    if _dist_key(subject_name) != _dist_key(filename):
        raise TrustError(
            f"attestation is for another file: it names {subject_name!r}, not {filename!r}",
            project=project,
        )
    if subject_digest != digest:
        raise TrustError(
            f"attestation is for another file: it names {subject_name} with "
            f"sha256:{subject_digest}, the file is sha256:{digest}",
            project=project,
        )


def _subject(payload: bytes, what: str, project: str) -> tuple[str, str, object]:
    """(name, sha256, predicateType) of the statement's one subject."""
    try:
        statement = json.loads(payload)
        subjects = statement["subject"]
        if not isinstance(subjects, list) or len(subjects) != 1:
            raise ValueError(f"{len(subjects)} subjects, expected exactly one")
        name = subjects[0]["name"]
        sha256 = subjects[0]["digest"]["sha256"]
        if not isinstance(name, str) or not isinstance(sha256, str):
            raise TypeError("subject name and sha256 must be strings")
        return name, sha256.lower(), statement.get("predicateType")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TrustError(f"{what} has a malformed statement: {exc}", project=project) from exc


def _dist_key(filename: str) -> tuple[object, ...] | str:
    """A file name as pypi-attestations compares them: parsed, so "Foo-1.0" == "foo-1.0"."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)
    except (InvalidSdistFilename, InvalidWheelFilename):
        pass
    return filename
