"""A build with no maintainer configured names the key its repository signs with: the
.deb's Maintainer and its changelog trailer are that key's user id (issue 15, item 5)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from localindex import LocalIndex
from repotools import gnupg_home  # type: ignore[import-not-found]
from sdists import default_files, make_sdist

from repack import keys

pytestmark = pytest.mark.integration


def test_a_deb_names_the_signing_keys_user_id(tmp_path: Path) -> None:
    nonce = str(time.time_ns()).encode()          # never a cache hit: a real build
    sdist = make_sdist(tmp_path / "sdists", "keyed-demo", "1.0",
                       {**default_files("keyed-demo", "1.0"), "NONCE": nonce})
    with gnupg_home() as home, LocalIndex() as index:
        fingerprint = keys.generate(home, name="Ops Team", email="ops@example.org",
                                    algorithm="ed25519")
        # the key found through [publish] gnupghome, as `repack publish` would sign with it
        (tmp_path / "repack.toml").write_text(f'[publish]\ngnupghome = "{home}"\n')
        index.add("keyed-demo", sdist.name, sdist.read_bytes())
        proc = run_repack(["build", "--no-check", "keyed-demo==1.0", "-t", "debian-12",
                           "-o", str(tmp_path / "out")],
                          env={"PIP_INDEX_URL": index.url, "DEBEMAIL": "", "DEBFULLNAME": "",
                               "XDG_CONFIG_HOME": str(tmp_path / "xdg")}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    err = " ".join(proc.stderr.split())
    assert (f"maintainer: Ops Team <ops@example.org> (from the signing key {fingerprint})"
            in err), err
    (deb,) = (tmp_path / "out" / "debian-12").glob("*.deb")
    maintainer = subprocess.run(["dpkg-deb", "-f", deb, "Maintainer"], capture_output=True,
                                text=True, check=True).stdout.strip()
    assert maintainer == "Ops Team <ops@example.org>"
    (dsc,) = (tmp_path / "out" / "debian-12").glob("*.dsc")
    assert "Maintainer: Ops Team <ops@example.org>\n" in dsc.read_text()
    (debian_tar,) = (tmp_path / "out" / "debian-12").glob("*.debian.tar.xz")
    listing = subprocess.run(["tar", "-xOJf", debian_tar, "debian/changelog"],
                             capture_output=True, text=True, check=True).stdout
    assert " -- Ops Team <ops@example.org>  " in listing, listing
