"""The apt repository: layout, Release, by-hash, expiry, idempotence, refusals, and the
atomicity and serialisation of publishing (SIGKILL at random points, concurrent
publishers) with real gpg, dpkg-deb and python-debian."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from debian import deb822
from repotools import make_deb  # type: ignore[import-not-found]

from repack import keys
from repack.errors import IntegrityError
from repack.publish import publisher, serve, tree
from repack.publish.verify import verify

ROOT = Path(__file__).resolve().parents[3]


def options(repo: Path, home: Path, **kw: object) -> publisher.Options:
    return publisher.Options(repo=repo, gnupghome=home, signer=keys.signer(home),
                             **kw)  # type: ignore[arg-type]


def debs(tmp: Path, *specs: tuple[str, str]) -> list[Path]:
    return [make_deb(tmp / "debian-12", name, version) for name, version in specs]


def release(repo: Path) -> deb822.Release:
    return deb822.Release((repo / "apt/dists/bookworm/Release").read_text())


def packages(repo: Path, arch: str = "amd64") -> list[deb822.Packages]:
    text = (repo / f"apt/dists/bookworm/main/binary-{arch}/Packages").read_text()
    return list(deb822.Packages.iter_paragraphs(text, use_apt_pkg=False))


def live(repo: Path) -> str:
    return os.readlink(repo / ".repack" / "current")


@pytest.mark.process
def test_layout_release_and_clients(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    files = debs(tmp_path, ("python3-a", "1.0-1"), ("python3-a", "1.1-1"), ("python3-b", "2-1"))
    added = publisher.publish(files, options(repo, home, url="https://repo.example.org/x"))
    assert len(added) == 3
    rel = release(repo)
    assert (rel["Suite"], rel["Codename"], rel["Components"]) == ("bookworm", "bookworm", "main")
    assert rel["Acquire-By-Hash"] == "yes" and "amd64" in rel["Architectures"].split()
    date, until = (parsedate_to_datetime(rel[f]) for f in ("Date", "Valid-Until"))
    assert until - date == timedelta(days=7)
    names = {i["name"] for i in rel["SHA256"]}
    assert {"main/binary-amd64/Packages", "main/binary-amd64/Packages.gz",
            "main/binary-all/Packages.gz", "main/source/Sources"} <= names
    assert not [n for n in names if n.endswith(".xz")]       # plain and .gz only
    for item in rel["SHA256"]:   # every index reachable by hash
        f = repo / "apt/dists/bookworm" / item["name"]
        assert (f.parent / "by-hash/SHA256" / item["sha256"]).read_bytes() == f.read_bytes()
    # several versions side by side; arch all also in binary-amd64 for older clients
    assert sorted((p["Package"], p["Version"]) for p in packages(repo)) == [
        ("python3-a", "1.0-1"), ("python3-a", "1.1-1"), ("python3-b", "2-1")]
    pkg = packages(repo)[0]
    assert pkg["Filename"] == "pool/main/p/python3-a/python3-a_1.0-1_all.deb"
    assert len(pkg["SHA256"]) == 64 and int(pkg["Size"]) > 0
    assert verify(repo) == []
    sources = (repo / "client/repack-bookworm.sources").read_text()
    assert "URIs: https://repo.example.org/x/apt\nSuites: bookworm bookworm-security\n" \
           "Components: main\n" \
           "Signed-By: /etc/apt/keyrings/repack.gpg" in sources
    inline = (repo / "client/repack-bookworm-inline.sources").read_text()
    assert "-----BEGIN PGP PUBLIC KEY BLOCK-----" in inline
    assert (repo / "keys/repack.asc").read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK")


@pytest.mark.process
def test_no_private_key_in_repository(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home))
    for f in repo.rglob("*"):
        if f.is_file():
            assert b"PRIVATE KEY" not in f.read_bytes(), f
    packets = subprocess.run(["gpg", "--list-packets", str(repo / "keys/repack.gpg")],
                             capture_output=True, text=True, check=True).stdout
    assert ":public key packet:" in packets and "secret key packet" not in packets


@pytest.mark.process
def test_republish_is_noop_and_changed_file_is_refused(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    files = debs(tmp_path, ("p", "1"))
    publisher.publish(files, options(repo, home))
    gen = live(repo)
    assert publisher.publish(files, options(repo, home)) == []
    assert live(repo) == gen
    other = make_deb(tmp_path / "other" / "debian-12", "p", "1", payload=b"different\n")
    with pytest.raises(IntegrityError, match="p 1 .*already published"):
        publisher.publish([other], options(repo, home))
    assert live(repo) == gen and verify(repo) == []
    assert not list((repo / ".repack").glob("stage-*"))


@pytest.mark.process
def test_by_hash_keeps_previous_generation(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    hashes = []
    for i in range(3):
        publisher.publish(debs(tmp_path, (f"p{i}", "1")), options(repo, home))
        hashes.append({x["sha256"] for x in release(repo)["SHA256"]})
    by_hash = {p.name for p in (repo / "apt/dists/bookworm").rglob("by-hash/SHA256/*")}
    assert hashes[2] | hashes[1] <= by_hash
    assert not (hashes[0] - hashes[1] - hashes[2]) & by_hash


@pytest.mark.process
def test_expired_valid_until_is_reported(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home, valid_days=1))
    assert verify(repo) == []
    later = datetime.now(UTC) + timedelta(days=2)
    assert [p for p in verify(repo, now=later) if "expired" in p]


@pytest.mark.process
def test_verify_reports_tampering(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home))
    (deb,) = (repo / "apt/pool").rglob("*.deb")
    data = deb.read_bytes()
    deb.unlink()                       # a hard link: replace, never edit in place
    deb.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert any("SHA256 differs" in p for p in verify(repo))
    inrelease = repo / "apt/dists/bookworm/InRelease"
    text = inrelease.read_text().replace("Label: repack", "Label: evil")
    inrelease.unlink()
    inrelease.write_text(text)
    assert any("InRelease: no good signature" in p for p in verify(repo))


@pytest.mark.process
def test_remove_and_prune(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    versions = [("p", "1.0-1"), ("p", "1.1-1"), ("p", "1:0.9-1"), ("q", "3-1")]
    publisher.publish(debs(tmp_path, *versions), options(repo, home))
    assert publisher.prune(options(repo, home), keep=2) == ["bookworm: p 1.0-1"]
    assert sorted(p["Version"] for p in packages(repo) if p["Package"] == "p") == [
        "1.1-1", "1:0.9-1"]
    assert publisher.remove(options(repo, home), "p", "1.1-1") == ["bookworm: p 1.1-1"]
    assert publisher.remove(options(repo, home), "q", None) == ["bookworm: q 3-1"]
    assert [p["Version"] for p in packages(repo)] == ["1:0.9-1"]
    assert sorted(f.name for f in (repo / "apt/pool").rglob("*.deb")) == ["p_0.9-1_all.deb"]
    assert verify(repo) == []


def _publish_cmd(repo: Path, home: Path, deb: Path) -> list[str]:
    return [sys.executable, "-m", "repack", "publish", str(deb), "--repo", str(repo),
            "--gnupghome", str(home)]


def _staging(repo: Path) -> bool:
    return any(p.name.startswith("stage-") for p in (repo / ".repack").iterdir())


def _wait_for_stage(repo: Path, proc: subprocess.Popen[bytes], limit: float = 30) -> float:
    """Block until the publisher holds the lock and stages; returns when."""
    end = time.monotonic() + limit
    while not _staging(repo) and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.002)
    return time.monotonic()


@pytest.mark.process
def test_sigkill_during_publish_leaves_a_servable_repo(tmp_path: Path, home: Path) -> None:
    """Killed before, during and after staging: the repository stays whole and the next
    publish cleans up.  Batches of 8 packages make the transaction long enough to hit."""
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("base", "1")), options(repo, home))

    def batch(tag: str) -> Path:
        d = tmp_path / tag / "debian-12"
        for j in range(8):
            make_deb(d, f"{tag}-{j}", "1")
        return d

    proc = subprocess.Popen(_publish_cmd(repo, home, batch("t0")), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staged = _wait_for_stage(repo, proc)
    assert proc.wait() == 0
    txn = time.monotonic() - staged
    rng = random.Random(5)
    killed = debris = 0
    # At least six rounds, and more (up to 20) until four kills have landed mid-publish and
    # one left debris: on a fast or idle machine a publisher can finish before its signal.
    for i in range(1, 21):
        if i > 6 and killed >= 4 and debris >= 1:
            break
        proc = subprocess.Popen(_publish_cmd(repo, home, batch(f"k{i}")), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i % 3:                                   # mostly inside the transaction
            _wait_for_stage(repo, proc)
            time.sleep(rng.uniform(0, txn))
        else:
            time.sleep(rng.uniform(0, 0.5))
        proc.send_signal(signal.SIGKILL)
        killed += proc.wait() == -signal.SIGKILL
        debris += _staging(repo)
        assert verify(repo) == [], f"after a kill at round {i}"   # old or new, whole
        names = {p["Package"] for p in packages(repo)}
        assert "base" in names and len(names - {"base"}) % 8 == 0   # whole batches only
    assert killed >= 4 and debris >= 1, (killed, debris)
    publisher.publish(debs(tmp_path, ("after", "1")), options(repo, home))   # repairs
    meta = repo / ".repack"
    assert not [p for p in meta.iterdir() if p.name.startswith(("stage-", "current.tmp"))]
    assert len(list(meta.glob("gen-*"))) <= 2
    assert verify(repo) == []
    apt_dir = repo / "apt"                                             # the live pool: no
    stored = {p.relative_to(apt_dir).as_posix()                        # killed publisher's
              for p in (apt_dir / "pool").rglob("*") if p.is_file()}   # debris
    assert stored == {p["Filename"] for p in packages(repo)}
    assert not (apt_dir / "pool").is_symlink()


@pytest.mark.process
def test_concurrent_publishers_are_serialised(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("base", "1")), options(repo, home))
    new = [make_deb(tmp_path / "debian-12", f"c{i}", "1") for i in range(4)]
    procs = [subprocess.Popen(_publish_cmd(repo, home, d), cwd=ROOT, stderr=subprocess.PIPE)
             for d in new]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert {p["Package"] for p in packages(repo)} == {"base", "c0", "c1", "c2", "c3"}
    assert verify(repo) == []


@pytest.mark.process
def test_publisher_waits_for_the_lock(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("base", "1")), options(repo, home))
    deb = make_deb(tmp_path / "debian-12", "late", "1")
    with tree.locked(repo):
        proc = subprocess.Popen(_publish_cmd(repo, home, deb), cwd=ROOT,
                                stderr=subprocess.DEVNULL)
        time.sleep(2)
        assert proc.poll() is None          # still waiting
        assert "late" not in {p["Package"] for p in packages(repo)}
    assert proc.wait(timeout=60) == 0
    assert "late" in {p["Package"] for p in packages(repo)}


@pytest.mark.process
def test_serve_is_read_only_and_confined(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("p", "1")), options(repo, home))
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (repo / "escape").symlink_to(secret)
    httpd = serve.server(repo, 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/apt/dists/bookworm/InRelease") as r:
            assert r.read() == (repo / "apt/dists/bookworm/InRelease").read_bytes()
        for path in ("/escape", "/../secret.txt", "/%2e%2e/secret.txt", "/.repack/lock",
                     "/apt/", "/apt/dists/../../../secret.txt"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(base + path)
            assert e.value.code == 404, path
        req = urllib.request.Request(f"{base}/apt/x", data=b"x", method="PUT")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code in (405, 501)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.process
def test_cli_publish_directory_and_verify_exit_codes(tmp_path: Path, home: Path) -> None:
    from click.testing import CliRunner

    from repack.cli import cli

    runner = CliRunner()
    out = tmp_path / "out"
    make_deb(out / "debian-12", "python3-x", "1.0-0repack1~deb12")
    make_deb(out / "elsewhere", "python3-y", "2.0-0repack1~deb12")   # target from ~deb12
    repo = tmp_path / "repo"
    result = runner.invoke(cli, ["publish", str(out), "--repo", str(repo), "--gnupghome",
                                 str(home), "--valid-days", "3"])
    assert result.exit_code == 0, result.output
    assert {p["Package"] for p in packages(repo)} == {"python3-x", "python3-y"}
    assert runner.invoke(cli, ["repo", "verify", str(repo)]).exit_code == 0
    (repo / "apt/dists/bookworm/Release.gpg").unlink()
    bad = runner.invoke(cli, ["repo", "verify", str(repo)])
    assert bad.exit_code == 4 and "Release.gpg: missing" in bad.output
    odd = tmp_path / "odd.deb"
    make_deb(tmp_path / "x", "z", "1").rename(odd)
    result = runner.invoke(cli, ["publish", str(odd), "--repo", str(repo), "--gnupghome",
                                 str(home)])
    assert result.exit_code == 2 and "cannot tell its target" in result.output


@pytest.mark.process
def test_readers_see_old_or_new_never_a_mix(tmp_path: Path, home: Path) -> None:
    """A client reading while publishes go on: InRelease, then the lists by hash, then the
    packages, each opened afresh through the entry symlink as a web server would."""
    import gzip

    repo = tmp_path / "repo"
    publisher.publish(debs(tmp_path, ("base", "1")), options(repo, home))
    stop = threading.Event()
    errors: list[str] = []
    reads = [0]

    def client() -> None:
        dist = repo / "apt/dists/bookworm"
        while not stop.is_set():
            rel = deb822.Release((dist / "InRelease").read_text())
            for item in rel["SHA256"]:
                if item["name"] != "main/binary-amd64/Packages.gz":
                    continue
                path = dist / "main/binary-amd64/by-hash/SHA256" / item["sha256"]
                try:
                    text = gzip.decompress(path.read_bytes()).decode()
                except OSError as e:
                    errors.append(f"by-hash list gone: {e}")
                    continue
                for pkg in deb822.Packages.iter_paragraphs(text, use_apt_pkg=False):
                    if not (repo / "apt" / pkg["Filename"]).is_file():
                        errors.append(f"{pkg['Filename']} gone")
            reads[0] += 1

    thread = threading.Thread(target=client)
    thread.start()
    try:
        for i in range(6):
            publisher.publish(debs(tmp_path, (f"r{i}", "1")), options(repo, home))
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:5]
    assert reads[0] > 5


@pytest.mark.process
@pytest.mark.parametrize("field, value", [
    ("source", "../../.."), ("source", "a/b"), ("source", "ok (1.0) junk"),
    ("arch", "../x"), ("arch", "all/../../x")])
def test_fields_that_become_paths_are_checked(tmp_path: Path, field: str, value: str) -> None:
    from repack.errors import MetadataError
    from repack.publish import apt

    kwargs = {"source": value} if field == "source" else {"arch": "all"}
    deb = make_deb(tmp_path / "d", "python3-x", "1.0-1", **kwargs)  # type: ignore[arg-type]
    if field == "arch":      # dpkg-deb refuses a bad Architecture: rewrite the control
        root = tmp_path / "root"
        subprocess.run(["dpkg-deb", "-R", str(deb), str(root)], check=True)
        control = root / "DEBIAN" / "control"
        control.write_text(control.read_text().replace("Architecture: all",
                                                       f"Architecture: {value}"))
        subprocess.run(["dpkg-deb", "--nocheck", "-b", str(root), str(deb)], check=True,
                       capture_output=True)
    with pytest.raises(MetadataError, match="refusing to publish"):
        apt.source_of(apt.deb_record(deb), deb.name)


def test_verify_names_paths_that_leave_the_repository(tmp_path: Path) -> None:
    from repack.publish.apt import _escapes

    root = tmp_path / "repo"
    (root / "apt").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "apt" / "link").symlink_to(tmp_path / "outside")
    assert not _escapes(root, root / "apt", "pool/main/p/p/p_1_all.deb")
    for bad in ("../x", "pool/../../x", "/etc/passwd", "", "link/x", "a\\..\\b"):
        assert _escapes(root, root / "apt", bad), bad
