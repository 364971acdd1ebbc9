"""repack.trust.accept.accept: how the policy's checks combine ("any", "all", --require-signature),
on a real attested sdist served from a loopback index, verified offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from localindex import LocalIndex
from packaging.requirements import Requirement

from repack import http
from repack.errors import TrustError
from repack.fetch import fetch
from repack.model import Sdist
from repack.resolve import resolve
from repack.trust.accept import AcceptKey
from repack.trust.accept import accept as policy_accept
from repack.trust.attest import Publisher
from repack.trust.policy import Policy, ProjectRule

ASSETS = Path(__file__).resolve().parents[2] / "data" / "attestations"
ATTESTED = "pypi_attestations-0.0.19.tar.gz"
NAME = "pypi-attestations"
FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
PUBLISHER = Publisher(repository="trailofbits/pypi-attestations", workflow="release.yml")
RECORD = "attestation:github:trailofbits/pypi-attestations/release.yml"


@pytest.fixture(scope="module")
def attested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sdist, LocalIndex]]:
    with LocalIndex() as index, http.session() as session:
        index.add(NAME, ATTESTED, (ASSETS / ATTESTED).read_bytes(),
                  provenance=(ASSETS / f"{ATTESTED}.provenance").read_bytes())
        release = resolve(Requirement(f"{NAME}==0.0.19"), python_full_version="3.11.2",
                          index=index.url, session=session)
        sdist = fetch(release, pins=(), cache_dir=tmp_path_factory.mktemp("cache"),
                      session=session)
        yield sdist, index


def accept(sdist: Sdist, policy: Policy) -> Sdist:
    with http.session() as session:
        return policy_accept(sdist, policy, session=session)


def rule(**kw: object) -> Policy:
    return Policy(projects={NAME: ProjectRule(name=NAME, **kw)})  # type: ignore[arg-type,dict-item]


def test_pinned_publisher(attested: tuple[Sdist, LocalIndex]) -> None:
    sdist, _ = attested
    accepted = accept(sdist, rule(attestation=PUBLISHER))
    assert accepted.verified == (*sdist.verified, RECORD)
    assert accepted.advisories_checked     # the loopback index has a JSON API


def test_require_signature_takes_an_unpinned_attestation(
        attested: tuple[Sdist, LocalIndex]) -> None:
    sdist, _ = attested
    accepted = accept(sdist, Policy(require_signature=True))
    assert accepted.verified[-1] == f"{RECORD}(unpinned)"


def test_any_forgives_a_missing_signature(attested: tuple[Sdist, LocalIndex]) -> None:
    sdist, _ = attested
    accepted = accept(sdist, rule(pgp=(FPR,), attestation=PUBLISHER, require="any"))
    assert accepted.verified[-1] == RECORD


def test_all_needs_every_check(attested: tuple[Sdist, LocalIndex]) -> None:
    sdist, _ = attested
    with pytest.raises(TrustError, match="requires all of pgp and attestation; no OpenPGP "
                                         "signature") as info:
        accept(sdist, rule(pgp=(FPR,), attestation=PUBLISHER, require="all"))
    assert str(info.value).startswith(f"{NAME}: {ATTESTED}: ")


def test_a_failed_check_is_never_forgiven(attested: tuple[Sdist, LocalIndex]) -> None:
    sdist, _ = attested
    wrong = Publisher(repository="evil/fork", workflow="release.yml")
    with pytest.raises(TrustError, match="evil/fork"):
        accept(sdist, rule(pgp=(FPR,), attestation=wrong, require="any"))


@pytest.mark.parametrize("require_signature", [False, True])
def test_a_rule_is_not_widened_by_require_signature(attested: tuple[Sdist, LocalIndex],
                                                    require_signature: bool) -> None:
    """A rule naming only a key: no attestation counts, pinned or not (anyone can mint one
    from their own CI), and the index is not even asked for it."""
    sdist, index = attested
    before = len(index.requests)
    policy = Policy(require_signature=require_signature,
                    projects=rule(pgp=(FPR,)).projects)
    with pytest.raises(TrustError, match="requires a verified pgp; no OpenPGP signature"):
        accept(sdist, policy)
    assert not [p for p in index.requests[before:] if p.startswith("/integrity/")]


def test_a_run_accepts_a_file_once_and_a_new_run_checks_again(
        attested: tuple[Sdist, LocalIndex]) -> None:
    """The acceptances belong to the run (Context.accepted), not to the process."""
    sdist, index = attested
    policy = rule(attestation=PUBLISHER)

    def provenance_asked() -> int:
        return sum(p.startswith("/integrity/") for p in index.requests)

    with http.session() as session:
        run: dict[AcceptKey, Sdist] = {}
        before = provenance_asked()
        first = policy_accept(sdist, policy, session=session, accepted=run)
        asked = provenance_asked()
        assert asked > before
        assert policy_accept(sdist, policy, session=session, accepted=run) is first
        assert provenance_asked() == asked
        again = policy_accept(sdist, policy, session=session, accepted={})
        assert provenance_asked() > asked
        assert again.verified == first.verified
