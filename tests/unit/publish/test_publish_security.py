"""Security updates in the published repository (repack.publish.security), with real gpg,
dpkg-deb, rpmbuild and createrepo_c: the apt <codename>-security suite and yum's
updateinfo.xml, across publishes, removals and prunes.  dnf and apt themselves read them
in tests/integration/test_security_updates.py."""

from __future__ import annotations

import gzip
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from debian import deb822
from securitykit import CVE, FIX, GHSA, deb_with_record, record, rpm_with_record  # type: ignore[import-not-found]

from repack import keys
from repack.publish import publisher
from repack.publish.verify import verify

pytestmark = pytest.mark.process   # every test here runs a real local command

REPO_NS = "{http://linux.duke.edu/metadata/repo}"


def options(repo: Path, home: Path) -> publisher.Options:
    return publisher.Options(repo=repo, gnupghome=home, signer=keys.signer(home),
                             url="https://repo.example.org")


def deb(tmp: Path, version: str, *, fixes: bool, name: str = "python3-demo") -> Path:
    upstream = version.partition("-")[0]
    return deb_with_record(tmp / "debian-12", name, version,
                           record(upstream, [FIX] if fixes else [],
                                  project=name.removeprefix("python3-")))


def suite_packages(repo: Path, dist: str) -> list[tuple[str, str]]:
    text = (repo / f"apt/dists/{dist}/main/binary-amd64/Packages").read_text()
    return sorted((p["Package"], p["Version"])
                  for p in deb822.Packages.iter_paragraphs(text, use_apt_pkg=False))


def test_apt_security_suite(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    opts = options(repo, home)
    # a first version, and a package whose first version "fixes" something: neither is an
    # update of anything in the repository, so neither is a security update
    publisher.publish([deb(tmp_path, "1.0-1", fixes=False),
                       deb(tmp_path, "2.0-1", fixes=True, name="python3-other")], opts)
    assert suite_packages(repo, "bookworm-security") == []
    sources = deb822.Deb822((repo / "client/repack-bookworm.sources").read_text().split("\n\n")[0]
                            .split("\n", 3)[3])
    assert sources["Suites"] == "bookworm bookworm-security"

    fix = deb(tmp_path, "1.1-1", fixes=True)
    added = publisher.publish([fix], opts)
    assert "bookworm-security: python3-demo 1.1-1" in added
    assert suite_packages(repo, "bookworm-security") == [("python3-demo", "1.1-1")]
    main = deb822.Release((repo / "apt/dists/bookworm/Release").read_text())
    sec = deb822.Release((repo / "apt/dists/bookworm-security/Release").read_text())
    assert (sec["Suite"], sec["Codename"]) == ("bookworm-security", "bookworm-security")
    assert (sec["Origin"], sec["Label"]) == (main["Origin"], main["Label"]) == ("repack",) * 2
    (stanza,) = deb822.Packages.iter_paragraphs(
        (repo / "apt/dists/bookworm-security/main/binary-all/Packages").read_text(),
        use_apt_pkg=False)
    assert stanza["Repack-Fixes"] == f"{GHSA} {CVE}"
    assert stanza["Filename"] == "pool/main/p/python3-demo/python3-demo_1.1-1_all.deb"
    assert verify(repo) == []                      # signed, hashes right, pool files there

    # later publishes keep it; a newer version without fixes is no security update
    publisher.publish([deb(tmp_path, "1.2-1", fixes=False)], opts)
    assert suite_packages(repo, "bookworm-security") == [("python3-demo", "1.1-1")]
    # re-publishing the same file changes nothing
    before = (repo / ".repack/current").readlink()
    assert publisher.publish([fix], opts) == []
    assert (repo / ".repack/current").readlink() == before

    # removal from the repository removes it from both suites
    assert publisher.remove(opts, "python3-demo", "1.1") == ["bookworm: python3-demo 1.1-1"]
    assert suite_packages(repo, "bookworm-security") == []
    assert ("python3-demo", "1.1-1") not in suite_packages(repo, "bookworm")
    state = repo / ".repack/current/db/security/apt-bookworm.json"   # the suite's entries
    assert json.loads(state.read_text()) == []
    assert verify(repo) == []


def test_apt_prune_keeps_the_suites_consistent(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    opts = options(repo, home)
    publisher.publish([deb(tmp_path, "1.0-1", fixes=False)], opts)
    publisher.publish([deb(tmp_path, "1.1-1", fixes=True)], opts)
    publisher.publish([deb(tmp_path, "1.2-1", fixes=True), deb(tmp_path, "1.3-1", fixes=False)],
                      opts)
    assert suite_packages(repo, "bookworm-security") == [
        ("python3-demo", "1.1-1"), ("python3-demo", "1.2-1")]
    publisher.prune(opts, 2)
    assert suite_packages(repo, "bookworm") == [("python3-demo", "1.2-1"),
                                                ("python3-demo", "1.3-1")]
    assert suite_packages(repo, "bookworm-security") == [("python3-demo", "1.2-1")]
    assert verify(repo) == []


# ---- yum ----------------------------------------------------------------------------------

needs_rpm = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("rpmbuild", "rpmsign", "createrepo_c", "rpm2archive")),
    reason="needs rpm and createrepo-c (./x.py setup installs them)")


def rpm(tmp: Path, version: str, *, fixes: bool, name: str = "python3-demo") -> Path:
    built = rpm_with_record(tmp / "build", name, version, record(
        version, [FIX] if fixes else [], project=name.removeprefix("python3-")))
    dest = tmp / "el9" / built.name
    dest.parent.mkdir(exist_ok=True)
    return Path(shutil.copy(built, dest))


def updateinfo(repo: Path) -> ET.Element | None:
    repodata = repo / "yum/el9/repodata"
    root = ET.parse(repodata / "repomd.xml").getroot()
    hrefs = [d.find(f"{REPO_NS}location").attrib["href"]  # type: ignore[union-attr]
             for d in root.iter(f"{REPO_NS}data") if d.attrib["type"] == "updateinfo"]
    if not hrefs:
        return None
    (href,) = hrefs
    return ET.fromstring(gzip.decompress((repo / "yum/el9" / href).read_bytes()))


def updates(repo: Path) -> list[tuple[str, list[str]]]:
    doc = updateinfo(repo)
    return [] if doc is None else [
        (u.findtext("id", ""), [p.findtext("filename", "") for p in u.iter("package")])
        for u in doc.iter("update")]


@needs_rpm
def test_yum_updateinfo(tmp_path: Path, rsa_home: Path) -> None:
    home = rsa_home                                # el9 clients verify RSA, not ed25519
    repo = tmp_path / "repo"
    opts = options(repo, home)
    publisher.publish([rpm(tmp_path, "1.0", fixes=False),
                       rpm(tmp_path, "2.0", fixes=True, name="python3-other")], opts)
    assert updateinfo(repo) is None                # nothing was updated
    publisher.publish([rpm(tmp_path, "1.1", fixes=True)], opts)
    doc = updateinfo(repo)
    assert doc is not None
    (update,) = doc.iter("update")
    assert update.attrib["type"] == "security" and update.attrib["status"] == "stable"
    assert update.findtext("id", "").startswith("REPACK-")
    assert update.findtext("id", "").endswith("-python3-demo-1.1-1")
    refs = {r.attrib["id"]: (r.attrib["type"], r.attrib["href"]) for r in update.iter("reference")}
    assert refs == {GHSA: ("other", f"https://osv.dev/vulnerability/{GHSA}"),
                    CVE: ("cve", f"https://www.cve.org/CVERecord?id={CVE}")}
    assert "demo: a <dangerous> & bad bug" in update.findtext("description", "")   # no BEL
    (pkg,) = update.iter("package")
    assert {k: pkg.attrib[k] for k in ("name", "epoch", "version", "release", "arch")} == {
        "name": "python3-demo", "epoch": "0", "version": "1.1", "release": "1",
        "arch": "noarch"}
    assert pkg.attrib["src"] == "python3-demo-1.1-1.src.rpm"
    assert verify(repo) == []                      # repomd.xml.asc covers it

    # accumulated across publishes (the spliced metadata path), kept on re-signing
    publisher.publish([rpm(tmp_path, "1.2", fixes=True), rpm(tmp_path, "1.3", fixes=False)],
                      opts)
    assert [files for _, files in updates(repo)] == [["python3-demo-1.1-1.noarch.rpm"],
                                                      ["python3-demo-1.2-1.noarch.rpm"]]
    publisher.refresh(opts)
    assert len(updates(repo)) == 2
    # prune and remove drop the entries whose packages went
    publisher.prune(opts, 3)                      # 1.0 goes: the others stay
    assert len(updates(repo)) == 2
    publisher.remove(opts, "python3-demo", "1.1")
    assert [files for _, files in updates(repo)] == [["python3-demo-1.2-1.noarch.rpm"]]
    publisher.remove(opts, "python3-demo", "1.2")
    assert updateinfo(repo) is None
    assert verify(repo) == []
