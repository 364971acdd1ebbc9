"""Bad and hostile input through the real CLI: every refusal has its documented exit code,
one `error:` line naming the project and the problem, and leaves no file in -o.

Each case crafts an sdist (tests/sdists.py, or tarfile by hand for hostile archives),
serves it from a LocalIndex on loopback and runs ``python -m repack build``.

The failing cases run with an empty throw-away REPACK_CACHE_DIR: every one of them is
refused before a builder image is needed (a bad sdist is rejected before the image is
bootstrapped), so none starts a container.  The one success case (hostile but valid
metadata) really builds, in the default cache.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import subprocess
import tarfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import run_repack  # type: ignore[import-not-found]
from debian.deb822 import Deb822
from localindex import LocalIndex
from sdists import make_sdist, pkg_info_text, sdist_stem

from repack.unpack import DEFAULT_MAX_BYTES

pytestmark = pytest.mark.integration

OTHER_SHA = hashlib.sha256(b"some other file").hexdigest()
BOMB_BYTES = 1127 << 20          # > 1.1 GiB of zeros, over the 1 GiB default cap
assert BOMB_BYTES > 1.1 * (1 << 30) and BOMB_BYTES > DEFAULT_MAX_BYTES


# --------------------------------------------------------------------------- helpers

@pytest.fixture
def index() -> Iterator[LocalIndex]:
    with LocalIndex() as idx:
        yield idx


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A per-test empty cache: no builder image in it, so a case that wrongly got as far
    as building would have to bootstrap one (and the test would take minutes, not ms)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    return cache


def repack_build(index: LocalIndex, args: Sequence[str], out: Path,
                 cache: Path | None) -> subprocess.CompletedProcess[str]:
    env = {"PIP_INDEX_URL": index.url}
    if cache is not None:
        env["REPACK_CACHE_DIR"] = str(cache)
    return run_repack(["build", "--no-check", *args, "-o", str(out)], env=env)


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one `error:` line of stderr; only `hint:` lines may follow it."""
    lines = proc.stderr.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert all(line.startswith("hint: ") for line in lines[errors[0] + 1:]), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    print(f"exit {proc.returncode}: {lines[errors[0]]}")
    return lines[errors[0]]


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if not p.is_dir()] if path.exists() else []


def assert_refused(proc: subprocess.CompletedProcess[str], code: int, out: Path, project: str,
                   *words: str, cache: Path | None = None) -> str:
    assert proc.returncode == code, f"exit {proc.returncode}, wanted {code}\n{proc.stderr}"
    line = error_line(proc)
    assert line.startswith(f"error: {project}: "), line
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"
    assert files_under(out) == [], files_under(out)
    if cache is not None:
        # nothing half-done in the cache either: no unverified download, no work dir
        assert files_under(cache / "work") == []
        assert [p for p in files_under(cache / "sdists")
                if p.name.startswith(".unverified-")] == []
    return line


def publish(index: LocalIndex, archive: Path, project: str, **kw: Any) -> None:
    index.add(project, archive.name, archive.read_bytes(), **kw)


Member = tuple[tarfile.TarInfo, bytes]


def base_members(tmp: Path, name: str, version: str) -> list[Member]:
    """The members of a normal, buildable sdist (make_sdist), in order."""
    archive = make_sdist(tmp / "base", name, version, {})
    members = []
    with tarfile.open(archive) as tar:
        for info in tar.getmembers():
            f = tar.extractfile(info) if info.isreg() else None
            members.append((info, f.read() if f else b""))
    return members


def tar_gz(path: Path, members: Sequence[Member]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if info.isreg():
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def entry(name: str, data: bytes = b"", *, kind: bytes = tarfile.REGTYPE,
          link: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.mtime = 1_700_000_000
    return info, data


def hostile_sdist(tmp: Path, name: str, extra: Sequence[Member], version: str = "1.0") -> Path:
    """A valid sdist plus `extra` members: the extra members are its only problem."""
    members = base_members(tmp, name, version) + list(extra)
    return tar_gz(tmp / "hostile" / f"{sdist_stem(name, version)}.tar.gz", members)


def write_bomb(path: Path, name: str, version: str, size: int) -> Path:
    """A real gzip bomb, cheaply: a valid sdist then a member of `size` zero bytes.

    The zeros are one 1 MiB gzip member repeated (RFC 1952 allows concatenated
    members; gzip, tar and Python decompress the whole stream), so the file is about
    1 MB and takes milliseconds to write, yet `gzip -dc | tar x` would write `size`
    bytes.  Padding and the end-of-archive blocks make it a well-formed tar stream.
    """
    head = io.BytesIO()
    for info, data in base_members(path.parent / "base", name, version):
        head.write(info.tobuf(tarfile.PAX_FORMAT))
        head.write(data + b"\0" * (-len(data) % tarfile.BLOCKSIZE))
    bomb, _ = entry(f"{sdist_stem(name, version)}/zeros.bin")
    bomb.size = size
    head.write(bomb.tobuf(tarfile.PAX_FORMAT))
    assert size % (1 << 20) == 0
    mib = gzip.compress(bytes(1 << 20), compresslevel=9, mtime=0)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(head.getvalue(), mtime=0))
        for _ in range(size >> 20):
            fh.write(mib)
        fh.write(gzip.compress(bytes(2 * tarfile.BLOCKSIZE), mtime=0))
    return path


# --------------------------------------------------------------------------- the index

def test_unknown_project(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    publish(index, make_sdist(tmp_path, "some-other", "1.0", {}), "some-other")
    out = tmp_path / "out"
    proc = repack_build(index, ["no-such-project==1.0"], out, cache)
    assert_refused(proc, 3, out, "no-such-project", "not found", index.url, cache=cache)
    assert index.downloads() == []


def test_unknown_version(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    publish(index, make_sdist(tmp_path, "bad-version", "1.0", {}), "bad-version")
    out = tmp_path / "out"
    proc = repack_build(index, ["bad-version==9.9"], out, cache)
    assert_refused(proc, 3, out, "bad-version", "no release matches", "9.9", cache=cache)
    assert index.downloads() == []


def test_version_without_sdist(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    index.add("wheel-only", "wheel_only-1.0-py3-none-any.whl", b"PK\x05\x06" + bytes(18))
    out = tmp_path / "out"
    proc = repack_build(index, ["wheel-only==1.0"], out, cache)
    assert_refused(proc, 3, out, "wheel-only", "1.0 has only wheels, no sdist", cache=cache)
    assert index.downloads() == []


def test_requires_python_on_index_excludes_target(index: LocalIndex, cache: Path,
                                                  tmp_path: Path) -> None:
    archive = make_sdist(tmp_path, "future-py", "1.0", {}, requires_python=">=3.99")
    publish(index, archive, "future-py", requires_python=">=3.99")
    out = tmp_path / "out"
    proc = repack_build(index, ["future-py==1.0"], out, cache)
    # the index has it, the target cannot take it: exit 7, not "not on the index" (3)
    assert_refused(proc, 7, out, "future-py", "future-py==1.0 requires Python >=3.99",
                   "Debian 12 (bookworm) has 3.11.2", "no release on the index admits it",
                   cache=cache)
    assert index.downloads() == []


def test_requires_python_in_pkg_info_excludes_target(index: LocalIndex, cache: Path,
                                                     tmp_path: Path) -> None:
    """The index does not say (as old uploads do); the sdist's own metadata does."""
    archive = make_sdist(tmp_path, "future-meta", "1.0", {}, requires_python=">=3.99")
    publish(index, archive, "future-meta")
    out = tmp_path / "out"
    proc = repack_build(index, ["future-meta==1.0"], out, cache)
    assert_refused(proc, 7, out, "future-meta", "Requires-Python '>=3.99' excludes Python 3.11.2",
                   cache=cache)


# --------------------------------------------------------------------------- integrity

def test_index_hash_does_not_match_file(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    archive = make_sdist(tmp_path, "bad-digest", "1.0", {})
    publish(index, archive, "bad-digest", sha256=OTHER_SHA)
    out = tmp_path / "out"
    proc = repack_build(index, ["bad-digest==1.0"], out, cache)
    actual = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert_refused(proc, 4, out, "bad-digest", "sha256 mismatch", archive.name,
                   f"expected sha256:{OTHER_SHA}", f"got sha256:{actual}", cache=cache)
    assert len(index.downloads()) == 1
    assert files_under(cache / "sdists") == []      # the bad download is gone


def test_pin_does_not_match(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    archive = make_sdist(tmp_path, "bad-pin", "1.0", {})
    publish(index, archive, "bad-pin")
    out = tmp_path / "out"
    proc = repack_build(index, ["bad-pin==1.0", "--hash", f"sha256:{OTHER_SHA}"], out, cache)
    assert_refused(proc, 4, out, "bad-pin", "matches none of the pinned hashes", archive.name,
                   OTHER_SHA, cache=cache)
    assert index.downloads() == []                   # refused before downloading


def test_pin_in_requirements_file_does_not_match(index: LocalIndex, cache: Path,
                                                 tmp_path: Path) -> None:
    archive = make_sdist(tmp_path, "bad-pin-file", "1.0", {})
    publish(index, archive, "bad-pin-file")
    reqs = tmp_path / "requirements.txt"
    reqs.write_text(f"# pinned\nbad-pin-file==1.0 \\\n    --hash=sha256:{OTHER_SHA}\n")
    out = tmp_path / "out"
    proc = repack_build(index, ["-r", str(reqs)], out, cache)
    assert_refused(proc, 4, out, "bad-pin-file", "matches none of the pinned hashes",
                   OTHER_SHA, cache=cache)
    assert index.downloads() == []


# --------------------------------------------------------------------------- archives

def test_corrupt_archive(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    archive = tmp_path / "bad_corrupt-1.0.tar.gz"
    archive.write_bytes(random.Random(0).randbytes(4096))
    publish(index, archive, "bad-corrupt")
    out = tmp_path / "out"
    proc = repack_build(index, ["bad-corrupt==1.0"], out, cache)
    assert_refused(proc, 5, out, "bad-corrupt", "corrupt archive", archive.name, cache=cache)


def test_absolute_path_member(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    victim = Path(f"/tmp/repack-test-absolute-{uuid.uuid4().hex}")
    archive = hostile_sdist(tmp_path, "bad-absolute", [entry(str(victim), b"pwned\n")])
    publish(index, archive, "bad-absolute")
    out = tmp_path / "out"
    proc = repack_build(index, ["bad-absolute==1.0"], out, cache)
    assert_refused(proc, 5, out, "bad-absolute", str(victim), "absolute path", cache=cache)
    assert not victim.exists()


def test_dotdot_member(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    evil = f"repack-test-dotdot-{uuid.uuid4().hex}"
    name = f"{sdist_stem('bad-dotdot', '1.0')}/../../{evil}"
    archive = hostile_sdist(tmp_path, "bad-dotdot", [entry(name, b"pwned\n")])
    publish(index, archive, "bad-dotdot")
    out = tmp_path / "out"
    proc = repack_build(index, ["bad-dotdot==1.0"], out, cache)
    assert_refused(proc, 5, out, "bad-dotdot", name, "'..' component", cache=cache)
    assert list(tmp_path.rglob(evil)) == []


@pytest.mark.parametrize("links", [
    [("escape", "../../../../etc")],
    # lexically harmless, but through the archive's own s -> . it climbs out
    [("s", "."), ("escape", "s/s/../..")],
], ids=["dotdot-target", "chained-links"])
def test_symlink_escaping_the_tree(index: LocalIndex, cache: Path, tmp_path: Path,
                                   links: list[tuple[str, str]]) -> None:
    top = sdist_stem("bad-symlink", "1.0")
    extra = [entry(f"{top}/{name}", kind=tarfile.SYMTYPE, link=target) for name, target in links]
    archive = hostile_sdist(tmp_path, "bad-symlink", extra)
    publish(index, archive, "bad-symlink")
    out = tmp_path / "out"
    proc = repack_build(index, ["bad-symlink==1.0"], out, cache)
    assert_refused(proc, 5, out, "bad-symlink", f"{top}/escape", "target leaves the source tree",
                   cache=cache)


def test_compression_bomb(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    archive = write_bomb(tmp_path / "bad_bomb-1.0.tar.gz", "bad-bomb", "1.0", BOMB_BYTES)
    assert archive.stat().st_size < 4 << 20
    publish(index, archive, "bad-bomb")
    out = tmp_path / "out"
    proc = repack_build(index, ["bad-bomb==1.0"], out, cache)
    assert_refused(proc, 5, out, "bad-bomb", f"more than {DEFAULT_MAX_BYTES} bytes",
                   "compression bomb", "zeros.bin", cache=cache)


def test_bomb_is_a_valid_archive(tmp_path: Path) -> None:
    """The bomb is real: a well-formed tar.gz whose member really holds the zeros."""
    size = 3 << 20
    archive = write_bomb(tmp_path / "small_bomb-1.0.tar.gz", "small-bomb", "1.0", size)
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        zeros = members["small_bomb-1.0/zeros.bin"]
        assert zeros.size == size
        f = tar.extractfile(zeros)
        assert f is not None and f.read() == bytes(size)
        assert "small_bomb-1.0/PKG-INFO" in members


# --------------------------------------------------------------------------- metadata, usage

def test_pkg_info_names_another_project(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    archive = make_sdist(tmp_path, "bad-name", "1.0", {},
                         pkg_info=pkg_info_text("other-project", "1.0"))
    publish(index, archive, "bad-name")
    out = tmp_path / "out"
    proc = repack_build(index, ["bad-name==1.0"], out, cache)
    assert_refused(proc, 6, out, "bad-name", "sdist says other-project 1.0",
                   "index says bad-name 1.0", cache=cache)


def test_unknown_target_fetches_nothing(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    publish(index, make_sdist(tmp_path, "good-pkg", "1.0", {}), "good-pkg")
    out = tmp_path / "out"
    proc = repack_build(index, ["good-pkg==1.0", "-t", "debian-99"], out, cache)
    assert proc.returncode == 2, proc.stderr
    # targets are checked before any project is looked at, so the line names the target
    assert error_line(proc) == "error: unknown target 'debian-99'"
    assert "debian-12" in proc.stderr                 # the hint lists the known targets
    assert files_under(out) == []
    assert index.downloads() == [] and index.requests == []
    assert files_under(cache / "sdists") == []


@pytest.mark.parametrize("member, words", [
    ("n" * 256, ("longer than 255 bytes",)),
    ("d/" * 2100 + "f", ("deeper than 64 levels",)),
], ids=["long-name", "deep-path"])
def test_names_the_file_system_cannot_hold(index: LocalIndex, cache: Path, tmp_path: Path,
                                           member: str, words: tuple[str, ...]) -> None:
    top = sdist_stem("bad-names", "1.0")
    archive = hostile_sdist(tmp_path, "bad-names", [entry(f"{top}/{member}", b"x")])
    publish(index, archive, "bad-names")
    out = tmp_path / "out"
    proc = repack_build(index, ["bad-names==1.0"], out, cache)
    assert_refused(proc, 5, out, "bad-names", *words, cache=cache)


def test_zip_only_sdist_for_debian(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    """dpkg-source needs a tarball as the orig: refused with a hint, before any container."""
    publish(index, make_sdist(tmp_path, "zip-only", "1.0", {}, fmt="zip"), "zip-only")
    out = tmp_path / "out"
    proc = repack_build(index, ["zip-only==1.0"], out, cache)
    assert_refused(proc, 7, out, "zip-only", "zip_only-1.0.zip", "orig tarball", cache=cache)
    assert "hint: " in proc.stderr


def test_output_that_is_a_file(index: LocalIndex, cache: Path, tmp_path: Path) -> None:
    publish(index, make_sdist(tmp_path, "good-pkg", "1.0", {}), "good-pkg")
    out = tmp_path / "a-file"
    out.write_text("not a directory\n")
    proc = repack_build(index, ["good-pkg==1.0"], out, cache)
    assert proc.returncode == 2, proc.stderr
    assert error_line(proc) == f"error: output {out} is not a directory"
    assert out.read_text() == "not a directory\n"
    assert index.downloads() == []


def test_cache_the_host_refuses(index: LocalIndex, tmp_path: Path) -> None:
    """A cache directory that cannot be created (here: below a file) is the host's
    problem, exit 12, one line naming the path, not a traceback."""
    publish(index, make_sdist(tmp_path, "good-pkg", "1.0", {}), "good-pkg")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    out = tmp_path / "out"
    proc = repack_build(index, ["good-pkg==1.0"], out, blocker / "cache")
    assert proc.returncode == 12, proc.stderr
    line = error_line(proc)
    assert str(blocker / "cache") in line and "Not a directory" in line, line
    assert files_under(out) == []


# --------------------------------------------------------------------------- success

HOSTILE = "hostile-meta"
HOSTILE_SUMMARY = "Hostile ${Newline}Depends: evil $(touch /tmp/pwned) `touch /tmp/pwned`"
HOSTILE_DESCRIPTION = """\
An innocent first paragraph ${Newline}Depends: evil-pkg

Package: evil
Depends: evil-pkg
Evil: yes
 .
python-evil (9.9) unstable; urgency=high

  * evil change

  -- Evil <e@x>  Mon, 01 Jan 2024 00:00:00 +0000
"""


def test_hostile_metadata_builds_escaped(tmp_path: Path) -> None:
    pwned = Path("/tmp/pwned")
    pwned_before = pwned.exists()
    pkg_info = pkg_info_text(
        HOSTILE, "1.0", summary=HOSTILE_SUMMARY, description=HOSTILE_DESCRIPTION,
        extra_headers=[("Author", "Mallory ${shlibs:Depends} $(touch /tmp/pwned)"),
                       ("Description-Content-Type", "text/plain")])
    # a fresh sdist every run, so that this really builds instead of reusing a cached build
    nonce = f"NONCE = {uuid.uuid4().hex!r}\n".encode()
    archive = make_sdist(tmp_path / "sdist", HOSTILE, "1.0", {"hostile_meta/_nonce.py": nonce},
                         pkg_info=pkg_info, summary=HOSTILE_SUMMARY)
    out = tmp_path / "out"
    with LocalIndex() as idx:
        publish(idx, archive, HOSTILE)
        proc = repack_build(idx, ["--json", f"{HOSTILE}==1.0", "-t", "debian-12"], out, None)
    assert proc.returncode == 0, proc.stderr
    assert "dpkg-buildpackage" in proc.stderr and "up to date" not in proc.stderr, proc.stderr
    result = json.loads(proc.stdout)
    paths = {a["format"]: Path(a["path"]) for a in result["artifacts"]}
    assert sorted(paths) == ["buildinfo", "changes", "deb", "debian-tar", "dsc", "orig-tar"]
    assert all(p.parent == out / "debian-12" for p in paths.values())

    # the binary package's control: only the fields repack and dpkg write
    raw = subprocess.run(["dpkg-deb", "-f", paths["deb"]], capture_output=True,
                         check=True).stdout
    control = Deb822(raw)
    assert set(control) == {"Package", "Source", "Version", "Architecture", "Maintainer",
                            "Installed-Size", "Depends", "Section", "Priority",
                            "Description", "Repack-Project", "Repack-Upstream-Version",
                            "Repack-Source", "Repack-Source-Digest",
                            "Repack-Verified"}, raw.decode()
    assert control["Repack-Source"] == idx.file_url(HOSTILE, archive.name)
    assert control["Package"] == f"python3-{HOSTILE}"
    assert control["Source"] == f"python-{HOSTILE}"
    assert "evil" not in control["Depends"], control["Depends"]
    assert "shlibs" not in control["Depends"]
    synopsis, _, body = control["Description"].partition("\n")
    # `$` survives as a literal: dpkg substituted nothing, and no line break came in
    assert synopsis == HOSTILE_SUMMARY, synopsis
    assert "${Newline}Depends: evil-pkg" in body
    assert " Package: evil" in raw.decode() and "\nPackage: evil" not in raw.decode()
    assert "\nEvil:" not in raw.decode()
    assert not pwned.exists() or pwned_before

    # the Author reached debian/copyright literally (nothing substitutes there)
    fsys = subprocess.run(["dpkg-deb", "--fsys-tarfile", paths["deb"]], capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(fsys)) as tar:
        f = tar.extractfile(f"./usr/share/doc/python3-{HOSTILE}/copyright")
        assert f is not None
        copyright_text = f.read().decode()
    assert "Copyright: Mallory ${shlibs:Depends} $(touch /tmp/pwned)" in copyright_text

    # exactly one changelog entry, repack's: nothing from the description became one
    source = f"python-{HOSTILE}"
    changes = Deb822(paths["changes"].read_bytes())
    assert changes["Source"] == source and changes["Binary"] == f"python3-{HOSTILE}"
    headings = [line.strip() for line in changes["Changes"].splitlines() if "urgency=" in line]
    assert len(headings) == 1 and headings[0].startswith(f"{source} ("), changes["Changes"]
    assert "evil" not in changes["Changes"].lower()
    member = subprocess.run(["tar", "-xJOf", paths["debian-tar"], "debian/changelog"],
                            capture_output=True, check=True).stdout
    assert b"evil" not in member.lower()
    changelog = tmp_path / "changelog"
    changelog.write_bytes(member)
    parsed = subprocess.run(["dpkg-parsechangelog", "-l", changelog, "--all", "--format",
                             "rfc822"], capture_output=True, text=True, check=True).stdout
    stanzas = [Deb822(s) for s in parsed.split("\n\n") if s.strip()]
    assert len(stanzas) == 1, parsed
    assert stanzas[0]["Source"] == source and stanzas[0]["Version"] == control["Version"]
    dsc = Deb822(paths["dsc"].read_bytes())
    assert dsc["Source"] == source and dsc["Binary"] == f"python3-{HOSTILE}"
    assert not any("evil" in key.lower() for key in dsc), list(dsc)
