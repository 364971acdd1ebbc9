"""Known vulnerabilities of a release, from the index's JSON API (PyPI's OSV data).

PyPI's JSON API (``/pypi/<name>/<version>/json``) lists the advisories affecting each
release ("vulnerabilities": OSV id, aliases, fixed_in, withdrawn).  `lookup` asks it about
the release being built and about the *previous final release*: what the previous release
suffered from and this one no longer does is what this release fixes, which is what makes
a publish a security update (repack.publish.security).

An index without a JSON API (a plain PEP 503 mirror) answers 404, and a document whose
"vulnerabilities" is not a list (missing, null, an object...) says nothing: that is no
error, only no data (Findings with checked=False; the caller says so, and
--deny-vulnerable refuses).  Anything else that keeps us from an answer (no connection, a
5xx, a body that is not JSON or too big, a malformed advisory entry) is a ResolveError:
silently reporting "no known vulnerabilities" would be a lie.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from packaging.version import InvalidVersion, Version

from repack import log
from repack.errors import ResolveError
from repack.http import DeadlineExceeded, ResponseTooLarge, describe_error
from repack.model import Advisory, Release
from repack.trust.provenance import advisory_from_json

__all__ = ["Findings", "json_api_url", "lookup"]


def json_api_url(index_url: str, name: str, version: str | None = None) -> str:
    """PyPI's JSON API beside a simple index.

    The rule: the index URL's last path segment ``simple`` (or devpi's ``+simple``) is
    replaced by ``pypi`` (``https://pypi.org/simple/`` -> ``https://pypi.org/pypi/``); an
    index whose path does not end in such a segment is assumed to have the API as its
    sibling, i.e. ``../pypi/`` relative to the index directory
    (``https://mirror.example/python/index/`` -> ``https://mirror.example/python/pypi/``;
    an index at the root gets ``/pypi/``).  Query and fragment are dropped; credentials in
    the URL are kept, as pip keeps them.  Then ``<name>/json`` or ``<name>/<version>/json``.
    """
    parts = urlsplit(index_url)
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[-1] in ("simple", "+simple"):
        segments[-1] = "pypi"
    else:
        segments = [*segments[:-1], "pypi"]
    tail = [quote(name, safe=""), *([quote(version, safe="")] if version else []), "json"]
    path = "/" + "/".join([*segments, *tail])
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class Findings:
    """What the index knows about one release's security.

    vulnerabilities: advisories affecting the release itself (withdrawn ones left out).
    fixes: advisories of `previous` that this release fixes.
    previous: the previous final release (the JSON API's spelling), None when there is
    none or the index has no JSON API.
    checked: False when the index has no JSON API or no document for this release (some
    mirrors serve only the project-level one): "no advisories" would then be a guess.
    """

    vulnerabilities: tuple[Advisory, ...] = ()
    fixes: tuple[Advisory, ...] = ()
    previous: str | None = None
    checked: bool = False        # the index answered for this release (else: no data at all)


def _get(session: requests.Session, url: str, project: str) -> dict[str, Any] | None:
    """The JSON document at url; None on 404; ResolveError on anything else amiss."""
    try:   # the session bounds the answer's size and the time it takes (repack.http)
        resp = session.get(url, headers={"Accept": "application/json"})
    except (ResponseTooLarge, DeadlineExceeded) as exc:
        raise ResolveError(f"the index's JSON API ({url}) gave no usable answer about known "
                           f"vulnerabilities: {describe_error(exc)}", project=project) from exc
    except requests.RequestException as exc:
        raise ResolveError(f"cannot reach the index's JSON API ({url}) for known "
                           f"vulnerabilities: {describe_error(exc)}", project=project) from exc
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise ResolveError(f"the index's JSON API ({url}) answered HTTP {resp.status_code} "
                           "when asked for known vulnerabilities", project=project)
    try:
        doc = resp.json()
    except ValueError as exc:
        raise ResolveError(f"the index's JSON API ({url}) did not answer with JSON",
                           project=project) from exc
    if not isinstance(doc, dict):
        raise ResolveError(f"the index's JSON API ({url}) answered with an unexpected "
                           "document", project=project)
    return doc


def _advisories(doc: Mapping[str, Any], where: str, project: str
                ) -> tuple[Advisory, ...] | None:
    """The advisories a document lists (withdrawn ones left out); None when it has no list
    of them, which is no data; ResolveError for a malformed entry (never silently dropped:
    dropping one would report a vulnerable release as clean)."""
    items = doc.get("vulnerabilities")
    if not isinstance(items, list):
        return None
    found = []
    for number, item in enumerate(items, 1):
        try:
            advisory = advisory_from_json(item)
            withdrawn = item.get("withdrawn")
            if not (withdrawn is None or isinstance(withdrawn, (str, bool))):
                raise TypeError("withdrawn must be a date or null")
        except (ValueError, TypeError) as exc:
            raise ResolveError(f"the index's JSON API lists a malformed advisory for {where} "
                               f"(entry {number}): {exc}", project=project) from exc
        if not withdrawn:
            found.append(advisory)
    return tuple(found)


def _versions(doc: Mapping[str, Any]) -> dict[str, Version]:
    releases = doc.get("releases")
    parsed = {}
    for key in releases if isinstance(releases, dict) else ():
        try:
            parsed[str(key)] = Version(str(key))
        except InvalidVersion:
            continue
    return parsed


def _fixed_between(a: Advisory, low: Version, high: Version) -> bool:
    for text in a.fixed_in:
        try:
            if low < Version(text) <= high:
                return True
        except InvalidVersion:
            continue
    return False


def lookup(release: Release, session: requests.Session, *,
           since: Version | None = None) -> Findings:
    """Known vulnerabilities of `release` and the advisories it fixes (at most 3 requests).

    fixes: advisories listed for the previous final release (the greatest non-pre-release
    version below release.version; `since` instead when given: the version a repository
    publishes, for `repack outdated`) that name a fixed_in version after it and up to
    release.version, and that the release itself is not listed with (an advisory still
    affecting the release is fixed by nothing).  With `since`, checked also needs the
    index's data for `since`.
    """
    project = str(release.name)
    index = release.index_url
    project_doc = _get(session, json_api_url(index, project), project)
    if project_doc is None:
        log.debug(f"{project}: the index has no JSON API; no advisory data")
        return Findings()
    versions = _versions(project_doc)
    key = next((k for k, v in versions.items() if v == release.version), str(release.version))
    info = project_doc.get("info")
    if isinstance(info, dict) and info.get("version") == key:
        doc: dict[str, Any] | None = project_doc       # the latest release: no 2nd request
    else:
        doc = _get(session, json_api_url(index, project, key), project)
    if doc is None:
        log.debug(f"{project}: the index's JSON API has no document for {key}")
        return Findings()
    vulnerabilities = _advisories(doc, f"{project} {key}", project)
    if vulnerabilities is None:
        log.debug(f"{project}: the index's JSON API document for {key} lists no advisories "
                  "(no 'vulnerabilities' list)")
        return Findings()
    if since is not None:
        older = [(since, next((k for k, v in versions.items() if v == since), str(since)))]
    else:
        older = [(v, k) for k, v in versions.items()
                 if v < release.version and not v.is_prerelease]
    if not older:
        return Findings(vulnerabilities=vulnerabilities, checked=True)
    prev_version, previous = max(older)
    prev_doc = _get(session, json_api_url(index, project, previous), project)
    before = _advisories(prev_doc, f"{project} {previous}", project) if prev_doc else None
    still = {i for a in vulnerabilities for i in (a.id, *a.aliases)}
    fixes = tuple(a for a in before or ()
                  if a.id not in still and not still.intersection(a.aliases)
                  and _fixed_between(a, prev_version, release.version))
    # asked about `since`, the answer is its fixes: no data for `since` is no answer
    return Findings(vulnerabilities=vulnerabilities, fixes=fixes, previous=previous,
                    checked=since is None or before is not None)
