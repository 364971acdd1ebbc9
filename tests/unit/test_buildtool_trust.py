"""Build tools from the index meet the trust policy, are pinned by lock files and recorded
in the provenance (issue 14, item 2), against a real loopback index and real wheels."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from closureindex import Index
from localindex import LocalIndex
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from sdists import make_sdist
from wheels import make_wheel

from repack import buildreqs, http, targets
from repack.errors import IntegrityError, MetadataError, RepackError, TrustError
from repack.plan import lockfile
from repack.trust import provenance
from repack.trust.attest import Publisher
from repack.trust.policy import Policy, ProjectRule
from repack.trust.report import describe

DEBIAN_12 = targets.load("debian-12")
FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
TOOL = canonicalize_name("flit-core")
NO_RULES = Policy()


@pytest.fixture
def served(local_index: LocalIndex, tmp_path: Path) -> LocalIndex:
    """flit_core 3.9.1 (requires "tomli-w"), and tomli-w 1.0.0."""
    for name, version, requires in (("flit_core", "3.9.1", ["tomli-w"]),
                                    ("tomli_w", "1.0.0", [])):
        whl = make_wheel(tmp_path / "wheels", name, version,
                         {f"{name}/__init__.py": b""}, requires_dist=requires)
        local_index.add(name, whl.name, whl.read_bytes())
    return local_index


def resolve(index: LocalIndex, tmp_path: Path, policy: Policy = NO_RULES,
            locked: Mapping[NormalizedName, buildreqs.ToolPin] | None = None,
            ) -> list[buildreqs.BuildTool]:
    with http.session() as session:
        return buildreqs.resolve_wheels(
            [Requirement("flit_core>=3.9")], DEBIAN_12, index=index.url, session=session,
            cache_dir=tmp_path / "cache", policy=policy, required_by="newflit-app",
            locked=locked)


def test_accepted_tools_carry_what_verified_them(served: LocalIndex, tmp_path: Path) -> None:
    tools = resolve(served, tmp_path)
    assert [t.pin for t in tools] == ["flit-core==3.9.1", "tomli-w==1.0.0"]
    for t in tools:
        assert "sha256:index" in t.file.verified
        assert t.file.advisories_checked          # the loopback index has a JSON API


def test_a_rule_for_the_tool_is_enforced(served: LocalIndex, tmp_path: Path) -> None:
    policy = Policy(projects={TOOL: ProjectRule(name=TOOL, pgp=(FPR,))})
    with pytest.raises(TrustError) as info:
        resolve(served, tmp_path, policy)
    assert str(info.value).startswith(
        "newflit-app: build tool flit-core 3.9.1 refused: flit_core-3.9.1-py3-none-any.whl: "
        "the policy requires a verified pgp; no OpenPGP signature")
    assert info.value.exit_code == 11


def test_require_signature_reaches_the_tools_dependencies(served: LocalIndex,
                                                          tmp_path: Path) -> None:
    """flit-core has a rule (here: an attestation that is not there, so only the
    checks' combination matters); the wheel it pulls in has none and no signature."""
    with pytest.raises(TrustError, match="build tool flit-core 3.9.1 refused: "
                                         r".* carries no verified signature"):
        resolve(served, tmp_path, Policy(require_signature=True))


def test_deny_vulnerable_covers_tools(served: LocalIndex, tmp_path: Path) -> None:
    served.add_vulnerability("tomli-w", "1.0.0", id="PYSEC-2026-9", fixed_in=["1.0.1"])
    with pytest.raises(TrustError, match=r"build tool tomli-w 1\.0\.0 refused: .*PYSEC-2026-9"):
        resolve(served, tmp_path, Policy(deny_vulnerable=True))


def test_locked_tools_must_be_the_locked_files(served: LocalIndex, tmp_path: Path) -> None:
    pins = {t.name: t.locked for t in resolve(served, tmp_path)}
    again = resolve(served, tmp_path, locked=pins)
    assert [t.file.verified.count("sha256:pin") for t in again] == [1, 1]
    with pytest.raises(IntegrityError, match="build tool tomli-w is not in the lock file"):
        resolve(served, tmp_path, locked={TOOL: pins[TOOL]})
    other = {**pins, TOOL: buildreqs.ToolPin(name=TOOL, version=Version("3.9.1"),
                                             filename=pins[TOOL].filename, sha256="0" * 64)}
    with pytest.raises(IntegrityError, match="the lock file pins sha256:0000"):
        resolve(served, tmp_path, locked=other)
    old = {**pins, TOOL: buildreqs.ToolPin(name=TOOL, version=Version("3.8"),
                                           filename="flit_core-3.8-py3-none-any.whl",
                                           sha256="0" * 64)}
    with pytest.raises(IntegrityError, match="which does not satisfy flit_core>=3.9"):
        resolve(served, tmp_path, locked=old)


def test_records_round_trip_and_are_explained(served: LocalIndex, tmp_path: Path) -> None:
    tools = resolve(served, tmp_path)
    sdist_file = make_sdist(tmp_path / "sdists", "newflit-app", "1.0", {})
    served.add("newflit-app", sdist_file.name, sdist_file.read_bytes())
    from repack.fetch import fetch
    from repack.resolve import resolve as resolve_sdist

    with http.session() as session:
        release = resolve_sdist(Requirement("newflit-app==1.0"), python_full_version="3.11.2",
                                index=served.url, session=session)
        sdist = fetch(release, pins=(), cache_dir=tmp_path / "cache", session=session)
    bare = provenance.to_json(provenance.of(sdist))
    assert "build_tools" not in json.loads(bare)      # unchanged when there are none
    record = provenance.of(sdist, [t.file for t in tools])
    text = provenance.to_json(record)
    assert provenance.from_json(text) == record
    doc = json.loads(text)
    assert [t["filename"] for t in doc["build_tools"]] == [
        "flit_core-3.9.1-py3-none-any.whl", "tomli_w-1.0.0-py3-none-any.whl"]
    assert doc["build_tools"][0]["sha256"] == tools[0].file.sha256
    shown = describe(Path("python3-newflit-app_1-0repack1~deb12_all.deb"), record)
    assert "  build tools from the index: 2\n    flit-core 3.9.1 (flit_core-3.9.1-py3-none-any" \
           ".whl)\n" in shown
    assert f"      sha256:    {tools[0].file.sha256}\n      verified:  sha256:index" in shown

    assert provenance.control_fields(record)["Repack-Build-Tools"] == (
        "flit-core 3.9.1 (sha256:index), tomli-w 1.0.0 (sha256:index)")
    assert "Repack-Build-Tools" not in provenance.control_fields(provenance.of(sdist))

    doc["build_tools"][0]["sha256"] = 5
    with pytest.raises(MetadataError, match="build_tools: sha256 must be a string"):
        provenance.from_json(json.dumps(doc), source="x.deb")
    doc["build_tools"] = "flit"
    with pytest.raises(MetadataError, match="build_tools must be a list"):
        provenance.from_json(json.dumps(doc), source="x.deb")


def test_lock_file_lists_build_tools_per_package(local_index: LocalIndex,
                                                 tmp_path: Path) -> None:
    index = Index(local_index, tmp_path)
    index.add("a")
    plan = index.plan("a")
    pin = buildreqs.ToolPin(name=TOOL, version=Version("3.9.1"),
                            filename="flit_core-3.9.1-py3-none-any.whl", sha256="ab" * 32)
    path = tmp_path / "repack.lock"
    lockfile.write(path, [plan], index=local_index.url, requested=["a"],
                   tools={("debian-12", "a"): (pin,)})
    text = path.read_text()
    assert "version = 2\n" in text
    assert ('build_tools = [\n  {name = "flit-core", version = "3.9.1", filename = '
            f'"flit_core-3.9.1-py3-none-any.whl", sha256 = "{"ab" * 32}"}},\n]') in text
    lock = lockfile.load(path)
    assert lockfile.tool_pins(lock) == {("debian-12", "a"): (pin,)}

    v1 = text.replace("version = 2", "version = 1").replace(text[text.index("build_tools"):],
                                                           "")
    path.write_text(v1)
    assert lockfile.tool_pins(lockfile.load(path)) == {("debian-12", "a"): ()}
    path.write_text(text.replace("ab" * 32, "not hex"))
    with pytest.raises(RepackError, match="malformed sha256 'not hex' of build tool") as exc:
        lockfile.load(path)
    assert exc.value.exit_code == 2


def test_attestations_are_checked_per_wheel(local_index: LocalIndex, tmp_path: Path) -> None:
    """PEP 740 provenance is served per file: a real attestation of another file (the
    pypi-attestations sdist) does not vouch for a flit_core wheel, even from the publisher
    the rule pins."""
    assets = Path(__file__).resolve().parents[1] / "data" / "attestations"
    attested = "pypi_attestations-0.0.19.tar.gz"
    whl = make_wheel(tmp_path / "wheels", "flit_core", "3.9.1", {"flit_core/__init__.py": b""})
    local_index.add("flit_core", whl.name, whl.read_bytes(),
                    provenance=(assets / f"{attested}.provenance").read_bytes())
    publisher = Publisher(repository="trailofbits/pypi-attestations", workflow="release.yml")
    policy = Policy(projects={TOOL: ProjectRule(name=TOOL, attestation=publisher)})
    with pytest.raises(TrustError, match=f"build tool flit-core 3.9.1 refused: attestation is "
                                         f"for another file: it names '{attested}'"):
        resolve(local_index, tmp_path, policy)


def test_a_cached_wheel_that_is_no_longer_a_zip_is_an_integrity_error(
        served: LocalIndex, tmp_path: Path) -> None:
    """Same size, other bytes (the cache trusts its verified name): one line, exit 4."""
    tools = resolve(served, tmp_path)
    cached = tools[0].file.path
    cached.write_bytes(b"\0" * cached.stat().st_size)
    with pytest.raises(IntegrityError, match="is not a readable wheel") as err:
        resolve(served, tmp_path)
    assert err.value.exit_code == 4 and "delete" in (err.value.hint or "")


def test_a_lock_pins_the_fallback_backend_apart_and_a_locked_fallback_resolves_it(
        served: LocalIndex, tmp_path: Path) -> None:
    """`fallback_tools` round-trip; the build may use them beside its build_tools (a
    build_tools pin of the same name wins); and a fallback's raised requirement, resolved
    with those pins as `repack build --lock` does, gets exactly the pinned wheels."""
    index = Index(served, tmp_path)
    index.add("a")
    pins = {t.name: t.locked for t in resolve(served, tmp_path)}
    own = buildreqs.ToolPin(name=canonicalize_name("tomli-w"), version=Version("0.9"),
                            filename="tomli_w-0.9-py3-none-any.whl", sha256="cd" * 32)
    path = tmp_path / "repack.lock"
    lockfile.write(path, [index.plan("a")], index=served.url, requested=["a"],
                   tools={("debian-12", "a"): (own,)},
                   fallback_tools={("debian-12", "a"): tuple(pins.values())})
    text = path.read_text()
    assert text.index("build_tools = [") < text.index("fallback_tools = [\n  {name = "
                                                      '"flit-core", version = "3.9.1"')
    lock = lockfile.load(path)
    assert lock.targets[0].packages[0].fallback_tools == tuple(pins.values())
    assert lockfile.tool_pins(lock) == {("debian-12", "a"): (own, pins[TOOL])}

    merged = {TOOL: pins[TOOL], own.name: pins[own.name]}
    with http.session() as session:
        tools = buildreqs.resolve_wheels(
            [buildreqs.fallback_requirement(Requirement("flit_core"), Version("3.8"))],
            DEBIAN_12, index=served.url, session=session, cache_dir=tmp_path / "cache",
            policy=NO_RULES, required_by="a", locked=merged)
    assert [t.locked for t in tools] == [pins[TOOL], pins[own.name]]

    without = text[:text.index("fallback_tools")]      # an older lock: no fallback allowed
    path.write_text(without)
    assert lockfile.tool_pins(lockfile.load(path)) == {("debian-12", "a"): (own,)}
