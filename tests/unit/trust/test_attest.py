"""PEP 740 provenance verified offline with real Sigstore material (tests/data/attestations).

Every test runs with connections to anything but loopback refused (the `offline` fixture):
verification needs neither Sigstore nor the network.  The index test refuses loopback too
while it verifies.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from localindex import LocalIndex
from packaging.requirements import Requirement

from repack import http
from repack.errors import ConfigError, ResolveError, TrustError
from repack.fetch import fetch
from repack.resolve import resolve
from repack.trust.attest import (
    MAX_PROVENANCE_BYTES,
    Publisher,
    fetch_provenance,
    publisher_from_policy,
    verify_provenance,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "attestations"
SDIST = DATA / "pypi_attestations-0.0.19.tar.gz"
PROVENANCE = (DATA / "pypi_attestations-0.0.19.tar.gz.provenance").read_bytes()
PROJECT = "pypi-attestations"
PUBLISHER = Publisher(repository="trailofbits/pypi-attestations", workflow="release.yml")
RECORD = "attestation:github:trailofbits/pypi-attestations/release.yml"

GITLAB_SDIST = DATA / "gitlab_oidc_project-0.0.3.tar.gz"
GITLAB_ATTESTATION = (DATA / "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation").read_bytes()
GITLAB_PUBLISHER = Publisher(kind="gitlab", repository="facutuesca/gitlab-oidc-project",
                             workflow=".gitlab-ci.yml")

GOOGLE_SDIST = DATA / "gcb_attestation_test-0.0.0.tar.gz"
GOOGLE_PROVENANCE = (DATA / "gcb_attestation_test-0.0.0.tar.gz.provenance").read_bytes()


class NetworkUsed(AssertionError):
    pass


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    return isinstance(host, str) and (host in ("localhost", "::1") or host.startswith("127."))


def _guard(monkeypatch: pytest.MonkeyPatch, *, allow_loopback: bool) -> None:
    """Refuse name lookups and connections (but loopback's, if allowed) in this process."""
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if allow_loopback and _is_loopback(address):
            return real_connect(self, address)
        raise NetworkUsed(f"connection to {address!r}")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if allow_loopback and _is_loopback(host):
            return real_getaddrinfo(host, *args, **kwargs)
        raise NetworkUsed(f"name lookup of {host!r}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    _guard(monkeypatch, allow_loopback=True)


def verify(
    provenance: bytes = PROVENANCE,
    *,
    dist: Path = SDIST,
    filename: str | None = None,
    expected: Publisher | None = PUBLISHER,
) -> str:
    return verify_provenance(dist, filename or dist.name, provenance, expected=expected,
                             project=PROJECT)


def refused(match: str, provenance: bytes = PROVENANCE, **kwargs: Any) -> TrustError:
    with pytest.raises(TrustError, match=match) as info:
        verify(provenance, **kwargs)
    err = info.value
    assert err.exit_code == 11
    assert str(err).startswith(f"{PROJECT}: ") and "\n" not in str(err)
    return err


def edited(change: Any) -> bytes:
    """PROVENANCE after change(doc) edited its parsed JSON."""
    doc = json.loads(PROVENANCE)
    change(doc)
    return json.dumps(doc).encode()


def attestation(doc: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = doc["attestation_bundles"][0]["attestations"][0]
    return first


def flip_base64(text: str, at: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


# -- accepted ----------------------------------------------------------------------------


def test_real_provenance_verifies_against_its_publisher() -> None:
    assert verify() == RECORD


def test_repository_case_does_not_matter() -> None:
    pinned = Publisher(repository="TrailOfBits/PyPI-Attestations", workflow="release.yml")
    assert verify(expected=pinned) == (
        "attestation:github:TrailOfBits/PyPI-Attestations/release.yml"
    )


def test_unpinned_trusts_the_named_publisher_and_says_so() -> None:
    assert verify(expected=None) == f"{RECORD}(unpinned)"


def test_gitlab_publisher() -> None:
    """pypi-attestations' GitLab asset, wrapped in the provenance object PyPI serves."""
    provenance = json.dumps({"version": 1, "attestation_bundles": [{
        "publisher": {"kind": "GitLab", "repository": GITLAB_PUBLISHER.repository,
                      "workflow_filepath": ".gitlab-ci.yml", "environment": ""},
        "attestations": [json.loads(GITLAB_ATTESTATION)],
    }]}).encode()
    assert verify(provenance, dist=GITLAB_SDIST, expected=GITLAB_PUBLISHER) == (
        "attestation:gitlab:facutuesca/gitlab-oidc-project/.gitlab-ci.yml"
    )
    github = Publisher(repository="facutuesca/gitlab-oidc-project", workflow=".gitlab-ci.yml")
    refused("is from gitlab:facutuesca/gitlab-oidc-project/.gitlab-ci.yml, not from the "
            "policy's publisher github:", provenance, dist=GITLAB_SDIST, expected=github)


# -- another publisher -------------------------------------------------------------------


def test_another_repository_is_refused() -> None:
    other = Publisher(repository="pypi/pypi-attestations", workflow="release.yml")
    refused(r"provenance of pypi_attestations-0\.0\.19\.tar\.gz is from "
            r"github:trailofbits/pypi-attestations/release\.yml, not from the policy's "
            r"publisher github:pypi/pypi-attestations/release\.yml", expected=other)


def test_another_workflow_is_refused() -> None:
    other = Publisher(repository="trailofbits/pypi-attestations", workflow="publish.yml")
    refused("not from the policy's publisher github:trailofbits/pypi-attestations/publish.yml",
            expected=other)


def test_another_environment_is_refused() -> None:
    other = Publisher(repository="trailofbits/pypi-attestations", workflow="release.yml",
                      environment="pypi")
    refused(r"not from the policy's publisher .*release\.yml \(environment 'pypi'\)",
            expected=other)


def test_publisher_record_that_lies_is_caught_by_the_certificate() -> None:
    """The bundle's publisher is the index's word; the Sigstore certificate decides."""
    def claim_other(doc: dict[str, Any]) -> None:
        doc["attestation_bundles"][0]["publisher"]["repository"] = "pypi/pypi-attestations"

    other = Publisher(repository="pypi/pypi-attestations", workflow="release.yml")
    refused(r"attestation of pypi_attestations-0\.0\.19\.tar\.gz from "
            r"github:pypi/pypi-attestations/release\.yml does not verify: .*"
            r"OIDCSourceRepositoryURI", edited(claim_other), expected=other)


def test_unsupported_publisher_kind_is_refused() -> None:
    """pypi-attestations' Google Cloud Build asset: not a publisher a policy can pin."""
    refused("names no GitHub or GitLab Trusted Publisher .*Google:919436158236-compute@",
            GOOGLE_PROVENANCE, dist=GOOGLE_SDIST, expected=None)
    refused("is from Google:919436158236-compute@developer.gserviceaccount.com, not from",
            GOOGLE_PROVENANCE, dist=GOOGLE_SDIST)


def test_several_publishers_need_a_pin() -> None:
    def add_other(doc: dict[str, Any]) -> None:
        other = json.loads(json.dumps(doc["attestation_bundles"][0]))
        other["publisher"]["workflow"] = "other.yml"
        doc["attestation_bundles"].append(other)

    provenance = edited(add_other)
    err = refused("names several publishers .*release.yml, .*other.yml", provenance,
                  expected=None)
    assert err.hint and "attestation =" in err.hint
    assert verify(provenance) == RECORD   # the pinned one's bundle verifies


# -- another file ------------------------------------------------------------------------


def test_tampered_sdist_is_refused(tmp_path: Path) -> None:
    data = bytearray(SDIST.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / SDIST.name
    tampered.write_bytes(bytes(data))
    refused(r"attestation is for another file: it names pypi_attestations-0\.0\.19\.tar\.gz "
            r"with sha256:9bb1add04b1b.*, the file is sha256:", dist=tampered)


def test_provenance_of_another_file_is_refused() -> None:
    refused(r"attestation is for another file: it names 'pypi_attestations-0\.0\.19\.tar\.gz',"
            r" not 'gitlab_oidc_project-0\.0\.3\.tar\.gz'", dist=GITLAB_SDIST)


def test_provenance_under_another_name_is_refused(tmp_path: Path) -> None:
    renamed = tmp_path / "pypi_attestations-0.0.20.tar.gz"
    renamed.write_bytes(SDIST.read_bytes())
    refused("it names 'pypi_attestations-0.0.19.tar.gz', not 'pypi_attestations-0.0.20.tar.gz'",
            dist=renamed)


def test_the_right_bytes_with_another_content_are_refused(tmp_path: Path) -> None:
    """Same file name, the bytes of another real sdist."""
    other = tmp_path / SDIST.name
    other.write_bytes(GITLAB_SDIST.read_bytes())
    refused("attestation is for another file: .* the file is sha256:c1ca9b0d85df", dist=other)


# -- bad signatures and material ---------------------------------------------------------


def test_tampered_signature_is_refused() -> None:
    def flip(doc: dict[str, Any]) -> None:
        env = attestation(doc)["envelope"]
        env["signature"] = flip_base64(env["signature"], 20)

    refused("attestation of pypi_attestations-0.0.19.tar.gz from github:trailofbits/"
            "pypi-attestations/release.yml does not verify: DSSE: invalid signature", edited(flip))


def test_tampered_statement_is_refused() -> None:
    """A statement naming other bytes, under the original signature."""
    def restate(doc: dict[str, Any]) -> None:
        env = attestation(doc)["envelope"]
        statement = json.loads(base64.b64decode(env["statement"]))
        statement["subject"][0]["digest"]["sha256"] = "0" * 64
        env["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()

    refused("does not verify: DSSE: invalid signature", edited(restate))


def test_tampered_certificate_is_refused() -> None:
    def flip(doc: dict[str, Any]) -> None:
        material = attestation(doc)["verification_material"]
        material["certificate"] = flip_base64(material["certificate"], 600)

    refused("does not verify: failed to build .*certificate chain", edited(flip))


def test_certificate_of_another_attestation_is_refused() -> None:
    """A real certificate of the same publisher kind, not the one that signed."""
    gitlab = json.loads(GITLAB_ATTESTATION)

    def swap(doc: dict[str, Any]) -> None:
        attestation(doc)["verification_material"]["certificate"] = (
            gitlab["verification_material"]["certificate"]
        )

    refused("does not verify: failed to build .*certificate chain", edited(swap))


def test_tampered_transparency_log_entry_is_refused() -> None:
    def shift(doc: dict[str, Any]) -> None:
        entry = attestation(doc)["verification_material"]["transparency_entries"][0]
        entry["integratedTime"] = str(int(entry["integratedTime"]) + 1)

    refused("does not verify: invalid log entry: SET: invalid inclusion promise", edited(shift))


def test_empty_bundle_is_refused() -> None:
    def empty(doc: dict[str, Any]) -> None:
        doc["attestation_bundles"][0]["attestations"] = []

    refused("has no attestation from github:trailofbits", edited(empty))


@pytest.mark.parametrize("provenance, match", [
    (b"{", "malformed PEP 740 provenance for pypi_attestations-0.0.19.tar.gz: .*Invalid JSON"),
    (b"", "malformed PEP 740 provenance"),
    (b"[]", "malformed PEP 740 provenance"),
    (b'{"version": 2, "attestation_bundles": []}', "malformed PEP 740 provenance .*version"),
    (b'{"version": 1, "attestation_bundles": []}', "holds no attestation bundle"),
    (json.dumps({"version": 1, "attestation_bundles": [
        {"publisher": {"kind": "Nope"}, "attestations": []}]}).encode(),
     "malformed PEP 740 provenance .*publisher"),
])
def test_malformed_provenance_is_refused(provenance: bytes, match: str) -> None:
    refused(match, provenance)


def test_bad_base64_in_the_envelope_is_malformed() -> None:
    def garble(doc: dict[str, Any]) -> None:
        attestation(doc)["envelope"]["signature"] = "not base64!"

    refused("malformed PEP 740 provenance .*envelope.signature", edited(garble))


# -- the policy table --------------------------------------------------------------------


def test_policy_table() -> None:
    assert publisher_from_policy(
        {"repository": "trailofbits/pypi-attestations", "workflow": "release.yml"}, PROJECT
    ) == PUBLISHER
    assert publisher_from_policy(
        {"kind": "GitLab", "repository": "group/sub/project", "workflow": "ci/release.yml",
         "environment": "production"}, PROJECT
    ) == Publisher(kind="gitlab", repository="group/sub/project", workflow="ci/release.yml",
                   environment="production")


@pytest.mark.parametrize("table, match", [
    ({}, "repository is required"),
    ({"repository": "owner/name"}, "workflow is required"),
    ({"repository": "owner", "workflow": "release.yml"}, "repository must be 'owner/name'"),
    ({"repository": "a/b/c", "workflow": "release.yml"}, "repository must be 'owner/name'"),
    ({"repository": "owner/..", "workflow": "release.yml"}, "repository must be"),
    ({"repository": "own er/name", "workflow": "release.yml"}, "repository must be"),
    ({"repository": "owner/name", "workflow": ".github/workflows/release.yml"},
     "workflow must be a file name"),
    ({"repository": "owner/name", "workflow": "release"}, "workflow must be a file name"),
    ({"repository": "owner/name", "workflow": "release.yml", "kind": "bitbucket"},
     "kind must be 'github' or 'gitlab'"),
    ({"kind": "gitlab", "repository": "group/p", "workflow": "../ci.yml"}, "workflow must be"),
    ({"kind": "gitlab", "repository": "group", "workflow": ".gitlab-ci.yml"},
     "repository must be 'namespace/project'"),
    ({"repository": "owner/name", "workflow": "release.yml", "environment": "a\nb"},
     "environment"),
    ({"repository": ["owner/name"], "workflow": "release.yml"}, "repository must be a string"),
    ({"repository": "owner/name", "workflow": "release.yml", "ref": "main"},
     "unknown key 'ref'"),
])
def test_bad_policy_tables(table: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        publisher_from_policy(table, PROJECT)
    assert info.value.exit_code == 2
    assert str(info.value).startswith(f"{PROJECT}: attestation policy: ")


# -- served by an index ------------------------------------------------------------------


@pytest.fixture
def session() -> Iterator[requests.Session]:
    s = http.session(retries=0, timeout=(5, 10))
    yield s
    s.close()


def test_provenance_from_the_index_verifies_offline(
    local_index: LocalIndex, session: requests.Session, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local_index.add(PROJECT, SDIST.name, SDIST.read_bytes(), provenance=PROVENANCE)
    release = resolve(Requirement(f"{PROJECT}==0.0.19"), python_full_version="3.11.2",
                      index=local_index.url, session=session)
    assert release.provenance_url == local_index.provenance_url(PROJECT, "0.0.19", SDIST.name)
    sdist = fetch(release, pins=(), cache_dir=tmp_path, session=session)
    provenance = fetch_provenance(release.provenance_url, session, release.name)
    assert provenance == PROVENANCE

    _guard(monkeypatch, allow_loopback=False)   # from here on, no connection at all
    record = verify_provenance(sdist.path, release.filename, provenance, expected=PUBLISHER,
                               project=release.name)
    assert record == RECORD
    with pytest.raises(NetworkUsed):   # the guard is live
        socket.create_connection(("127.0.0.1", local_index.port))


def test_fetch_provenance_errors(local_index: LocalIndex, session: requests.Session) -> None:
    local_index.add(PROJECT, SDIST.name, SDIST.read_bytes(),
                    provenance=b" " * (MAX_PROVENANCE_BYTES + 1))
    url = local_index.provenance_url(PROJECT, "0.0.19", SDIST.name)
    # what the index announced but will not serve is a trust failure (11), not index trouble
    with pytest.raises(TrustError, match=f"{PROJECT}: the provenance {url} is bigger than"):
        fetch_provenance(url, session, PROJECT)
    missing = local_index.provenance_url(PROJECT, "9.9", "pypi_attestations-9.9.tar.gz")
    with pytest.raises(TrustError, match="failed: HTTP 404") as info:
        fetch_provenance(missing, session, PROJECT)
    assert info.value.exit_code == 11 and info.value.hint
    local_index.stop()
    with pytest.raises(ResolveError, match="failed: .*[Cc]onnection refused"):
        fetch_provenance(url, session, PROJECT)
