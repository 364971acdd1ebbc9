"""The published apt repository against the real client: apt in a clean Debian 12 container
that knows only the generated .sources and keyring installs python3-django over HTTP from
`repack serve`, and refuses every tampered copy of the repository.

Several repositories (the good one and its tampered copies) are served side by side from
one `repack serve`, and one container checks them all, to keep the time down.  A rotated
repository (signed by the old and the new key) must still be accepted by a client that
has only the old key.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (  # type: ignore[import-not-found]
    README_MAINTAINER,
    ROOT,
    build_json,
    run_repack,
)
from repotools import gnupg_home, make_deb  # type: ignore[import-not-found]

from repack import keys
from repack.container.engine import Engine, Mount

pytestmark = pytest.mark.integration
CASES = ("flipped", "rehashed", "otherkey", "unsigned", "expired", "swapped")
ACCEPTED = ("rotated",)


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    with gnupg_home() as h:
        gen = run_repack(["key", "generate", "--email", "team@example.org", "--no-passphrase",
                          "--gnupghome",
                          str(h)])
        assert gen.returncode == 0, gen.stderr
        yield h


@pytest.fixture(scope="module")
def django_out(tmp_path_factory: pytest.TempPathFactory, home: Path) -> dict[str, Any]:
    """django 4.2 for debian-12, signed as built: the session's one build of it (the
    maintainer of conftest.README_MAINTAINER), a cache hit when the closure ran first."""
    out = tmp_path_factory.mktemp("out")
    result = build_json(["django==4.2", "-t", "debian-12", "-o", str(out), "--sign",
                         "--gnupghome", str(home)], env=README_MAINTAINER)
    return {"out": out, "result": result}


def test_build_sign_clearsigns_dsc_and_changes(django_out: dict[str, Any], home: Path,
                                               tmp_path: Path) -> None:
    keyring = tmp_path / "team.gpg"
    keyring.write_bytes(run_repack_bytes(["key", "export", "--binary", "--gnupghome",
                                          str(home)]))
    for a in django_out["result"]["artifacts"]:
        path = Path(a["path"])
        assert hashlib.sha256(path.read_bytes()).hexdigest() == a["sha256"]
        if a["format"] in ("dsc", "changes", "buildinfo"):
            proc = subprocess.run(["gpgv", "--keyring", str(keyring), str(path)],
                                  capture_output=True, text=True, check=False)
            assert proc.returncode == 0, f"{path.name}: {proc.stderr}"


def run_repack_bytes(args: list[str]) -> bytes:
    proc = subprocess.run([sys.executable, "-m", "repack", *args], capture_output=True,
                          cwd=ROOT, check=True)
    return proc.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    root = tmp_path_factory.mktemp("served")
    proc = subprocess.Popen([sys.executable, "-m", "repack", "serve", str(root), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=ROOT, env={**os.environ, "REPACK_SERVE_QUIET": "1"})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rstrip("/")
        assert url.startswith("http://127.0.0.1:"), url
        yield root, url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def publish(out: Path, repo: Path, url: str, home: Path, *extra: str) -> None:
    proc = run_repack(["publish", str(out), "--repo", str(repo), "--url", url,
                       "--gnupghome", str(home), *extra])
    assert proc.returncode == 0, proc.stderr


def verify(repo: Path) -> subprocess.CompletedProcess[str]:
    return run_repack(["repo", "verify", str(repo)])


def _variants(data: bytes) -> dict[str, bytes]:
    return {"Packages": data, "Packages.gz": gzip.compress(data, mtime=0)}


def tamper_packages(repo: Path, *, rehash: bool) -> None:
    """Flip one byte of every Packages list (all compressions, by-hash copies too); with
    rehash, also put the new hashes in Release and InRelease, without signing them."""
    dist = repo / "apt" / "dists" / "bookworm"
    release = (dist / "Release").read_text()
    new_release = release
    for bdir in sorted(dist.glob("main/binary-*")):
        old = {n: (bdir / n).read_bytes() for n in ("Packages", "Packages.gz")}
        data = bytearray(old["Packages"])
        i = data.index(b"Description: ") + len(b"Description: ")
        data[i] ^= 0x20
        for name, blob in _variants(bytes(data)).items():
            old_hash = hashlib.sha256(old[name]).hexdigest()
            new_hash = hashlib.sha256(blob).hexdigest()
            for path in (bdir / name, bdir / "by-hash" / "SHA256" / old_hash):
                path.unlink()
                path.write_bytes(blob)
            if rehash:
                (bdir / "by-hash" / "SHA256" / new_hash).write_bytes(blob)
                rel = f"main/{bdir.name}/{name}"
                line = next(ln for ln in new_release.splitlines() if ln.endswith(f" {rel}"))
                new_release = new_release.replace(
                    line, f" {new_hash} {len(blob):16} {rel}")
    if rehash:
        inrelease = (dist / "InRelease").read_text()
        assert release in inrelease
        (dist / "Release").write_text(new_release)
        (dist / "InRelease").write_text(inrelease.replace(release, new_release))


def expire(repo: Path, home: Path) -> None:
    """Valid-Until set to the Date of each distribution, re-signed with the repository key:
    a repository past its expiry (`--valid-days` is at least 1, so publish cannot make one)."""
    signer = keys.signer(home)
    for dist in sorted((repo / "apt" / "dists").iterdir()):
        release = (dist / "Release").read_text()
        date = next(ln for ln in release.splitlines() if ln.startswith("Date: "))
        until = next(ln for ln in release.splitlines() if ln.startswith("Valid-Until: "))
        (dist / "Release").write_text(release.replace(until, "Valid-Until: " + date[6:]))
        signer.clearsign(dist / "Release", dist / "InRelease")
        signer.detach_sign(dist / "Release", dist / "Release.gpg", armor=True)


def make_cases(good: Path, root: Path, url: str, out: Path, home: Path,
               work: Path) -> None:
    def copy(name: str) -> Path:
        dest = root / name
        shutil.copytree(good, dest, symlinks=True)   # real copies: the good tree stays good
        return dest

    tamper_packages(copy("flipped"), rehash=False)
    tamper_packages(copy("rehashed"), rehash=True)
    with gnupg_home() as other:
        run_repack(["key", "generate", "--email", "mallory@example.org", "--no-passphrase",
                    "--gnupghome",
                    str(other)])
        publish(out, root / "otherkey", f"{url}/otherkey", other)
    unsigned = copy("unsigned")
    for name in ("InRelease", "Release.gpg"):
        (unsigned / "apt" / "dists" / "bookworm" / name).unlink()
    expire(copy("expired"), home)
    rotated = run_repack(["key", "rotate", "--email", "team2@example.org", "--no-passphrase",
                          "--gnupghome", str(home)])
    assert rotated.returncode == 0, rotated.stderr
    publish(out, root / "rotated", f"{url}/rotated", home)
    swapped = copy("swapped")
    (pool_deb,) = (swapped / "apt" / "pool").rglob("*.deb")
    evil = make_deb(work, "python3-django", "4.2-0repack1~deb12", payload=b"evil\n")
    pool_deb.unlink()
    shutil.copyfile(evil, pool_deb)


CLIENT_SCRIPT = r"""
cp /repo/keys/repack.gpg /etc/apt/keyrings/repack.gpg
cp /repo/client/repack-bookworm.sources /etc/apt/sources.list.d/repack.sources
apt-get update
apt-get install -y --no-install-recommends python3-django
python3 -c 'import django; print("DJANGO", django.get_version())'
apt-cache policy python3-django
for case in $CASES; do
  d=/tmp/case-$case
  mkdir -p $d/parts $d/lists/partial $d/dl
  sed "s#$URL/good/#$URL/$case/#" /repo/client/repack-bookworm.sources > $d/parts/repack.sources
  O="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$d/parts"
  O="$O -o Dir::State::Lists=$d/lists"
  if ! apt-get $O update; then echo "RESULT $case refused-update"; continue; fi
  if ! (cd $d/dl && apt-get $O download python3-django); then
    echo "RESULT $case refused-download"; continue
  fi
  echo "RESULT $case ACCEPTED"
done
"""


def test_apt_installs_from_served_repo_and_refuses_tampering(
        django_out: dict[str, Any], home: Path, server: tuple[Path, str],
        container_engine: Engine, base_image: Any, tmp_path: Path) -> None:
    root, url = server
    out = django_out["out"]
    good = root / "good"
    publish(out, good, f"{url}/good", home)
    # re-publishing the same artifacts is a no-op
    before = os.readlink(good / ".repack" / "current")
    publish(out, good, f"{url}/good", home)
    assert os.readlink(good / ".repack" / "current") == before
    assert verify(good).returncode == 0, verify(good).stdout
    sources = (good / "client" / "repack-bookworm.sources").read_text()
    assert f"URIs: {url}/good/apt" in sources
    assert "Signed-By: /etc/apt/keyrings/repack.gpg" in sources
    assert "trusted=yes" not in sources
    make_cases(good, root, url, out, home, tmp_path)

    # repack's own verifier refuses what apt must refuse
    for case in CASES + ACCEPTED:
        check = verify(root / case)
        # "otherkey" is sound in itself: only the client's keyring can tell
        if case in ("otherkey", *ACCEPTED):
            assert check.returncode == 0, check.stdout
            continue
        assert check.returncode != 0 and check.stdout.strip(), case

    argv = container_engine.run_argv(
        base_image("debian-12"), ["sh", "-euxc", CLIENT_SCRIPT], network="host",
        env={"URL": url, "CASES": " ".join(CASES + ACCEPTED)},
        mounts=[Mount(source=good.resolve(), target="/repo", readonly=True)])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "DJANGO 4.2" in log, log
    results = dict(line.split()[1:3] for line in log.splitlines() if line.startswith("RESULT "))
    assert set(results) == set(CASES + ACCEPTED), log
    accepted = [case for case, r in results.items() if r == "ACCEPTED"]
    assert accepted == list(ACCEPTED), f"apt accepted tampered repositories {accepted}:\n{log}"
    assert results["swapped"] == "refused-download"
    reasons = {   # each refused for the right reason, in apt's words
        "flipped": f"Failed to fetch {url}/flipped/apt/dists/bookworm/main/",
        "rehashed": "The following signatures were invalid: BADSIG",
        "otherkey": "NO_PUBKEY",
        "unsigned": f"'{url}/unsigned/apt bookworm Release' is not signed",
        "expired": f"{url}/expired/apt/dists/bookworm/InRelease is expired",
        "swapped": f"Failed to fetch {url}/swapped/apt/pool/main/p/python-django/",
    }
    for case, reason in reasons.items():
        assert reason in log, f"{case}: {reason!r} not in apt's output:\n{log}"
