"""The keyring packages' content and versions (repack.publish.keyring): pure rendering,
no container (the builds are tests/integration/test_keyring.py's)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from debian.debian_support import version_compare
from repotools import gnupg_home, new_key  # type: ignore[import-not-found]

from repack import keys, targets
from repack.publish import keyring
from repack.rpm.vercmp import EVR

DEB12, EL9 = targets.load("debian-12"), targets.load("el9")
URL = "https://packages.example.org/r"
FPR_A, FPR_B = "A" * 24 + "0123456789ABCDEF", "B" * 24 + "FEDCBA9876543210"


def deb(keys: bytes = b"\x99binary-keys", url: str = URL) -> keyring.Rendered:
    return keyring.render_deb(DEB12, name="team", url=url, suites="bookworm bookworm-security",
                              binary_keys=keys)


def rpm(*fprs: str, url: str = URL) -> keyring.Rendered:
    return keyring.render_rpm(EL9, name="team", url=url,
                              armored=[(f, f"armored {f}\n".encode()) for f in fprs])


def test_the_deb_ships_the_keyring_and_a_source_signed_by_it() -> None:
    r = deb()
    assert r.package == "team-archive-keyring" and r.key == "deb:bookworm"
    assert r.files["usr/share/keyrings/team-archive-keyring.pgp"] == b"\x99binary-keys"
    sources = r.files["etc/apt/sources.list.d/team.sources"].decode()
    assert "Signed-By: /usr/share/keyrings/team-archive-keyring.pgp\n" in sources
    assert f"URIs: {URL}/apt\n" in sources and "Suites: bookworm bookworm-security\n" in sources
    assert "curl" not in sources                 # no "install the keyring first" hint
    assert r.config == ("/etc/apt/sources.list.d/team.sources",)    # a conffile


def test_the_rpm_ships_one_file_per_key_and_lists_them_all() -> None:
    r = rpm(FPR_A, FPR_B)
    assert r.package == "team-release" and r.key == "rpm:el9"
    a = "etc/pki/rpm-gpg/RPM-GPG-KEY-team-0123456789abcdef"
    b = "etc/pki/rpm-gpg/RPM-GPG-KEY-team-fedcba9876543210"
    assert r.files[a] == f"armored {FPR_A}\n".encode() and b in r.files
    repo = r.files["etc/yum.repos.d/team.repo"].decode()
    assert f"gpgkey=file:///{a} file:///{b}\n" in repo
    assert f"baseurl={URL}/yum/el9/\n" in repo and "[team-el9]\n" in repo
    assert "gpgcheck=1\nrepo_gpgcheck=1\n" in repo
    spec = keyring.spec_text(r, 4, "Ops <ops@example.org>", "team")
    assert "Version: 4\nRelease: 1.el9\n" in spec and "BuildArch: noarch\n" in spec
    assert "%config(noreplace) /etc/yum.repos.d/team.repo\n" in spec
    assert f"\n/{a}\n" in spec and f"%{{buildroot}}/{b}\n" in spec


def test_the_digest_follows_the_content() -> None:
    assert deb().digest == deb().digest and rpm(FPR_A).digest == rpm(FPR_A).digest
    assert deb(b"other keys").digest != deb().digest
    assert deb(url="https://elsewhere.example.org").digest != deb().digest
    assert rpm(FPR_A, FPR_B).digest != rpm(FPR_A).digest != rpm(FPR_B).digest


def test_a_changed_content_is_the_next_version() -> None:
    r = deb()
    assert keyring.bump({}, r) == 1
    state: dict[str, object] = {r.key: {"digest": r.digest, "version": 1}}
    assert keyring.bump(state, r) is None               # unchanged: nothing is built
    assert keyring.bump(state, deb(b"rotated")) == 2
    assert keyring.bump({r.key: "garbage"}, r) == 1


@pytest.mark.parametrize("older, newer", [(1, 2), (9, 10), (99, 100)])
def test_versions_sort_as_upgrades(older: int, newer: int) -> None:
    assert version_compare(keyring.deb_version(older, DEB12),
                           keyring.deb_version(newer, DEB12)) < 0
    assert keyring.deb_version(1, DEB12) == "1~deb12"
    rel = keyring.rpm_release(EL9)
    assert EVR(version=str(older), release=rel).compare(
        EVR(version=str(newer), release=rel)) < 0


def test_the_control_file() -> None:
    text = keyring.control_text(deb(), "3~deb12", "Ops <ops@example.org>", "team")
    assert text.startswith("Package: team-archive-keyring\nVersion: 3~deb12\n"
                           "Architecture: all\nMaintainer: Ops <ops@example.org>\n")
    assert all(re.fullmatch(r"[A-Z][A-Za-z-]+: .+| .+", line) for line in text.splitlines())


@pytest.mark.parametrize("uid, expected", [
    ("Ops Team <ops@example.org>", "Ops Team <ops@example.org>"),
    ("", keyring.DEFAULT_MAINTAINER),
    ("no address", keyring.DEFAULT_MAINTAINER),
    ("Evil\nInjected: yes <a@b.c>", keyring.DEFAULT_MAINTAINER),
    ("a, b <a@b.c>", keyring.DEFAULT_MAINTAINER),
    ("%{expand:x} <a@b.c>", keyring.DEFAULT_MAINTAINER),      # an rpm macro in Packager
])
def test_the_maintainer_is_the_keys_user_id_when_plain(uid: str, expected: str) -> None:
    assert keyring.maintainer_of(uid) == expected


def test_client_files_say_how_to_bootstrap() -> None:
    from repack.publish import clients

    apt_note = clients.bootstrap_note("team", "apt")
    assert "team-bootstrap.sources" in apt_note and "team-archive-keyring" in apt_note
    assert "dnf install team-release" in clients.bootstrap_note("team", "dnf")
    assert all(line.startswith("# ") for line in (apt_note + clients.bootstrap_note(
        "team", "dnf")).splitlines())


@pytest.mark.process
def test_el9_gets_only_the_keys_its_clients_verify(tmp_path: Path) -> None:
    """During a rotation from ed25519 to RSA, bookworm's keyring holds both keys and el9's
    release package only the RSA one (RHEL 9's rpm cannot verify EdDSA)."""
    with gnupg_home() as home:
        old = new_key(home, algorithm="ed25519")
        new = keys.rotate(home, name="repack test", email="b@example.org", algorithm="rsa4096")
        root = tmp_path / "gen"
        (root / "db" / "apt").mkdir(parents=True)
        (root / "db" / "apt" / "bookworm.json").write_text('{"packages": [], "sources": []}')
        (root / "yum" / "el9").mkdir(parents=True)
        signer = keys.signer(home)

        def trusted_for(tid: str) -> list[str]:
            return list(reversed(keys.for_target(signer, targets.load(tid)).fingerprints))

        found = {r.key: r for r in keyring.rendered(root, keyring.Inputs(
            name="team", url=URL, gnupghome=home, trusted_for=trusted_for,
            signer_for=lambda tid: keys.for_target(signer, targets.load(tid))))}
        assert set(found) == {"deb:bookworm", "rpm:el9"}
        pgp = found["deb:bookworm"].files["usr/share/keyrings/team-archive-keyring.pgp"]
        assert pgp == keys.export(home, [old, new], armor=False)
        key_files = [p for p in found["rpm:el9"].files if p.startswith("etc/pki/")]
        assert key_files == [f"etc/pki/rpm-gpg/RPM-GPG-KEY-team-{new[-16:].lower()}"]
        assert found["rpm:el9"].files[key_files[0]] == keys.export(home, [new])


@pytest.mark.parametrize("url", ["https://a.example.org/r\nTypes: deb", "https://a b", ""])
def test_a_url_that_would_break_out_of_its_field_is_refused(tmp_path: Path, url: str) -> None:
    from repack.errors import ConfigError

    inputs = keyring.Inputs(name="team", url=url, gnupghome=tmp_path, trusted_for=lambda t: [],
                            signer_for=lambda t: pytest.fail("no signer is needed"))
    with pytest.raises(ConfigError, match="repository URL"):
        keyring.rendered(tmp_path, inputs)
