"""`repack repo client-config`: the client files of a published repository, for any base
URL, read from the live tree without the signing key (real gpg and dpkg-deb)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from debian import deb822
from repotools import gnupg_home, make_deb, new_key  # type: ignore[import-not-found]

from repack import cli, keys
from repack.publish import publisher


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("client-config")
    with gnupg_home() as home:
        new_key(home)
        root = tmp / "repo"
        publisher.publish([make_deb(tmp / "debian-12", "python3-demo", "1.0-1")],
                          publisher.Options(repo=root, gnupghome=home, signer=keys.signer(home),
                                            name="team", url="https://packages.example.org/r"))
        yield root


@pytest.mark.process
def test_prints_the_sources_with_the_published_url(repo: Path) -> None:
    result = CliRunner().invoke(cli.cli, ["repo", "client-config", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert "# ==> team-bookworm.sources <==" in result.output
    assert "URIs: https://packages.example.org/r/apt\n" in result.output
    assert "Signed-By: /etc/apt/keyrings/team.gpg\n" in result.output
    assert "BEGIN PGP PUBLIC KEY BLOCK" in result.output      # team.asc, text only
    assert "team.gpg <==" not in result.output and ".repo <==" not in result.output


@pytest.mark.process
def test_writes_the_files_for_another_url(repo: Path, tmp_path: Path) -> None:
    before = os.readlink(repo / ".repack" / "current")
    out = tmp_path / "client"
    result = CliRunner().invoke(cli.cli, ["repo", "client-config", "--repo", str(repo),
                                          "--url", "http://10.0.2.2:8080/", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "team-bookworm-inline.sources", "team-bookworm.sources", "team.asc", "team.gpg"]
    (stanza,) = deb822.Deb822.iter_paragraphs((out / "team-bookworm.sources").read_text())
    assert stanza["URIs"] == "http://10.0.2.2:8080/apt"
    assert stanza["Suites"] == "bookworm bookworm-security"   # repack.publish.security
    assert (out / "team.gpg").read_bytes() == (repo / "keys" / "team.gpg").read_bytes()
    assert "BEGIN PGP PUBLIC KEY BLOCK" in (out / "team-bookworm-inline.sources").read_text()
    assert os.readlink(repo / ".repack" / "current") == before    # nothing republished
    assert "10.0.2.2" not in (repo / "client" / "team-bookworm.sources").read_text()


def test_the_dnf_repo_file_names_each_yum_target(tmp_path: Path) -> None:
    from repack.publish.clients import repo_text

    text = repo_text("team", "https://x.example/r", ["el9", "fedora-42"])
    assert "baseurl=https://x.example/r/yum/el9/\n" in text
    assert text.count("gpgcheck=1\nrepo_gpgcheck=1\ngpgkey=https://x.example/r/keys/team.asc") == 2


@pytest.mark.process
@pytest.mark.skipif(not shutil.which("rpmbuild"), reason="needs rpmbuild")
def test_one_client_file_per_release(tmp_path: Path) -> None:
    """Each .sources names one codename's suites, each .repo one target's baseurl: a
    Debian 12 client never sees the trixie build, an el9 one never the fedora-42 rpms."""
    from rpmkit import build_rpm  # type: ignore[import-not-found]

    out = tmp_path / "out"
    make_deb(out / "debian-12", "python3-demo", "1.0-0repack1~deb12")
    make_deb(out / "debian-13", "python3-demo", "1.0-0repack1~deb13")
    for target in ("el9", "fedora-42"):
        rpm = build_rpm(tmp_path / target, "python3-demo", "1.0", requires=())
        (out / target).mkdir()
        rpm.rename(out / target / rpm.name)
    with gnupg_home() as home:
        new_key(home, algorithm="rsa4096")
        root = tmp_path / "repo"
        publisher.publish([out], publisher.Options(
            repo=root, gnupghome=home, signer=keys.signer(home), name="team",
            url="https://packages.example.org/r"))
    names = ["team-bookworm-inline.sources", "team-bookworm.sources", "team-el9.repo",
             "team-fedora-42.repo", "team-trixie-inline.sources", "team-trixie.sources"]
    assert sorted(p.name for p in (root / "client").iterdir()) == names
    for codename, other in (("bookworm", "trixie"), ("trixie", "bookworm")):
        for variant in (f"team-{codename}.sources", f"team-{codename}-inline.sources"):
            text = (root / "client" / variant).read_text()
            (stanza,) = deb822.Deb822.iter_paragraphs(text)
            assert stanza["Suites"] == f"{codename} {codename}-security", text
            assert other not in text
    for target, other in (("el9", "fedora-42"), ("fedora-42", "el9")):
        text = (root / "client" / f"team-{target}.repo").read_text()
        assert f"[team-{target}]\n" in text and text.count("baseurl=") == 1, text
        assert f"baseurl=https://packages.example.org/r/yum/{target}/\n" in text
        assert other not in text
    out_dir = tmp_path / "client"
    result = CliRunner().invoke(cli.cli, ["repo", "client-config", "--repo", str(root),
                                          "--url", "http://mirror.example/", "-o", str(out_dir)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        [*names, "team.asc", "team.gpg"])
    assert "baseurl=http://mirror.example/yum/el9/\n" in (out_dir / "team-el9.repo").read_text()


def test_an_unpublished_directory_is_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.cli, ["repo", "client-config", "--repo", str(tmp_path)])
    assert result.exit_code != 0
    assert "not a repack repository" in result.output


@pytest.mark.process
@pytest.mark.skipif(not shutil.which("rpmbuild"), reason="needs rpmbuild")
def test_el9_clients_get_only_the_keys_they_can_verify(tmp_path: Path, rsa_home: Path) -> None:
    """During a rotation to ed25519 (published: RSA, then ed25519) the el9 rpms and
    repomd.xml are signed by the RSA key alone and the .repo names keys/<name>-el9.asc with
    that key only (EL9's rpm cannot import or verify EdDSA); apt gets both keys."""
    from rpmkit import build_rpm  # type: ignore[import-not-found]

    from repack.publish.verify import verify

    rsa = keys.published(rsa_home)[0]
    ed = keys.rotate(rsa_home, name="t", email="ed@example.org", algorithm="ed25519")
    (tmp_path / "el9").mkdir()
    rpm = build_rpm(tmp_path / "build", "python3-demo", "1.0")
    rpm = rpm.rename(tmp_path / "el9" / rpm.name)
    deb = make_deb(tmp_path / "debian-12", "python3-demo", "1.0-1")
    root = tmp_path / "repo"
    publisher.publish([rpm, deb], publisher.Options(
        repo=root, gnupghome=rsa_home, signer=keys.signer(rsa_home), name="team",
        url="https://packages.example.org/r"))
    assert verify(root) == []

    def fingerprints(path: Path) -> set[str]:
        out = subprocess.run(["gpg", "--show-keys", "--with-colons", str(path)],
                             capture_output=True, text=True, check=True).stdout
        return {line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")}

    assert fingerprints(root / "keys" / "team-el9.asc") == {rsa}
    assert fingerprints(root / "keys" / "team.asc") == {rsa, ed}
    repo_file = (root / "client" / "team-el9.repo").read_text()
    assert "gpgkey=https://packages.example.org/r/keys/team-el9.asc\n" in repo_file
    sig = subprocess.run(["gpg", "--list-packets", str(root / "yum/el9/repodata/repomd.xml.asc")],
                         capture_output=True, text=True, check=False).stdout
    assert f"issuer fpr v4 {rsa}" in sig and ed not in sig, sig
    result = CliRunner().invoke(cli.cli, ["repo", "client-config", "--repo", str(root),
                                          "-o", str(tmp_path / "client")])
    assert result.exit_code == 0, result.output
    assert fingerprints(tmp_path / "client" / "team-el9.asc") == {rsa}
