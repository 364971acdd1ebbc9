"""The upstream trust policy end to end, through the real CLI and a loopback index.

Real OpenPGP keys (made here, in a throw-away GNUPGHOME) sign the sdists; the PEP 740
case uses a real attested sdist and its real provenance (tests/data/attestations).  Two
builds run in containers (a signed project for debian-12 and el9, the attested project for
debian-12) and `repack explain` reads back what they record.  Every refusal happens
before anything is unpacked or built, so those cases use an empty cache and start no
container.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from debian.debfile import DebFile
from localindex import LocalIndex
from repotools import gnupg_home  # type: ignore[import-not-found]
from sdists import make_sdist

pytestmark = pytest.mark.integration

ASSETS = Path(__file__).resolve().parents[1] / "data" / "attestations"
ATTESTED = "pypi_attestations-0.0.19.tar.gz"
PUBLISHER = 'repository = "trailofbits/pypi-attestations", workflow = "release.yml"'
FIXED = "GHSA-aaaa-bbbb-cccc"
#: In the fragment of signed-demo 1.1's URL (never sent: download and hash pass): what an
#: index would like `repack explain` to show on a terminal.
FORGERY = "\x1b[2K\x1b[1A  verified:  pgp:" + "E" * 40 + "\x9b2K"


def gpg(home: Path, *args: str) -> bytes:
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--yes", *args],
                          check=True, capture_output=True).stdout


def new_key(home: Path, uid: str) -> str:
    gpg(home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "1y")
    out = gpg(home, "--with-colons", "--list-keys", uid).decode()
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


def old_setuptools(name: str, version: str) -> dict[str, bytes]:
    """Metadata in setup.cfg, so that the el9 builder's setuptools 52 (Debian 11) builds it
    without fetching a newer one from the index."""
    module = name.replace("-", "_")
    return {
        "pyproject.toml": b'[build-system]\nrequires = ["setuptools>=40.8"]\n'
                          b'build-backend = "setuptools.build_meta"\n',
        "setup.cfg": f"[metadata]\nname = {name}\nversion = {version}\n"
                     f"[options]\npackages = {module}\n".encode(),
    }


@dataclass
class World:
    index: LocalIndex
    root: Path                    # holds repack.toml and trusted-keys/
    alpha: str                    # signs signed-demo
    beta: str                     # signs other-demo
    home: Path
    sdists: dict[str, Path]

    def sign(self, fpr: str, data: Path) -> bytes:
        return gpg(self.home, "--local-user", fpr, "--armor", "--detach-sign", "--output", "-",
                   str(data))

    def build(self, *args: str, cache: Path | None = None,
              config: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {"PIP_INDEX_URL": self.index.url}
        if cache is not None:
            env["REPACK_CACHE_DIR"] = str(cache)
        return run_repack(["build", "--no-check",
                           *args, "--config", str(config or self.root / "repack.toml")],
                          env=env)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("trust")
    home = Path(tempfile.mkdtemp(prefix="rp-gpg-"))   # short: gpg-agent's socket path
    try:
        alpha = new_key(home, "Alpha Upstream <alpha@example.org>")
        beta = new_key(home, "Beta Upstream <beta@example.org>")
        with LocalIndex() as index:
            w = World(index=index, root=tmp / "project", alpha=alpha, beta=beta, home=home,
                      sdists={})
            w.root.mkdir()
            for name, version in [("signed-demo", "1.0"), ("signed-demo", "1.1"),
                                  ("other-demo", "1.0"), ("plain-demo", "1.0")]:
                w.sdists[f"{name}-{version}"] = make_sdist(tmp / "sdists", name, version,
                                                           old_setuptools(name, version))
            for key, fpr in (("alpha", alpha), ("beta", beta)):
                (tmp / f"{key}.asc").write_bytes(gpg(home, "--armor", "--export", fpr))
            for v in ("1.0", "1.1"):
                sdist = w.sdists[f"signed-demo-{v}"]
                index.add("signed-demo", sdist.name, sdist.read_bytes(),
                          signature=w.sign(alpha, sdist),
                          fragment=FORGERY if v == "1.1" else None)
            other = w.sdists["other-demo-1.0"]
            index.add("other-demo", other.name, other.read_bytes(), signature=w.sign(beta, other))
            plain = w.sdists["plain-demo-1.0"]
            index.add("plain-demo", plain.name, plain.read_bytes())
            index.add("pypi-attestations", ATTESTED, (ASSETS / ATTESTED).read_bytes(),
                      provenance=(ASSETS / f"{ATTESTED}.provenance").read_bytes())
            index.add_vulnerability("signed-demo", "1.0", id=FIXED, aliases=["CVE-2026-0001"],
                                    fixed_in=["1.1"], summary="Remote code execution")
            index.add_vulnerability("signed-demo", "1.1", id="PYSEC-2026-7",
                                    fixed_in=["1.2"], summary="Denial of service")
            (w.root / "repack.toml").write_text(f"""\
[trust.projects.signed-demo]
pgp = ["{alpha}"]

[trust.projects.other-demo]
pgp = ["{beta}"]

[trust.projects.pypi-attestations]
attestation = {{ {PUBLISHER} }}
""")
            for project, key in (("signed-demo", "alpha"), ("other-demo", "beta")):
                proc = run_repack(["trust", "add-key", project, str(tmp / f"{key}.asc"),
                                   "--config", str(w.root / "repack.toml")])
                assert proc.returncode == 0, proc.stderr
            yield w
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)


def test_add_key_prints_the_rule_and_keeps_one_file_per_key(world: World, tmp_path: Path) -> None:
    assert sorted(p.name for p in (world.root / "trusted-keys").iterdir()) == sorted(
        [f"{world.alpha}.asc", f"{world.beta}.asc"])
    proc = run_repack(["trust", "add-key", "Signed_Demo", str(world.root / "trusted-keys" /
                                                               f"{world.alpha}.asc"),
                       "--config", str(world.root / "repack.toml")])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f'[trust.projects.signed-demo]\npgp = ["{world.alpha}"]\n'
    assert "already in" in proc.stderr


def _changelog(deb: Path) -> str:
    with DebFile(str(deb)) as pkg:
        name = pkg.debcontrol()["Package"]
        data = pkg.data.get_content(f"usr/share/doc/{name}/changelog.Debian.gz")
    assert isinstance(data, bytes)
    return gzip.decompress(data).decode()


def test_signed_build_records_what_was_verified(world: World, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = world.build("signed-demo==1.1", "-t", "debian-12", "-t", "el9", "--json",
                       "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"verified: pgp:{world.alpha}" in proc.stderr
    assert "1.1 has 1 known vulnerability: PYSEC-2026-7 (fixed in 1.2)" in proc.stderr
    assert f"security update: it fixes {FIXED}, CVE-2026-0001" in proc.stderr
    (source,) = json.loads(proc.stdout)["sources"]
    assert source["verified"] == ["tls", "sha256:index", f"pgp:{world.alpha}"] or \
        source["verified"] == ["sha256:index", f"pgp:{world.alpha}"]   # loopback index: http

    (deb,) = (out / "debian-12").glob("*.deb")
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True,
                            text=True).stdout
    assert f"Repack-Verified: sha256:index pgp:{world.alpha}" in fields
    url = world.index.file_url("signed-demo", "signed_demo-1.1.tar.gz")
    assert f"Repack-Source: {url}\n" in fields      # without the index's fragment
    assert f"Repack-Fixes: {FIXED} CVE-2026-0001" in fields
    assert "Repack-Project: signed-demo" in fields
    changelog = _changelog(deb)
    assert "urgency=high" in changelog.splitlines()[0]
    assert f"Security update: fixes {FIXED}, CVE-2026-0001." in changelog

    (rpm,) = (out / "el9").glob("*.noarch.rpm")
    rpm_changelog = subprocess.run(["rpm", "-qp", "--changelog", str(rpm)], check=True,
                                   capture_output=True, text=True).stdout
    assert f"- Security update: fixes {FIXED}, CVE-2026-0001." in rpm_changelog

    explained = run_repack(["explain", str(deb), str(rpm)])
    assert explained.returncode == 0, explained.stderr
    assert "\x1b" not in explained.stdout and "EEEE" not in explained.stdout
    for path in (deb, rpm):
        block = explained.stdout.split(path.name, 1)[1]
        assert f"source:    {url}\n" in block
        assert "upstream:  signed-demo 1.1 (signed_demo-1.1.tar.gz)" in block
        assert f"verified:  sha256:index, pgp:{world.alpha}" in block
        assert "PYSEC-2026-7; fixed in 1.2" in block
        assert f"{FIXED} (CVE-2026-0001); fixed in 1.1" in block
    as_json = json.loads(run_repack(["explain", "--json", str(rpm)]).stdout)
    assert as_json[str(rpm)]["sha256"] == source["sha256"]


def test_published_build_of_a_fixing_release_is_a_security_update(world: World,
                                                                   tmp_path: Path) -> None:
    """The chain with real packages: repack builds 1.0 and 1.1 (which fixes 1.0's GHSA),
    publishes 1.0, then 1.1: the record inside the built 1.1 makes it a security update.
    `repack outdated` says so while 1.0 is published (exit 101), and nothing once 1.1 is."""
    index = {"PIP_INDEX_URL": world.index.url}
    with gnupg_home() as home:
        gen = run_repack(["key", "generate", "--email", "team@example.org", "--no-passphrase",
                          "--gnupghome", str(home)])
        assert gen.returncode == 0, gen.stderr
        repo = tmp_path / "repo"
        for version in ("1.0", "1.1"):
            out = tmp_path / version
            built = world.build(f"signed-demo=={version}", "-t", "debian-12", "-t", "el9",
                                "-o", str(out))
            assert built.returncode == 0, built.stderr
            published = run_repack(["publish", str(out), "--repo", str(repo),
                                    "--gnupghome", str(home)])
            assert published.returncode == 0, published.stderr
            outdated = run_repack(["outdated", "--repo", str(repo)], env=index)
            if version == "1.0":
                assert outdated.returncode == 101, outdated.stderr
                fix = f"1.0 -> 1.1  security: fixes {FIXED} (CVE-2026-0001)"
                assert outdated.stdout.splitlines() == [
                    f"signed-demo debian-12: {fix}", f"signed-demo el9: {fix}",
                    "0 up to date, 2 outdated (2 with a security update)"]
            else:     # 1.1's own advisory is fixed in 1.2, which the index does not have
                assert outdated.returncode == 0, outdated.stderr
                assert outdated.stdout == "2 up to date, 0 outdated (0 with a security update)\n"
        assert "added bookworm-security: python3-signed-demo 1.1-0repack1~deb12" in \
            published.stderr
        assert ("added el9 updateinfo (security): "
                "python3-signed-demo-1.1-0.repack1.el9.noarch.rpm") in published.stderr
        security = (repo / "apt/dists/bookworm-security/main/binary-all/Packages").read_text()
        assert "Version: 1.1-0repack1~deb12" in security and "1.0-0repack1" not in security
        (updateinfo,) = (repo / "yum/el9/repodata").glob("*updateinfo.xml*")
        text = gzip.decompress(updateinfo.read_bytes()).decode() \
            if updateinfo.name.endswith(".gz") else updateinfo.read_text()
        assert 'type="security"' in text and "CVE-2026-0001" in text and FIXED in text
        verified = run_repack(["repo", "verify", str(repo)])
        assert verified.returncode == 0, verified.stdout + verified.stderr


def test_attested_build_records_the_trusted_publisher(world: World, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = world.build("pypi-attestations==0.0.19", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    (deb,) = (out / "debian-12").glob("*.deb")
    explained = run_repack(["explain", str(deb)])
    assert explained.returncode == 0, explained.stderr
    assert ("verified:  sha256:index, "
            "attestation:github:trailofbits/pypi-attestations/release.yml") in explained.stdout


# --- refusals: one error line naming the project, exit 11 (2 for a malformed file), nothing
# --- written, no container started ------------------------------------------------------------

def refused(proc: subprocess.CompletedProcess[str], code: int, project: str, out: Path,
            *words: str) -> str:
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stderr}"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert errors[0].startswith(f"error: {project}: "), errors[0]
    for word in words:
        assert word in errors[0], errors[0]
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))
    return errors[0]


def add_signed(world: World, tmp_path: Path, version: str, signer: str | None,
               signed: Path | None = None) -> None:
    sdist = make_sdist(tmp_path, "signed-demo", version, {})
    signature = world.sign(signer, signed or sdist) if signer else None
    world.index.add("signed-demo", sdist.name, sdist.read_bytes(), signature=signature)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    (tmp_path / "cache").mkdir()
    return tmp_path / "cache"


def test_signature_of_another_file(world: World, tmp_path: Path, cache: Path) -> None:
    add_signed(world, tmp_path, "2.0", world.alpha, signed=world.sdists["signed-demo-1.1"])
    out = tmp_path / "out"
    refused(world.build("signed-demo==2.0", "-o", str(out), cache=cache), 11, "signed-demo",
            out, "signed_demo-2.0.tar.gz")


def test_signature_by_another_projects_key(world: World, tmp_path: Path, cache: Path) -> None:
    add_signed(world, tmp_path, "2.1", world.beta)
    out = tmp_path / "out"
    refused(world.build("signed-demo==2.1", "-o", str(out), cache=cache), 11, "signed-demo",
            out, "signed_demo-2.1.tar.gz")


def test_missing_signature(world: World, tmp_path: Path, cache: Path) -> None:
    add_signed(world, tmp_path, "2.2", None)
    out = tmp_path / "out"
    refused(world.build("signed-demo==2.2", "-o", str(out), cache=cache), 11, "signed-demo",
            out, "no OpenPGP signature")


def test_require_signature_refuses_an_unsigned_project(world: World, tmp_path: Path,
                                                       cache: Path) -> None:
    out = tmp_path / "out"
    refused(world.build("plain-demo==1.0", "--require-signature", "-o", str(out), cache=cache),
            11, "plain-demo", out, "no verified signature or attestation")


def test_deny_vulnerable(world: World, tmp_path: Path, cache: Path) -> None:
    out = tmp_path / "out"
    refused(world.build("signed-demo==1.1", "--deny-vulnerable", "-o", str(out), cache=cache),
            11, "signed-demo", out, "PYSEC-2026-7", "--deny-vulnerable")


def test_attestation_for_another_file(world: World, tmp_path: Path, cache: Path) -> None:
    fake = make_sdist(tmp_path, "pypi-attestations", "0.0.20", {})
    world.index.add("pypi-attestations", fake.name, fake.read_bytes(),
                    provenance=(ASSETS / f"{ATTESTED}.provenance").read_bytes())
    out = tmp_path / "out"
    refused(world.build("pypi-attestations==0.0.20", "-o", str(out), cache=cache), 11,
            "pypi-attestations", out, "another file")


def test_attestation_from_another_publisher(world: World, tmp_path: Path, cache: Path) -> None:
    policy = tmp_path / "repack.toml"
    policy.write_text('[trust.projects.pypi-attestations]\n'
                      'attestation = { repository = "evil/fork", workflow = "release.yml" }\n')
    out = tmp_path / "out"
    refused(world.build("pypi-attestations==0.0.19", "-o", str(out), cache=cache, config=policy),
            11, "pypi-attestations", out, "evil/fork")


def test_policy_naming_a_missing_project(world: World, tmp_path: Path, cache: Path) -> None:
    policy = tmp_path / "repack.toml"
    policy.write_text(f'[trust.projects.no-such-demo]\npgp = ["{world.alpha}"]\n')
    out = tmp_path / "out"
    refused(world.build("plain-demo==1.0", "-o", str(out), cache=cache, config=policy), 11,
            "no-such-demo", out, "not found")


def test_malformed_policy(world: World, tmp_path: Path, cache: Path) -> None:
    policy = tmp_path / "repack.toml"
    policy.write_text('[trust.projects.plain-demo]\npgp = ["DEADBEEF"]\n')
    out = tmp_path / "out"
    proc = world.build("plain-demo==1.0", "-o", str(out), cache=cache, config=policy)
    assert proc.returncode == 2, proc.stderr
    assert "not a full key fingerprint" in proc.stderr and not out.exists()


def test_deny_vulnerable_fails_closed_without_advisory_data(world: World, tmp_path: Path,
                                                          cache: Path) -> None:
    world.index.per_release_json = False      # a mirror serving only /pypi/<name>/json
    try:
        out = tmp_path / "out"
        refused(world.build("signed-demo==1.0", "--deny-vulnerable", "-o", str(out),
                            cache=cache), 11, "signed-demo", out, "no advisory data")
    finally:
        world.index.per_release_json = True


def test_trust_check_and_list(world: World, tmp_path: Path) -> None:
    env = {"PIP_INDEX_URL": world.index.url}
    ok = run_repack(["trust", "check", "--config", str(world.root / "repack.toml")], env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == ["other-demo: pgp", "pypi-attestations: attestation",
                                      "signed-demo: pgp"]
    listed = run_repack(["trust", "list", "--config", str(world.root / "repack.toml")])
    assert f"{world.alpha} ed25519" in listed.stdout and "allowed for: signed-demo" in \
        listed.stdout
    policy = tmp_path / "repack.toml"
    policy.write_text(f'[trust.projects.plain-demo]\npgp = ["{world.alpha}"]\n')
    missing = run_repack(["trust", "check", "--config", str(policy)], env=env)
    assert missing.returncode == 11, missing.stderr
    assert f"plain-demo: key {world.alpha} is not in" in missing.stdout
