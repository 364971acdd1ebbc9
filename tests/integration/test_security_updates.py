"""Security updates as the real clients see them.

One repository: python3-demo 1.0 published first, then 1.1 (fixes a GHSA with a CVE
alias) and 1.2 (fixes nothing), as .debs for debian-12 and .rpms for el9, each carrying a
repack provenance record (tests/securitykit.py).  Then:

- apt in a clean Debian 12 container, knowing only the generated .sources and keyring,
  sees 1.1 in the signed bookworm-security suite, and unattended-upgrades with the
  README's Origins-Pattern takes the security update (1.1) alone, not 1.2;
- dnf, with only the generated .repo, lists the advisory (`updateinfo list --security`,
  `--cve`) while 1.0 is installed; `upgrade-minimal --security` installs 1.1 and
  `upgrade --security` the newest version (dnf's documented semantics).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import readme  # type: ignore[import-not-found]
from repotools import gnupg_home, new_key  # type: ignore[import-not-found]
from rpmkit import python_stub, stop_agent  # type: ignore[import-not-found]
from securitykit import CVE, FIX, GHSA, deb_with_record, record, rpm_with_record  # type: ignore[import-not-found]

from repack import keys
from repack.container.engine import Engine, Mount
from repack.publish import publisher

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("dnf", "rpmbuild", "createrepo_c", "dpkg-deb")),
    reason="needs dnf, rpm, createrepo-c and dpkg-dev (./x.py setup installs them)")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("security")
    root = (work / "repo").resolve()
    with gnupg_home() as home:
        new_key(home, algorithm="rsa4096")        # el9: RSA (EL9 cannot verify ed25519)
        opts = publisher.Options(repo=root, gnupghome=home, signer=keys.signer(home),
                                 url=root.as_uri())
        first, second = work / "first", work / "second"
        deb_with_record(first / "debian-12", "python3-demo", "1.0-1", record("1.0"))
        (first / "el9").mkdir()
        shutil.copy(rpm_with_record(work, "python3-demo", "1.0", record("1.0")), first / "el9")
        shutil.copy(python_stub(work), first / "el9")
        publisher.publish([first], opts)
        deb_with_record(second / "debian-12", "python3-demo", "1.1-1", record("1.1", [FIX]))
        deb_with_record(second / "debian-12", "python3-demo", "1.2-1", record("1.2"))
        (second / "el9").mkdir()
        for version, fixes in (("1.1", [FIX]), ("1.2", [])):
            shutil.copy(rpm_with_record(work, "python3-demo", version,
                                        record(version, fixes)), second / "el9")
        added = publisher.publish([second], opts)
        assert "bookworm-security: python3-demo 1.1-1" in added, added
        yield root


APT_SCRIPT = r"""
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends unattended-upgrades >/dev/null
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
cp "$REPO/keys/repack.gpg" /etc/apt/keyrings/repack.gpg
cp "$REPO/client/repack-bookworm.sources" /etc/apt/sources.list.d/repack.sources
apt-get update
apt-get install -y python3-demo=1.0-1
apt-cache policy
apt-cache policy python3-demo
cat > /etc/apt/apt.conf.d/51repack <<'EOF'
#clear Unattended-Upgrade::Origins-Pattern;
@README@EOF
unattended-upgrade -d
echo "INSTALLED $(dpkg-query -W -f='${Version}' python3-demo)"
""".replace("@README@", readme.block("unattended-upgrades").text)   # Debian's own cleared


def test_apt_and_unattended_upgrades_take_the_security_suite(
        repo: Path, container_engine: Engine, base_image: Callable[[str], str]) -> None:
    sources = (repo / "client" / "repack-bookworm.sources").read_text()
    assert "Suites: bookworm bookworm-security\n" in sources
    argv = container_engine.run_argv(
        base_image("debian-12"), ["sh", "-euxc", APT_SCRIPT], network=True,
        env={"REPO": str(repo)}, mounts=[Mount(source=repo, target=str(repo), readonly=True)])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    url = f"file:{repo}/apt"
    assert f"{url} bookworm-security InRelease" in log, log        # signed: no warnings
    assert "W: " not in log and "NO_PUBKEY" not in log, log
    assert f"     1.1-1 500\n        500 {url} bookworm/main amd64 Packages\n" \
           f"        500 {url} bookworm-security/main amd64 Packages\n" in log, log
    # what an Origins-Pattern matches against: o(rigin), a(rchive = Suite), n (Codename), l
    assert "release o=repack,a=bookworm-security,n=bookworm-security,l=repack,c=main" in log, log
    assert "Allowed origins are: origin=repack,codename=bookworm-security" in log, log
    assert "Packages that will be upgraded: python3-demo" in log, log
    assert "INSTALLED 1.1-1" in log, log      # the security update, not 1.2-1


def dnf(repo: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """dnf into an installroot, knowing only the generated client/repack-el9.repo."""
    repos = root.parent / "repos.d"
    repos.mkdir(parents=True, exist_ok=True)
    shutil.copy(repo / "client" / "repack-el9.repo", repos / "repack.repo")
    try:
        return subprocess.run(
            ["dnf", f"--installroot={root}", f"--setopt=reposdir={repos}", "--releasever=9",
             "--setopt=install_weak_deps=False", "--setopt=skip_if_unavailable=False", "-y",
             *args], capture_output=True, text=True, timeout=300, check=False)
    finally:
        for pubring in (root / "var/cache/dnf").glob("*/pubring"):
            stop_agent(pubring)


def test_dnf_sees_and_applies_the_security_update(repo: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    proc = dnf(repo, root, "install", "python3-demo-1.0", "python3-stub")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    listed = dnf(repo, root, "updateinfo", "list", "--security")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    (line,) = [ln for ln in listed.stdout.splitlines() if "python3-demo" in ln]
    assert line.split()[0].endswith("-python3-demo-1.1-1"), listed.stdout
    assert line.split()[-1] == "python3-demo-1.1-1.noarch", listed.stdout
    info = dnf(repo, root, "updateinfo", "info", "--security")
    assert CVE in info.stdout and GHSA in info.stdout and "Type: security" in info.stdout, \
        info.stdout
    cve = dnf(repo, root, "updateinfo", "list", "--cve", CVE)
    assert "python3-demo-1.1-1.noarch" in cve.stdout, cve.stdout + cve.stderr

    # dnf's semantics: upgrade-minimal takes the advisory's version, upgrade --security the
    # newest version of each package that has a security update
    for command, version, where in (("upgrade-minimal", "1.1", root),
                                    ("upgrade", "1.2", tmp_path / "root2")):
        if where != root:
            proc = dnf(repo, where, "install", "python3-demo-1.0", "python3-stub")
            assert proc.returncode == 0, proc.stdout + proc.stderr
        upgraded = dnf(repo, where, command, "--security")
        assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
        out = subprocess.run(["rpm", "--root", str(where), "-q", "python3-demo"],
                             capture_output=True, text=True, check=False).stdout
        assert out.strip() == f"python3-demo-{version}-1.noarch", upgraded.stdout + out
    nothing = dnf(repo, root, "upgrade", "--security")      # 1.1 has no advisory left
    assert "No security updates needed" in nothing.stdout + nothing.stderr, nothing.stdout
