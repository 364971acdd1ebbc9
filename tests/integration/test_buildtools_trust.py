"""Build tools from the index meet the trust policy like sdists (issue 14, item 2).

A build backend the archive lacks (`flit_core>=3.9` on Debian 12) is fetched from the
index as a wheel and runs in the builder: it writes the package.  Here a hostile loopback
index serves a *trojan* flit_core 3.9.1 (made below: a working PEP 517 backend that rewrites
the project's files) and a second index serves the real flit_core 3.9.0 wheel from PyPI,
signed with a real OpenPGP key made in a throw-away GNUPGHOME.  Through the real CLI:

- without a policy for flit-core the trojan builds the package, and `repack explain` now
  says so (the tool, its sha256, verified by the index's sha256 only);
- a `[trust.projects.flit-core]` rule, `--require-signature` and `--deny-vulnerable` each
  refuse the trojan with exit 11 naming the build tool, before it is installed;
- the signed real backend builds, the package records it (`pgp:<FPR>`), and a cached build
  is not reused once the policy refuses its backend.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from debian.debfile import DebFile
from localindex import LocalIndex
from sdists import make_sdist
from test_trust import gpg, new_key  # type: ignore[import-not-found]
from wheels import make_wheel

pytestmark = [pytest.mark.integration, pytest.mark.network]

PYPROJECT = """\
[build-system]
requires = ["flit_core>=3.9,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "{name}"
version = "1.0"
description = "A tiny package built with a flit_core newer than Debian 12's"
license = {{text = "MIT"}}
requires-python = ">=3.8"
dependencies = []
"""

# A working PEP 517 backend that packs the project's module, and rewrites it on the way.
TROJAN_BUILDAPI = '''\
import base64, hashlib, os, tomllib, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def _line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    module, version = project["name"].replace("-", "_"), project["version"]
    files = {}
    for root, _, names in os.walk(module):
        for n in names:
            with open(os.path.join(root, n), "rb") as fh:
                files[os.path.join(root, n)] = fh.read()
    files[module + "/__init__.py"] = b"TROJAN = 'written by the build backend'\\n"
    dist = f"{module}-{version}.dist-info"
    files[dist + "/METADATA"] = (f"Metadata-Version: 2.1\\nName: {project['name']}\\n"
                                 f"Version: {version}\\nSummary: trojaned\\n").encode()
    files[dist + "/WHEEL"] = (b"Wheel-Version: 1.0\\nGenerator: trojan\\n"
                              b"Root-Is-Purelib: true\\nTag: py3-none-any\\n")
    record = [_line(n, d) for n, d in files.items()] + [dist + "/RECORD,,"]
    files[dist + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
    wheel = f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return wheel
'''


@dataclass
class Tools:
    trojan: LocalIndex            # trojan-app and the trojan flit_core 3.9.1 (unsigned)
    good: LocalIndex              # toolsigned-app and the real flit_core 3.9.0, signed
    root: Path                    # policy files + trusted-keys/
    fpr: str                      # the key that signs flit_core
    other: str                    # a key the policy allows for toolsigned-app only
    home: Path

    def policy(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def build(self, index: LocalIndex, req: str, config: Path, out: Path,
              *extra: str) -> subprocess.CompletedProcess[str]:
        return run_repack(["build", "--no-check",
                           req, "-t", "debian-12", "-o", str(out), "--config",
                           str(config), *extra], env={"PIP_INDEX_URL": index.url})


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tools]:
    tmp = tmp_path_factory.mktemp("buildtools")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary",
                    ":all:", "--no-deps", "-d", tmp / "pypi", "flit_core==3.9.0"], check=True)
    (real,) = (tmp / "pypi").glob("flit_core-3.9.0-*.whl")
    trojan = make_wheel(tmp / "trojan", "flit_core", "3.9.1", {
        "flit_core/__init__.py": b'__version__ = "3.9.1"\n',
        "flit_core/buildapi.py": TROJAN_BUILDAPI.encode()})
    home = Path(tempfile.mkdtemp(prefix="rp-gpg-"))   # short: gpg-agent's socket path
    try:
        fpr = new_key(home, "Flit Signer <flit@example.org>")
        other = new_key(home, "App Upstream <app@example.org>")
        with LocalIndex() as bad, LocalIndex() as good:
            t = Tools(trojan=bad, good=good, root=tmp / "project", fpr=fpr, other=other,
                      home=home)
            t.root.mkdir()
            nonce = str(time.time_ns()).encode()   # fresh sdists: no earlier build answers
            for index, name in ((bad, "trojan-app"), (good, "toolsigned-app")):
                sdist = make_sdist(tmp / "sdists", name, "1.0", {
                    "pyproject.toml": PYPROJECT.format(name=name).encode(), "NONCE": nonce})
                index.add(name, sdist.name, sdist.read_bytes(), signature=gpg(
                    home, "--local-user", other, "--armor", "--detach-sign", "--output", "-",
                    str(sdist)))
            bad.add("flit-core", trojan.name, trojan.read_bytes())
            good.add("flit-core", real.name, real.read_bytes(), signature=gpg(
                home, "--local-user", fpr, "--armor", "--detach-sign", "--output", "-",
                str(real)))
            setup = t.policy("repack.toml", "")
            for project, key in (("flit-core", fpr), ("toolsigned-app", other)):
                keyfile = tmp / f"{key}.asc"
                keyfile.write_bytes(gpg(home, "--armor", "--export", key))
                proc = run_repack(["trust", "add-key", project, str(keyfile), "--config",
                                   str(setup)])
                assert proc.returncode == 0, proc.stderr
            yield t
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)


def _refused(proc: subprocess.CompletedProcess[str], out: Path, why: str) -> None:
    assert proc.returncode == 11, proc.stderr
    error = next(ln for ln in proc.stderr.splitlines() if ln.startswith("error: "))
    assert error.startswith("error: trojan-app: build tool flit-core 3.9.1 refused: "), error
    assert why in error, error
    assert "Installing build tools" not in proc.stderr   # refused before it could run
    assert not any(out.rglob("*.deb"))


def test_rule_for_the_backend_refuses_an_unsigned_one(tools: Tools, tmp_path: Path) -> None:
    config = tools.policy("rule.toml", f'[trust.projects.flit-core]\npgp = ["{tools.fpr}"]\n')
    proc = tools.build(tools.trojan, "trojan-app==1.0", config, tmp_path / "out")
    _refused(proc, tmp_path / "out", "flit_core-3.9.1-py3-none-any.whl: the policy requires a "
                                     "verified pgp; no OpenPGP signature")


def test_rule_for_the_backend_refuses_another_keys_signature(tools: Tools,
                                                             tmp_path: Path) -> None:
    """The trojan, signed by a key the policy allows for another project only."""
    index = LocalIndex().start()
    try:
        trojan = tools.trojan.project("flit-core").files[0]   # type: ignore[union-attr]
        data = trojan.path.read_bytes()
        index.add("flit-core", trojan.filename, data, signature=gpg(
            tools.home, "--local-user", tools.other, "--armor", "--detach-sign", "--output",
            "-", str(trojan.path)))
        app = tools.trojan.project("trojan-app").files[0]   # type: ignore[union-attr]
        index.add("trojan-app", app.filename, app.path.read_bytes())
        config = tools.policy("rule-other.toml",
                              f'[trust.projects.flit-core]\npgp = ["{tools.fpr}"]\n')
        proc = tools.build(index, "trojan-app==1.0", config, tmp_path / "out")
    finally:
        index.close()
    _refused(proc, tmp_path / "out", tools.other)


def test_require_signature_covers_build_tools(tools: Tools, tmp_path: Path) -> None:
    """The sdist itself passes (its rule, a good signature); its backend has no rule."""
    config = tools.policy("require.toml", f'[trust.projects.trojan-app]\n'
                                          f'pgp = ["{tools.other}"]\n')
    proc = tools.build(tools.trojan, "trojan-app==1.0", config, tmp_path / "out",
                       "--require-signature")
    assert f"trojan-app: trojan_app-1.0.tar.gz verified: pgp:{tools.other}" in proc.stderr
    _refused(proc, tmp_path / "out", "flit_core-3.9.1-py3-none-any.whl carries no verified "
                                     "signature or attestation (--require-signature)")


def test_deny_vulnerable_covers_build_tools(tools: Tools, tmp_path: Path) -> None:
    tools.trojan.add_vulnerability("flit-core", "3.9.1", id="GHSA-tttt-rrrr-jjjj",
                                   fixed_in=["3.9.2"], summary="trojan")
    try:
        proc = tools.build(tools.trojan, "trojan-app==1.0", tools.policy("none.toml", ""),
                           tmp_path / "out", "--deny-vulnerable")
    finally:
        tools.trojan.vulnerabilities.clear()
    _refused(proc, tmp_path / "out", "3.9.1 has 1 known vulnerability: GHSA-tttt-rrrr-jjjj "
                                     "(fixed in 3.9.2); refused (--deny-vulnerable)")


def _explain(deb: Path) -> str:
    proc = run_repack(["explain", str(deb)])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _explain_json(deb: Path) -> dict[str, object]:
    proc = run_repack(["explain", "--json", str(deb)])
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)[str(deb)]
    assert isinstance(record, dict)
    return record


def test_without_a_policy_the_trojan_writes_the_package_and_explain_says_so(
        tools: Tools, tmp_path: Path) -> None:
    """What the policy is for: the backend, not the sdist, wrote the installed files."""
    out = tmp_path / "out"
    proc = tools.build(tools.trojan, "trojan-app==1.0", tools.policy("none.toml", ""), out)
    assert proc.returncode == 0, proc.stderr
    (deb,) = (out / "debian-12").glob("*.deb")
    with DebFile(str(deb)) as pkg:
        init = pkg.data.get_content("usr/lib/python3/dist-packages/trojan_app/__init__.py")
    assert init == b"TROJAN = 'written by the build backend'\n"
    text = _explain(deb)
    assert "build tools from the index: 1" in text
    assert "flit-core 3.9.1 (flit_core-3.9.1-py3-none-any.whl)" in text
    block = text.split("flit-core 3.9.1", 1)[1]
    assert "verified:  sha256:index\n" in block + "\n"
    (tool,) = _explain_json(deb)["build_tools"]  # type: ignore[misc]
    trojan = tools.trojan.project("flit-core").files[0]   # type: ignore[union-attr]
    assert tool["sha256"] == trojan.hashes["sha256"]


def test_signed_backend_builds_records_its_signature_and_guards_the_cache(
        tools: Tools, tmp_path: Path) -> None:
    good = tools.policy("good.toml", f'[trust.projects.flit-core]\npgp = ["{tools.fpr}"]\n')
    out = tmp_path / "out"
    proc = tools.build(tools.good, "toolsigned-app==1.0", good, out)
    assert proc.returncode == 0, proc.stderr
    assert f"flit-core: flit_core-3.9.0-py3-none-any.whl verified: pgp:{tools.fpr}" \
        in proc.stderr
    assert "Installing build tools flit-core==3.9.0" in proc.stderr
    (deb,) = (out / "debian-12").glob("*.deb")
    text = _explain(deb)
    assert "upstream:  toolsigned-app 1.0 (toolsigned_app-1.0.tar.gz)" in text
    assert "flit-core 3.9.0 (flit_core-3.9.0-py3-none-any.whl)" in text
    assert f"verified:  sha256:index, pgp:{tools.fpr}" in text.split("build tools", 1)[1]
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True,
                            text=True).stdout
    assert f"Repack-Build-Tools: flit-core 3.9.0 (sha256:index pgp:{tools.fpr})" in fields
    (tool,) = _explain_json(deb)["build_tools"]  # type: ignore[misc]
    real = tools.good.project("flit-core").files[0]   # type: ignore[union-attr]
    assert tool["sha256"] == real.hashes["sha256"]
    assert tool["verified"][-1] == f"pgp:{tools.fpr}"

    # The same build again is served from the cache...
    again = tools.build(tools.good, "toolsigned-app==1.0", good, tmp_path / "again")
    assert again.returncode == 0, again.stderr
    assert "up to date: reusing the build cached" in again.stderr
    # ...but not once the policy no longer accepts its backend.
    strict = tools.policy("strict.toml",
                          f'[trust.projects.flit-core]\npgp = ["{tools.other}"]\n')
    refused = tools.build(tools.good, "toolsigned-app==1.0", strict, tmp_path / "strict")
    assert refused.returncode == 11, refused.stderr
    assert "error: toolsigned-app: build tool flit-core 3.9.0 refused" in refused.stderr
    assert "up to date" not in refused.stderr
    assert not any((tmp_path / "strict").rglob("*.deb"))


def test_lock_pins_the_build_tools(tools: Tools, tmp_path: Path) -> None:
    good = tools.policy("good.toml", f'[trust.projects.flit-core]\npgp = ["{tools.fpr}"]\n')
    env = {"PIP_INDEX_URL": tools.good.url}
    lock = tmp_path / "repack.lock"
    proc = run_repack(["lock", "toolsigned-app==1.0", "-t", "debian-12", "-t", "el9",
                       "-o", str(lock), "--config", str(good)], env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"flit-core: flit_core-3.9.0-py3-none-any.whl verified: pgp:{tools.fpr}" \
        in proc.stderr   # the lock pins only what the policy accepts
    data = tomllib.loads(lock.read_text())
    assert data["version"] == 2
    real = tools.good.project("flit-core").files[0]   # type: ignore[union-attr]
    # Debian 12's archive has flit 3.8, the el9 builder's Python none: both need the wheel.
    assert [t["id"] for t in data["targets"]] == ["debian-12", "el9"]
    for target in data["targets"]:
        (package,) = target["packages"]
        assert package["build_tools"] == [{"name": "flit-core", "version": "3.9.0",
                                           "filename": "flit_core-3.9.0-py3-none-any.whl",
                                           "sha256": real.hashes["sha256"]}]

    def build(text: str, out: str) -> subprocess.CompletedProcess[str]:
        path = tmp_path / f"{out}.lock"
        path.write_text(text)
        return run_repack(["build", "--no-check", "--lock", str(path), "-o", str(tmp_path / out),
                           "--config", str(good)], env=env)

    ok = build(lock.read_text(), "ok")
    assert ok.returncode == 0, ok.stderr
    assert any((tmp_path / "ok" / "debian-12").glob("*.deb"))
    (rpm,) = (tmp_path / "ok" / "el9").glob("*.noarch.rpm")
    text = _explain(rpm)          # the rpm side records its build tools too, and the pin
    assert "flit-core 3.9.0 (flit_core-3.9.0-py3-none-any.whl)" in text
    assert f"verified:  sha256:index, sha256:pin, pgp:{tools.fpr}" in \
        text.split("build tools", 1)[1]

    other = build(lock.read_text().replace(real.hashes["sha256"], "0" * 64), "other")
    assert other.returncode == 4, other.stderr
    assert (f"error: toolsigned-app: the index offers build tool flit_core-3.9.0-py3-none-any.whl "
            f"sha256:{real.hashes['sha256']}; the lock file pins sha256:{'0' * 64}") \
        in other.stderr
    unlisted = build(re.sub(r"build_tools = \[\n.*?\n\]", "build_tools = []",
                            lock.read_text(), flags=re.DOTALL), "unlisted")
    assert unlisted.returncode == 4, unlisted.stderr
    assert "(toolsigned-app: build tool flit_core<4,>=3.9 is not in the lock file)" \
        in unlisted.stderr
    for failed in ("other", "unlisted"):
        assert not any((tmp_path / failed).rglob("*.deb"))
