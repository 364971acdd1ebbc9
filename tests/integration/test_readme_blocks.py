"""README.md's blocks that need a container, run as written (issue 15, item 8):

- "apt-client": the Debian client set-up, verbatim but for its URL= line, in a clean
  Debian 12 container (no curl) against a repository published with the CLI and served by
  `repack serve`; it must end with repack's python3-django installed;
- "nginx": the server example must pass `nginx -t` (nginx from Debian's archive, a
  throw-away self-signed certificate at the paths the example names);
- "publish" and "serve": the signing and publishing walk-through as one shell script (a
  passphrase-protected RSA key, django 4.2 built and signed: a cache hit once test_debian or
  test_apt_repo built it, as they name the maintainer this key gives, conftest.README_MAINTAINER),
  /srv/repo being a temporary directory, then the serve and
  client-config lines against that repository (serve on a free port, not 8080).

tests/unit/test_readme.py checks that every other block is run elsewhere or says why not.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pytest
import readme  # type: ignore[import-not-found]
from conftest import ROOT, run_repack  # type: ignore[import-not-found]
from repotools import gnupg_home, make_deb  # type: ignore[import-not-found]

from repack.container.engine import Engine, Mount

pytestmark = pytest.mark.integration
DJANGO = "3:4.2-0repack1~deb12"      # the version the README's build gives, epoch included


def in_container(engine: Engine, image: str, script: str,
                 mounts: tuple[Mount, ...] = ()) -> str:
    """`script` in a clean container on the host's network (to reach `repack serve` on
    127.0.0.1 and Debian's archive); its whole output, which must end in success."""
    argv = engine.run_argv(image, ["sh", "-euxc", script], network="host", mounts=mounts)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    return log


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a signed repository holding a (tiny) python3-django, as `repack serve`
    serves it."""
    work = tmp_path_factory.mktemp("readme").resolve()
    make_deb(work / "out" / "debian-12", "python3-django", DJANGO)
    (work / "root").mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "repack", "serve", str(work / "root"),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, cwd=ROOT, env={**os.environ, "REPACK_SERVE_QUIET": "1"})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rstrip("/") + "/repo"
        with gnupg_home() as home:
            for args in (["key", "generate", "--email", "team@example.org", "--no-passphrase"],
                         ["publish", str(work / "out"), "--repo", str(work / "root" / "repo"),
                          "--url", url]):
                done = run_repack([*args, "--gnupghome", str(home)])
                assert done.returncode == 0, done.stderr
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_apt_client_steps_install_from_the_repository(
        served: str, container_engine: Engine, base_image: Callable[[str], str]) -> None:
    block = readme.block("apt-client")
    first, _, rest = block.text.partition("\n")
    assert re.fullmatch(r"URL=\S+\s+#.*", first), first      # the one line the test changes
    script = (f"URL={served}\n" + rest
              + "echo \"INSTALLED $(dpkg-query -W -f='${Version}' python3-django)\"\n")
    assert "curl" not in script and "wget" not in script
    image = base_image("debian-12")
    assert "no curl" in in_container(container_engine, image,
                                     "command -v curl wget python3 || echo no curl")
    log = in_container(container_engine, image, script)
    assert "NO_PUBKEY" not in log and "not signed" not in log, log
    assert f"{served}/apt bookworm InRelease" in log, log
    assert f"INSTALLED {DJANGO}" in log, log
    assert "W: Download is performed unsandboxed as root" in log, log   # as the README says


def test_the_nginx_example_passes_nginx_t(
        tmp_path: Path, container_engine: Engine, base_image: Callable[[str], str]) -> None:
    text = readme.block("nginx").text
    cert, key = (PurePosixPath(p) for p in re.findall(
        r"^\s*ssl_certificate(?:_key)?\s+(\S+);", text, re.MULTILINE))
    assert cert.parent == key.parent
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=packages.example.org", "-keyout", certs / key.name,
                    "-out", certs / cert.name], check=True, capture_output=True)
    (tmp_path / "repack.conf").write_text(text)
    log = in_container(
        container_engine, base_image("debian-12"),
        "apt-get update -q >/dev/null\n"
        "apt-get install -y -q --no-install-recommends nginx-light >/dev/null\n"
        "nginx -t\n"
        "echo \"SERVERS $(nginx -T 2>/dev/null | grep -c 'server_name packages.example.org;')\"\n"
        # the check has teeth: without its certificate lines (the README before) it fails
        "sed /ssl_certificate/d /etc/nginx/conf.d/repack.conf > /tmp/old.conf\n"
        "echo 'events {} http { include /tmp/old.conf; }' > /tmp/nginx.conf\n"
        "nginx -t -c /tmp/nginx.conf || echo OLD-REFUSED\n",
        mounts=(Mount(source=certs, target=str(cert.parent), readonly=True),
                Mount(source=tmp_path / "repack.conf", target="/etc/nginx/conf.d/repack.conf",
                      readonly=True)))
    assert "nginx: configuration file /etc/nginx/nginx.conf test is successful" in log, log
    assert "SERVERS 1\n" in log, log
    assert 'no "ssl_certificate" is defined' in log and "OLD-REFUSED" in log, log


@pytest.fixture(scope="module")
def walked_through(tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[Path, str, str]]:
    """The "publish" block run by sh in an empty directory (its repository there, its
    GnuPG home the default one under a temporary XDG_DATA_HOME); (directory, stdout,
    stderr with the trace)."""
    work = tmp_path_factory.mktemp("walk").resolve()
    home = work / "data" / "repack" / "gnupg"
    script = readme.block("publish").text.replace("/srv/repo", str(work / "srv-repo"))
    env = {**os.environ, "XDG_DATA_HOME": str(work / "data"),
           "XDG_CONFIG_HOME": str(work / "config"), "REPACK_PASSPHRASE": "...",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    try:
        proc = subprocess.run(["sh", "-euxc", script], cwd=work, env=env, capture_output=True,
                              text=True, timeout=1800, check=False)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False,
                       capture_output=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    yield work, proc.stdout, proc.stderr


def test_the_publishing_walk_through_runs_as_written(
        walked_through: tuple[Path, str, str]) -> None:
    work, out, err = walked_through
    assert "signatures, hashes and expiry are good" in err, err
    django = r"python3-django +3:4\.2-0repack1~deb12"
    assert re.search(rf"^{django} +debian-12 +bookworm ", out, re.MULTILINE), out
    assert re.search(rf"^would remove bookworm: {django} ", out, re.MULTILINE), out
    assert "python3-django" not in run_repack(
        ["repo", "list", "--repo", str(work / "srv-repo")]).stdout      # removed at the end


def test_the_serve_and_client_config_lines(walked_through: tuple[Path, str, str]) -> None:
    work, _, _ = walked_through
    lines = readme.block("serve").text.replace("/srv/repo", str(work / "srv-repo"))
    serve, config = (ln.partition("#")[0].split() for ln in lines.splitlines())
    assert serve[:2] == ["repack", "serve"] and serve[-2:] == ["--port", "8080"]
    done = subprocess.run([sys.executable, "-m", "repack", *config[1:]], cwd=work,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    written = (work / "client" / "repack-bookworm.sources").read_text()
    assert "URIs: https://packages.example.org/apt" in written, written
    proc = subprocess.Popen([sys.executable, "-m", "repack", *serve[1:-1], "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "REPACK_SERVE_QUIET": "1"})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rstrip("/")
        with urllib.request.urlopen(f"{url}/client/repack-bookworm.sources") as answer:
            assert answer.read().decode() == written
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{url}/.repack/lock")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
