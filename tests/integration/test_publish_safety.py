"""`repack publish` stays inside REPO and signs correctly or not at all, through the real
CLI with real gpg, dpkg-deb and rpm (no container needed):

- a .deb whose control record says `Source: ../../..` is refused and nothing is written
  outside REPO; `repo verify` refuses a tree whose indexes name a path with `..`;
- an empty REPACK_PASSPHRASE or --passphrase-file is no passphrase (gpg once took the
  first line of the Release file for it: InRelease lost its Origin and publish exited 0),
  and a signature that does not verify never goes live;
- an ed25519 key is refused for el9 (RHEL 9's rpm cannot verify EdDSA), exit 10;
- an expired key is named as expired; a GnuPG home inside REPO is refused; the
  passphrase is not in the environment of the gpg-agent repack starts; `serve` serves only
  apt/ yum/ keys/ client/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from repotools import fake_record, gnupg_home, make_deb  # type: ignore[import-not-found]

from repack.publish import apt
from repack.trust import provenance

EMAIL = ["--email", "safety@example.org"]


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def evil_deb(dest: Path, source: str) -> Path:
    """A .deb (dpkg-deb -b, with a good provenance record) whose control record names a
    hostile Source."""
    return make_deb(dest, "python3-evil", "1.0-0repack1~deb12", source=source)


@pytest.fixture(scope="module")
def ed_home() -> Iterator[Path]:
    """An ed25519 key without a passphrase (`repack key generate --algorithm ed25519`)."""
    with gnupg_home() as h:
        gen = run_repack(["key", "generate", *EMAIL, "--algorithm", "ed25519",
                          "--no-passphrase", "--gnupghome", str(h)])
        assert gen.returncode == 0, gen.stderr
        yield h


def publish(files: list[Path], repo: Path, home: Path, *extra: str,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_repack(["publish", *map(str, files), "--repo", str(repo), "--gnupghome",
                       str(home), *extra], env=env)


def verify(repo: Path) -> subprocess.CompletedProcess[str]:
    return run_repack(["repo", "verify", str(repo)])


def test_a_traversing_source_is_refused_and_nothing_leaves_repo(tmp_path: Path,
                                                                ed_home: Path) -> None:
    work = tmp_path / "work"
    out = work / "out" / "debian-12"
    out.mkdir(parents=True)
    repo = work / "deep" / "er" / "repo"
    repo.parent.mkdir(parents=True)
    for source in ("../../..", "../../../../escaped", "a/../../b", "evil (1.0) extra"):
        deb = evil_deb(out, source)
        before = files_under(work)
        proc = publish([deb], repo, ed_home)
        assert proc.returncode == 6, proc.stderr
        assert "Source" in proc.stderr and "refusing to publish" in proc.stderr, proc.stderr
        assert proc.stderr.startswith("error: "), proc.stderr
        assert "Traceback" not in proc.stderr
        after = files_under(work)
        outside = {p for p in after - before if not p.startswith("deep/er/repo")}
        assert outside == set(), outside
        # nothing went live either
        assert not (repo / "apt").exists()
        deb.unlink()


def test_verify_refuses_a_tree_whose_index_leaves_the_repository(tmp_path: Path,
                                                                 ed_home: Path) -> None:
    """A tree made by hand (the database edited, then re-signed by `repo refresh`) whose
    Packages names `../../../../outside.deb`: the file is there with the right hash, so
    only the `..` is wrong, and verify says so."""
    out = tmp_path / "out" / "debian-12"
    deb = make_deb(out, "python3-good", "1.0-0repack1~deb12")
    repo = tmp_path / "repo"
    assert publish([deb], repo, ed_home).returncode == 0
    assert verify(repo).returncode == 0
    shutil.copy(deb, tmp_path / "outside.deb")
    db_path = repo / ".repack" / "current" / "db" / "apt" / "bookworm.json"
    db = json.loads(db_path.read_text())
    db["packages"][0]["Filename"] = "../../../../outside.deb"
    db_path.unlink()                           # a new file: the lists are rewritten from it
    db_path.write_text(json.dumps(db))
    refresh = run_repack(["repo", "refresh", "--repo", str(repo), "--gnupghome", str(ed_home)])
    assert refresh.returncode == 0, refresh.stderr
    packages = (repo / "apt/dists/bookworm/main/binary-all/Packages").read_text()
    assert "Filename: ../../../../outside.deb" in packages
    assert (repo / "apt" / "../../../../outside.deb").is_file()   # resolvable, hash right
    proc = verify(repo)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "'../../../../outside.deb' leaves the repository" in proc.stdout, proc.stdout


@pytest.mark.parametrize("how", ["env", "file"])
def test_an_empty_passphrase_is_none(tmp_path: Path, ed_home: Path, how: str) -> None:
    """The key has no passphrase: an empty one must change nothing (it used to make gpg
    eat the Release file's first line, `Origin:`, and sign the rest)."""
    out = tmp_path / "out" / "debian-12"
    deb = make_deb(out, "python3-good", "1.0-0repack1~deb12")
    repo = tmp_path / "repo"
    empty = tmp_path / "empty"
    empty.write_text("")
    extra = ["--passphrase-file", str(empty)] if how == "file" else []
    proc = publish([deb], repo, ed_home, *extra, env={"REPACK_PASSPHRASE": ""})
    assert proc.returncode == 0, proc.stderr
    inrelease = (repo / "apt/dists/bookworm/InRelease").read_text()
    assert "\nOrigin: repack\n" in inrelease, inrelease[:300]
    assert verify(repo).returncode == 0


def test_a_signature_that_does_not_verify_never_goes_live(tmp_path: Path) -> None:
    """A protected key and an empty REPACK_PASSPHRASE, with no agent to ask: exit 10, and
    the repository stays as it was (here: nothing published at all)."""
    with gnupg_home() as home:
        (home / "gpg-agent.conf").write_text("default-cache-ttl 0\nmax-cache-ttl 0\n")
        gen = run_repack(["key", "generate", *EMAIL, "--algorithm", "ed25519", "--gnupghome",
                          str(home)], env={"REPACK_PASSPHRASE": "right one"})
        assert gen.returncode == 0, gen.stderr
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
        deb = make_deb(tmp_path / "out" / "debian-12", "python3-good", "1.0-0repack1~deb12")
        repo = tmp_path / "repo"
        proc = publish([deb], repo, home, env={"REPACK_PASSPHRASE": ""})
        assert proc.returncode == 10, proc.stderr
        assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
        assert not (repo / "apt").exists() and not (repo / ".repack" / "current").exists()
        good = publish([deb], repo, home, env={"REPACK_PASSPHRASE": "right one"})
        assert good.returncode == 0, good.stderr
        assert verify(repo).returncode == 0


def test_el9_refuses_an_ed25519_key_and_the_default_key_is_rsa4096(tmp_path: Path,
                                                                   ed_home: Path) -> None:
    """EL9's rpm 4.16 cannot verify EdDSA: publish and sign refuse (exit 10, naming el9
    and ed25519) before anything is written; `repack key generate` makes RSA-4096."""
    if not shutil.which("rpmbuild"):
        pytest.skip("needs rpmbuild")
    from rpmkit import build_rpm

    out = tmp_path / "out" / "el9"
    out.mkdir(parents=True)
    rpm = Path(shutil.copy(build_rpm(tmp_path, "python3-demo", "1.0", release="1.el9"), out))
    repo = tmp_path / "repo"
    proc = publish([tmp_path / "out"], repo, ed_home)
    assert proc.returncode == 10, proc.stderr
    assert proc.stderr.startswith("error: el9: ") and "ed25519" in proc.stderr, proc.stderr
    assert not repo.exists() or not any(repo.iterdir())
    before = rpm.read_bytes()
    signed = run_repack(["sign", str(rpm), "--gnupghome", str(ed_home)])
    assert signed.returncode == 10 and "el9" in signed.stderr and "ed25519" in signed.stderr
    assert rpm.read_bytes() == before
    with gnupg_home() as home:
        gen = run_repack(["key", "generate", *EMAIL, "--no-passphrase", "--gnupghome",
                          str(home)])
        assert gen.returncode == 0, gen.stderr
        listing = run_repack(["key", "list", "--gnupghome", str(home)]).stdout
        assert f"{gen.stdout.strip()} rsa4096" in listing, listing
        # with it: an rpm whose record is of another project is refused, the good one
        # published with an RSA signature that rpm and gpgv verify
        impostor = tmp_path / "impostor" / "el9"
        impostor.mkdir(parents=True)
        shutil.copy(build_rpm(tmp_path / "i", "python3-demo", "1.0", release="1.el9",
                              files={"/usr/share/doc/python3-demo/repack-provenance.json":
                                     provenance.to_json(fake_record("other", "1.0"))}),
                    impostor)
        proc = publish([impostor], repo, home)
        assert proc.returncode == 6 and "does not describe it" in proc.stderr, proc.stderr
        assert "name 'python3-demo'" in proc.stderr, proc.stderr
        good = publish([tmp_path / "out"], repo, home)
        assert good.returncode == 0, good.stderr
        assert verify(repo).returncode == 0
        signature = subprocess.run(["rpm", "-qp", "--qf", "%{RSAHEADER:pgpsig}",
                                    str(repo / "yum/el9" / rpm.name)], capture_output=True,
                                   text=True, check=True).stdout
        assert signature.startswith("RSA/SHA256"), signature


def test_build_sign_for_el9_refuses_an_ed25519_key_before_building(tmp_path: Path,
                                                                    ed_home: Path) -> None:
    """`repack build --sign -t el9` with an ed25519 key: exit 10 before anything is
    resolved or built (the index is never asked)."""
    with LocalIndex() as index:
        proc = run_repack(["build", "--no-check", "demo==1.0", "-t", "el9", "--sign", "--gnupghome",
                           str(ed_home), "-o", str(tmp_path / "out")],
                          env={"PIP_INDEX_URL": index.url})
        assert proc.returncode == 10, proc.stderr
        assert "error: el9: " in proc.stderr and "ed25519" in proc.stderr, proc.stderr
        assert index.requests == []
    assert not (tmp_path / "out").exists()


def test_an_expired_key_is_named_as_expired(tmp_path: Path) -> None:
    with gnupg_home() as home:
        made = subprocess.run(
            ["gpg", "--homedir", str(home), "--batch", "--passphrase", "", "--pinentry-mode",
             "loopback", "--faked-system-time", "20200101T000000", "--quick-gen-key",
             "old <old@example.org>", "ed25519", "sign", "2d"],
            capture_output=True, text=True, check=True)
        listing = subprocess.run(["gpg", "--homedir", str(home), "--with-colons",
                                  "--list-secret-keys"], capture_output=True, text=True,
                                 check=True).stdout
        fpr = next(line.split(":")[9] for line in listing.splitlines()
                   if line.startswith("fpr:"))
        (home / "repack-keys.json").write_text(json.dumps({"published": [fpr]}))
        assert made.returncode == 0
        deb = make_deb(tmp_path / "out" / "debian-12", "python3-good", "1.0-0repack1~deb12")
        proc = publish([deb], tmp_path / "repo", home)
        assert proc.returncode == 10, proc.stderr
        assert f"key {fpr} expired on 2020-01-03" in proc.stderr, proc.stderr
        assert "gpg exec failed" not in proc.stderr


def test_a_gnupg_home_inside_the_repository_is_refused(tmp_path: Path, ed_home: Path) -> None:
    repo = tmp_path / "repo"
    inside = repo / "keys-here"
    shutil.copytree(ed_home, inside, ignore=shutil.ignore_patterns("S.*"))
    deb = make_deb(tmp_path / "out" / "debian-12", "python3-good", "1.0-0repack1~deb12")
    proc = publish([deb], repo, inside)
    assert proc.returncode == 2, proc.stderr
    assert "inside the repository" in proc.stderr
    assert not (repo / "apt").exists()
    subprocess.run(["gpgconf", "--homedir", str(inside), "--kill", "all"], check=False)


def agent_environ(home: Path) -> list[bytes]:
    """The environment of every running gpg-agent serving `home`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if cmdline and cmdline[0].endswith(b"gpg-agent") and \
                    str(home).encode() in b" ".join(cmdline):
                found.append((proc / "environ").read_bytes())
        except OSError:
            continue
    return found


def test_the_passphrase_stays_out_of_the_agents_environment(tmp_path: Path) -> None:
    secret = "agent must not keep this"
    with gnupg_home() as home:
        env = {"REPACK_PASSPHRASE": secret}
        gen = run_repack(["key", "generate", *EMAIL, "--algorithm", "ed25519", "--gnupghome",
                          str(home)], env=env)
        assert gen.returncode == 0, gen.stderr
        deb = make_deb(tmp_path / "out" / "debian-12", "python3-good", "1.0-0repack1~deb12")
        assert publish([deb], tmp_path / "repo", home, env=env).returncode == 0
        environs = agent_environ(home)
        assert environs, "gpg-agent was not running"
        assert not any(secret.encode() in e or b"REPACK_PASSPHRASE" in e for e in environs)


@pytest.mark.parametrize("served", ["repo", "parent"])
def test_serve_serves_only_the_published_entry_points(tmp_path: Path, ed_home: Path,
                                                      served: str) -> None:
    """A repository, or a directory of repositories side by side: only their apt/ yum/
    keys/ client/."""
    deb = make_deb(tmp_path / "out" / "debian-12", "python3-good", "1.0-0repack1~deb12")
    repo = tmp_path / "repo"
    assert publish([deb], repo, ed_home).returncode == 0
    (repo / "notes.txt").write_text("not for clients\n")
    (repo / "backup").mkdir()
    (repo / "backup" / "secring.gpg").write_text("secret\n")
    root = repo if served == "repo" else tmp_path
    prefix = "" if served == "repo" else "repo/"
    server = subprocess.Popen([sys.executable, "-m", "repack", "serve", str(root), "--port",
                               "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, cwd=ROOT, env={**os.environ, "REPACK_SERVE_QUIET": "1"})
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip().rstrip("/")

        def status(path: str) -> int:
            try:
                with urllib.request.urlopen(f"{url}/{path}") as resp:
                    return int(resp.status)
            except urllib.error.HTTPError as e:
                return e.code

        for public in ("keys/repack.asc", "apt/dists/bookworm/InRelease",
                       "client/repack-bookworm.sources"):
            assert status(prefix + public) == 200, public
        for hidden in ("notes.txt", "backup/secring.gpg", ".repack/lock",
                       ".repack/current/db/repo.json", "apt/../notes.txt", "", "apt"):
            assert status(prefix + hidden) == 404, hidden
        assert status(f"out/debian-12/{deb.name}") == 404       # in no repository
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_publish_refuses_a_package_without_its_own_provenance_record(tmp_path: Path,
                                                                     ed_home: Path) -> None:
    out = tmp_path / "out" / "debian-12"
    repo = tmp_path / "repo"
    bare = make_deb(out / "bare", "python3-bare", "1.0-0repack1~deb12", record=False)
    proc = publish([bare], repo, ed_home)
    assert proc.returncode == 6 and "no provenance record" in proc.stderr, proc.stderr
    # a record of another release (copied from 1.0 into a 2.0 package)
    other = make_deb(out / "other", "python3-good", "2.0-0repack1~deb12",
                     record=fake_record("good", "1.0"))
    proc = publish([other], repo, ed_home)
    assert proc.returncode == 6, proc.stderr
    assert "does not describe it" in proc.stderr and "version '2.0-0repack1~deb12'" in \
        proc.stderr, proc.stderr
    assert not (repo / "apt").exists()


def test_apt_module_patterns_follow_debian_policy() -> None:
    """The checks the tests above rely on, spelled out."""
    assert apt.NAME.fullmatch("python3-django") and apt.NAME.fullmatch("g++")
    for bad in ("../../..", "a/b", "-x", "A", ""):
        assert not apt.NAME.fullmatch(bad), bad
    assert apt.VERSION.fullmatch("3:4.2-0repack1~deb12")
    assert not apt.VERSION.fullmatch("1/../2")
