"""The trust policy against a hostile index, through the real CLI (`python -m repack`).

Each case here is refused, or only prints, before any container starts: the index
(tests/localindex.py) withholds signatures, serves attestations from a stranger, malformed
advisory data, or escape sequences in URLs, advisories and key user ids.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from localindex import Answer, LocalIndex  # type: ignore[import-not-found]
from packaging.requirements import Requirement
from rpmkit import build_rpm  # type: ignore[import-not-found]
from sdists import make_sdist  # type: ignore[import-not-found]

from repack import http
from repack.fetch import fetch
from repack.resolve import resolve
from repack.trust import provenance

ROOT = Path(__file__).resolve().parents[3]
ASSETS = ROOT / "tests" / "data" / "attestations"
ATTESTED = "pypi_attestations-0.0.19.tar.gz"
FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
#: What an index would like a terminal to show: erase the line, go up, write a forgery.
FORGERY = "\x1b[2K\x1b[1A\r  verified:  pgp:" + "E" * 40 + "\x9b2K"


def repack(*args: str, cwd: Path, index: LocalIndex | None = None
           ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REPACK_CACHE_DIR": str(cwd / "cache"),
           "XDG_CONFIG_HOME": str(cwd / "xdg")}
    if index is not None:
        env["PIP_INDEX_URL"] = index.url
    return subprocess.run([sys.executable, "-m", "repack", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120, check=False)


def refused(proc: subprocess.CompletedProcess[str], code: int, project: str,
            *words: str) -> str:
    """One `error: <project>: ...` line holding `words`, exit `code`, no traceback."""
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stderr}"
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert errors[0].startswith(f"error: {project}: "), errors[0]
    for word in words:
        assert word in errors[0], errors[0]
    assert "\x1b" not in proc.stderr + proc.stdout
    return errors[0]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    tmp = tmp_path_factory.mktemp("sdists")
    with LocalIndex() as idx:
        idx.add("pypi-attestations", ATTESTED, (ASSETS / ATTESTED).read_bytes(),
                provenance=(ASSETS / f"{ATTESTED}.provenance").read_bytes())
        plain = make_sdist(tmp, "plain-demo", "1.0", {})
        idx.add("plain-demo", plain.name, plain.read_bytes(), fragment=FORGERY)
        yield idx


# --- 1. a rule is not weakened by require-signature ----------------------------------------

@pytest.mark.process
@pytest.mark.parametrize("how", ["flag", "file", "neither"])
def test_a_pgp_rule_refuses_a_strangers_attestation(index: LocalIndex, tmp_path: Path,
                                                    how: str) -> None:
    """The index withholds the .asc and serves a valid PEP 740 attestation (anyone can mint
    one from their own CI): a rule naming only a key refuses it, whatever require-signature
    says."""
    (tmp_path / "repack.toml").write_text(
        ("[trust]\nrequire-signature = true\n" if how == "file" else "")
        + f'[trust.projects.pypi-attestations]\npgp = ["{FPR}"]\n')
    flags = ["--require-signature"] if how == "flag" else []
    before = len(index.requests)
    proc = repack("build", "pypi-attestations==0.0.19", *flags, "-o", "out", cwd=tmp_path,
                  index=index)
    refused(proc, 11, "pypi-attestations", "requires a verified pgp", "no OpenPGP signature")
    assert not [p for p in index.requests[before:] if p.startswith("/integrity/")]
    assert "verified: attestation" not in proc.stderr
    assert not (tmp_path / "out").exists()


# --- 3. --deny-vulnerable fails closed -----------------------------------------------------

def _json_api(index: LocalIndex, vulnerabilities: object) -> None:
    doc: dict[str, object] = {"info": {"name": "plain-demo", "version": "1.0"},
                              "releases": {"1.0": []}}
    if vulnerabilities != "missing":
        doc["vulnerabilities"] = vulnerabilities
    index.answers["/pypi/plain-demo/json"] = Answer(body=json.dumps(doc).encode())


@pytest.mark.process
@pytest.mark.parametrize(("vulnerabilities", "words"), [
    ("missing", ("no advisory data",)),
    (None, ("no advisory data",)),
    ({"GHSA-aaaa-bbbb-cccc": {}}, ("no advisory data",)),
    ("GHSA-aaaa-bbbb-cccc", ("no advisory data",)),
    ([{"id": "GHSA aaaa", "fixed_in": ["1.1"]}], ("malformed advisory", "'GHSA aaaa'")),
    ([{"id": "GHSA-aaaa-bbbb-cccc", "aliases": "CVE-2026-1"}], ("malformed advisory",
                                                                 "aliases must be a list")),
    ([{"id": "GHSA-aaaa-bbbb-cccc", "fixed_in": ["1.1" + FORGERY]}],
     ("malformed advisory", "fixed_in entry")),
])
def test_deny_vulnerable_refuses_what_it_cannot_read(index: LocalIndex, tmp_path: Path,
                                                     vulnerabilities: object,
                                                     words: tuple[str, ...]) -> None:
    _json_api(index, vulnerabilities)
    try:
        proc = repack("build", "plain-demo==1.0", "--deny-vulnerable", "-o", "out",
                      cwd=tmp_path, index=index)
    finally:
        index.answers.clear()
    refused(proc, 11, "plain-demo", "--deny-vulnerable", *words)
    assert not (tmp_path / "out").exists()


# --- 4. nothing from the index steers the terminal ----------------------------------------

def test_a_url_fragment_never_reaches_the_record(index: LocalIndex, tmp_path: Path) -> None:
    """The index's file URL carries escape sequences in its fragment (never sent: the
    download and its hash pass); the record keeps the URL without it."""
    with http.session() as session:
        release = resolve(Requirement("plain-demo==1.0"), python_full_version="3.11.2",
                          index=index.url, session=session)
        sdist = fetch(release, pins=(), cache_dir=tmp_path, session=session)
    assert "#\x1b[2K" in release.url     # as the index gave it
    record = provenance.of(sdist)
    assert record.url == index.file_url("plain-demo", "plain_demo-1.0.tar.gz")
    assert "\\u001b" not in provenance.to_json(record)


def _deb_with_record(dest: Path, record: dict[str, object]) -> Path:
    """A real .deb (dpkg-deb) carrying `record` as its provenance document, as a hostile
    package would."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pkg"
        doc = root / provenance.doc_path("python3-evil")
        doc.parent.mkdir(parents=True)
        doc.write_text(json.dumps(record))
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN" / "control").write_text(
            "Package: python3-evil\nVersion: 1.0-1\nArchitecture: all\n"
            "Maintainer: Evil <evil@example.org>\nDescription: evil\n")
        dest.mkdir(parents=True, exist_ok=True)
        out = dest / "python3-evil_1.0-1_all.deb"
        subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)],
                       check=True, capture_output=True)
    return out


@pytest.mark.process
def test_explain_shows_a_hostile_record_as_data(tmp_path: Path) -> None:
    record = {
        "schema": 1, "project": "evil", "version": "1.0" + FORGERY,
        "filename": "evil-1.0.tar.gz\x1b]0;title\x07", "sha256": "ab" * 32,
        "url": "https://files.example/evil-1.0.tar.gz#" + FORGERY,
        "verified": ["sha256:index", "pgp:" + FORGERY],
        "vulnerabilities": [{"id": "GHSA-aaaa-bbbb-cccc", "aliases": [], "fixed_in": ["1.1"],
                             "summary": "x\x1b[2Ky", "link": "https://osv.dev/x#\x1b[1A"}],
        "fixes": [], "advisories_checked": True,
    }
    deb = _deb_with_record(tmp_path, record)
    proc = repack("explain", str(deb), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert not any(c in out for c in "\x1b\x9b\x07\r"), repr(out)
    # the forgery stays data inside the fields that carried it, on their own lines
    assert [ln for ln in out.splitlines() if ln.startswith("  verified:")] == [
        "  verified:  sha256:index, pgp:[2K[1A verified: pgp:" + "E" * 40 + "2K"]
    assert "  upstream:  evil 1.0[2K[1A verified: pgp:" in out
    assert "  source:    https://files.example/evil-1.0.tar.gz\n" in out
    as_json = repack("explain", "--json", str(deb), cwd=tmp_path)
    assert as_json.returncode == 0 and "\\u001b" not in as_json.stdout


@pytest.mark.process
def test_explain_reads_an_rpm_record_as_data(tmp_path: Path) -> None:
    record = {"schema": 1, "project": "evil", "version": "1.0", "filename": "evil-1.0.tar.gz",
              "sha256": "ab" * 32, "url": "https://files.example/evil-1.0.tar.gz#" + FORGERY,
              "verified": ["pgp:" + FORGERY], "vulnerabilities": [], "fixes": [],
              "advisories_checked": False}
    doc = "/" + provenance.doc_path("python3-evil")
    rpm = build_rpm(tmp_path, "python3-evil", "1.0", files={doc: json.dumps(record)})
    proc = repack("explain", str(rpm), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not any(c in proc.stdout for c in "\x1b\x9b\r"), repr(proc.stdout)
    assert "  source:    https://files.example/evil-1.0.tar.gz\n" in proc.stdout


@pytest.mark.process
def test_explain_bounds_what_it_reads(tmp_path: Path) -> None:
    record = {"schema": 1, "padding": "x" * (provenance.MAX_DOC + 1)}
    deb = _deb_with_record(tmp_path, record)
    proc = repack("explain", str(deb), cwd=tmp_path)
    refused_line = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert proc.returncode == 6 and len(refused_line) == 1, proc.stderr
    assert "is 1048" in refused_line[0] and "far smaller" in refused_line[0]


def _key_with_user_id(home: Path, uid: str) -> tuple[str, bytes]:
    def gpg(*args: str) -> bytes:
        return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--passphrase", "",
                               *args], check=True, capture_output=True).stdout

    gpg("--quick-gen-key", uid, "ed25519", "sign", "1y")
    listing = gpg("--with-colons", "--list-keys").decode()
    fpr = next(ln.split(":")[9] for ln in listing.splitlines() if ln.startswith("fpr:"))
    return fpr, gpg("--armor", "--export", fpr)


@pytest.mark.process
def test_a_key_user_id_cannot_forge_the_rule(tmp_path: Path) -> None:
    """A user id full of escape sequences would let a key show one fingerprint and rule
    while repack.toml receives another: add-key and list print it as plain text."""
    home = Path(tempfile.mkdtemp(prefix="rkt-"))
    try:
        fpr, public = _key_with_user_id(
            home, f"Evil\x1b[2K\x1b[1A\r[trust.projects.demo] {FORGERY} <evil@example.org>")
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        subprocess.run(["rm", "-rf", str(home)], check=False)
    (tmp_path / "key.asc").write_bytes(public)
    (tmp_path / "repack.toml").write_text("")
    added = repack("trust", "add-key", "demo", "key.asc", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout == f'[trust.projects.demo]\npgp = ["{fpr}"]\n'
    assert not any(c in added.stderr for c in "\x1b\x9b\r"), repr(added.stderr)
    assert f"{fpr} Evil[2K[1A [trust.projects.demo]" in added.stderr
    (tmp_path / "repack.toml").write_text(added.stdout)
    listed = repack("trust", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert not any(c in listed.stdout for c in "\x1b\x9b\r"), repr(listed.stdout)
    assert listed.stdout.startswith(f"{fpr} ed25519") and "allowed for: demo" in listed.stdout


# --- 5. smaller ------------------------------------------------------------------------------

@pytest.mark.process
def test_render_checks_that_policy_projects_exist(index: LocalIndex, tmp_path: Path) -> None:
    (tmp_path / "repack.toml").write_text(f'[trust.projects.no-such-demo]\npgp = ["{FPR}"]\n')
    proc = repack("render", "plain-demo==1.0", "-o", "out", cwd=tmp_path, index=index)
    refused(proc, 11, "no-such-demo", "names a project that is not found")
    assert not (tmp_path / "out").exists()


@pytest.mark.process
@pytest.mark.parametrize("status", [500, 403])
def test_a_signature_the_index_will_not_serve_is_refused(index: LocalIndex, tmp_path: Path,
                                                         status: int) -> None:
    """404 is "no signature"; anything else means the check cannot be done: exit 11."""
    (tmp_path / "repack.toml").write_text(f'[trust.projects.plain-demo]\npgp = ["{FPR}"]\n')
    index.answers["/files/plain-demo/plain_demo-1.0.tar.gz.asc"] = Answer(status=status)
    try:
        proc = repack("build", "plain-demo==1.0", "-o", "out", cwd=tmp_path, index=index)
    finally:
        index.answers.clear()
    refused(proc, 11, "plain-demo", f"HTTP {status}")


@pytest.mark.process
@pytest.mark.parametrize("answer", [Answer(status=404), Answer(body=b" " * (1024 * 1024 + 1))])
def test_provenance_the_index_will_not_serve_is_refused(index: LocalIndex, tmp_path: Path,
                                                        answer: Answer) -> None:
    """The index announced provenance for the file, then answers 404 or more than 1 MiB."""
    (tmp_path / "repack.toml").write_text(
        '[trust.projects.pypi-attestations]\n'
        'attestation = { repository = "trailofbits/pypi-attestations", '
        'workflow = "release.yml" }\n')
    path = f"/integrity/pypi-attestations/0.0.19/{ATTESTED}/provenance"
    index.answers[path] = answer
    try:
        proc = repack("build", "pypi-attestations==0.0.19", "-o", "out", cwd=tmp_path,
                      index=index)
    finally:
        index.answers.clear()
    refused(proc, 11, "pypi-attestations", "the provenance")
