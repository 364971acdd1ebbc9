"""repack.unpack: safe extraction of hostile sdists."""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from sdists import make_sdist  # tests/ is on sys.path (see conftest.py)

from repack import unpack
from repack.errors import UnsafeArchiveError
from repack.unpack import find_cplusplus_sources, find_native_sources, unpack_sdist

TOP = "pkg-1.0"


# --------------------------------------------------------------------------- helpers

def _file(name: str, data: bytes = b"x", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def _member(name: str, type_: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = type_
    info.linkname = linkname
    info.mode = 0o755 if type_ == tarfile.DIRTYPE else 0o644
    return info, b""


def _base() -> list[tuple[tarfile.TarInfo, bytes]]:
    return [_member(TOP, tarfile.DIRTYPE), _file(f"{TOP}/PKG-INFO", b"Name: pkg\n")]


def write_tar(path: Path, members: Sequence[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def write_zip(path: Path, members: Sequence[tuple[str, bytes, int]]) -> Path:
    """members: (name, data, unix mode incl. file type bits)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


@pytest.fixture(params=[True, False], ids=["data-filter", "no-data-filter"])
def filter_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[bool]:
    """Run a test with tarfile's data filter and with the in-house fallback (Python < 3.11.4)."""
    if request.param and not unpack._HAVE_DATA_FILTER:  # noqa: SLF001
        pytest.skip("this Python has no tarfile data filter")
    monkeypatch.setattr(unpack, "_HAVE_DATA_FILTER", request.param)
    yield request.param


def refused(archive: Path, dest: Path, *fragments: str, **kwargs: int) -> str:
    """Unpack must fail with UnsafeArchiveError naming every fragment; dest holds nothing."""
    with pytest.raises(UnsafeArchiveError) as excinfo:
        unpack_sdist(archive, dest, project="pkg", **kwargs)
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith("pkg: ")
    for fragment in fragments:
        assert fragment in message, message
    assert excinfo.value.exit_code == 5
    assert not dest.exists() or not any(dest.iterdir())
    # the temporary extraction directory next to dest is gone too
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".repack-unpack-")]
    return message


# --------------------------------------------------------------------------- good archives

@pytest.mark.parametrize("fmt", ["tar.gz", "zip", "tar.bz2", "tar.xz"])
def test_good_sdist(tmp_path: Path, fmt: str, filter_mode: bool) -> None:
    archive = make_sdist(tmp_path / "in", "Tiny-Pkg", "1.0",
                         {"bin/run.sh": b"#!/bin/sh\n", "data/empty.txt": b""}, fmt=fmt)
    dest = tmp_path / "out"
    top = unpack_sdist(archive, dest, project="tiny-pkg")
    assert top == dest / "tiny_pkg-1.0"
    assert (top / "PKG-INFO").read_bytes().startswith(b"Metadata-Version: 2.2\n")
    assert (top / "tiny_pkg" / "__init__.py").is_file()
    assert (top / "data" / "empty.txt").read_bytes() == b""
    assert os.listdir(dest) == ["tiny_pkg-1.0"]
    assert sorted(os.listdir(tmp_path)) == ["in", "out"]      # no temp dir left behind
    script_mode = stat.S_IMODE((top / "bin" / "run.sh").stat().st_mode)
    assert script_mode & 0o100 and not script_mode & 0o022
    assert stat.S_IMODE((top / "PKG-INFO").stat().st_mode) & 0o7133 == 0


def test_modes_are_sanitised(tmp_path: Path, filter_mode: bool) -> None:
    archive = write_tar(tmp_path / "p.tar.gz", [
        *_base(),
        _file(f"{TOP}/setuid", b"x", mode=0o4777),
        _file(f"{TOP}/private", b"x", mode=0o000),
    ])
    top = unpack_sdist(archive, tmp_path / "out", project="pkg")
    setuid = stat.S_IMODE((top / "setuid").stat().st_mode)
    assert not setuid & (stat.S_ISUID | stat.S_ISGID | 0o022)
    assert stat.S_IMODE((top / "private").stat().st_mode) & 0o600 == 0o600


def test_internal_links_are_kept(tmp_path: Path, filter_mode: bool) -> None:
    archive = write_tar(tmp_path / "p.tar.gz", [
        *_base(),
        _member(f"{TOP}/docs", tarfile.DIRTYPE),
        _member(f"{TOP}/docs/PKG-INFO.link", tarfile.SYMTYPE, "../PKG-INFO"),
        _member(f"{TOP}/self", tarfile.SYMTYPE, "."),
        _member(f"{TOP}/copy", tarfile.LNKTYPE, f"{TOP}/PKG-INFO"),
    ])
    top = unpack_sdist(archive, tmp_path / "out", project="pkg")
    assert os.readlink(top / "docs" / "PKG-INFO.link") == "../PKG-INFO"
    assert (top / "copy").read_bytes() == b"Name: pkg\n"


def test_leading_dot_slash_and_root_entry(tmp_path: Path, filter_mode: bool) -> None:
    archive = write_tar(tmp_path / "p.tar.gz", [
        _member(".", tarfile.DIRTYPE),
        _member(f"./{TOP}", tarfile.DIRTYPE),
        _file(f"./{TOP}/PKG-INFO"),
    ])
    top = unpack_sdist(archive, tmp_path / "out", project="pkg")
    assert top.name == TOP and (top / "PKG-INFO").is_file()


def test_existing_destination_is_not_clobbered(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "p.tar.gz", _base())
    dest = tmp_path / "out"
    (dest / TOP).mkdir(parents=True)
    (dest / TOP / "keep").write_text("mine")
    with pytest.raises(FileExistsError):
        unpack_sdist(archive, dest, project="pkg")
    assert os.listdir(dest / TOP) == ["keep"]


# --------------------------------------------------------------------------- hostile tar

BAD_TARS: dict[str, tuple[Callable[[], list[tuple[tarfile.TarInfo, bytes]]], tuple[str, ...]]] = {
    "absolute": (lambda: [*_base(), _file("/etc/evil")], ("'/etc/evil'", "absolute path")),
    "dotdot": (lambda: [*_base(), _file(f"{TOP}/../../evil")], ("'..'", "../../evil")),
    "symlink-escape": (
        lambda: [*_base(), _member(f"{TOP}/evil", tarfile.SYMTYPE, "../../etc")],
        ("symlink", f"'{TOP}/evil'", "'../../etc'", "leaves the source tree")),
    "symlink-to-parent": (
        lambda: [*_base(), _member(f"{TOP}/up", tarfile.SYMTYPE, "..")],
        ("symlink", "leaves the source tree")),
    "symlink-absolute": (
        lambda: [*_base(), _member(f"{TOP}/passwd", tarfile.SYMTYPE, "/etc/passwd")],
        ("symlink", "absolute target")),
    "symlink-chain": (
        # lexically s/s/s/../.. stays inside; through s -> . it reaches dest's parent
        lambda: [*_base(), _member(f"{TOP}/s", tarfile.SYMTYPE, "."),
                 _member(f"{TOP}/t", tarfile.SYMTYPE, "s/s/s/../..")],
        ("symlink", f"'{TOP}/t'", "leaves the source tree")),
    "write-through-symlink": (
        lambda: [*_base(), _member(f"{TOP}/link", tarfile.SYMTYPE, "."),
                 _file(f"{TOP}/link/file")],
        (f"'{TOP}/link/file'", "below the symlink")),
    "symlink-then-file": (
        lambda: [*_base(), _member(f"{TOP}/x", tarfile.SYMTYPE, "PKG-INFO"), _file(f"{TOP}/x")],
        ("already has a symlink",)),
    "hardlink-escape": (
        lambda: [*_base(), _member(f"{TOP}/h", tarfile.LNKTYPE, "../../etc/passwd")],
        ("hardlink", f"'{TOP}/h'", "'..'")),
    "hardlink-absolute": (
        lambda: [*_base(), _member(f"{TOP}/h", tarfile.LNKTYPE, "/etc/passwd")],
        ("hardlink", "absolute path")),
    "hardlink-dangling": (
        lambda: [*_base(), _member(f"{TOP}/h", tarfile.LNKTYPE, f"{TOP}/nothing")],
        ("hardlink", "not an earlier regular file")),
    "char-device": (
        lambda: [*_base(), _member(f"{TOP}/null", tarfile.CHRTYPE)],
        (f"'{TOP}/null'", "device")),
    "block-device": (
        lambda: [*_base(), _member(f"{TOP}/sda", tarfile.BLKTYPE)], ("device",)),
    "fifo": (lambda: [*_base(), _member(f"{TOP}/pipe", tarfile.FIFOTYPE)], ("fifo",)),
    "two-top-level": (
        lambda: [*_base(), _member("other-1.0", tarfile.DIRTYPE), _file("other-1.0/x")],
        ("more than one top-level", "'pkg-1.0'", "'other-1.0'")),
    "file-outside-top": (
        lambda: [*_base(), _file("setup.py")], ("more than one top-level", "'setup.py'")),
    "top-is-a-file": (lambda: [_file("setup.py")], ("top-level", "must be a directory")),
    "file-and-dir": (
        lambda: [*_base(), _file(f"{TOP}/a"), _file(f"{TOP}/a/b")], ("below the file",)),
    "control-char": (lambda: [*_base(), _file(f"{TOP}/a\nb")], ("control character",)),
    "long-component": (lambda: [*_base(), _file(f"{TOP}/{'n' * 256}")],
                       ("longer than 255 bytes",)),
    "deep-path": (lambda: [*_base(), _file(f"{TOP}/" + "d/" * 2100 + "f")],
                  ("deeper than 64 levels",)),
    "empty": (list, ("empty",)),
}


@pytest.mark.parametrize("case", sorted(BAD_TARS))
def test_hostile_tar_is_refused(tmp_path: Path, case: str, filter_mode: bool) -> None:
    members, fragments = BAD_TARS[case]
    archive = write_tar(tmp_path / "evil.tar.gz", members())
    refused(archive, tmp_path / "out", *fragments)
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize("case", ["symlink-escape", "symlink-chain"])
def test_second_line_of_defence(tmp_path: Path, case: str, filter_mode: bool,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """With the first-line symlink check disabled, extraction itself still refuses.

    (The second line guards the temporary extraction directory only: a link to ".." from
    the top-level directory is caught by the first line alone.)
    """
    monkeypatch.setattr(unpack, "_symlink_stays_inside", lambda *args: True)
    members, _ = BAD_TARS[case]
    archive = write_tar(tmp_path / "evil.tar.gz", members())
    message = refused(archive, tmp_path / "out")
    assert ("data filter" in message) if filter_mode else ("leaves the source tree" in message)


def test_nothing_is_written_before_validation(tmp_path: Path, filter_mode: bool) -> None:
    # good members first, the bad one last: still nothing may appear in dest
    archive = write_tar(tmp_path / "evil.tar.gz", [
        *_base(), *(_file(f"{TOP}/f{i}") for i in range(20)), _file("/abs")])
    dest = tmp_path / "out"
    dest.mkdir()
    refused(archive, dest, "absolute")
    assert list(dest.iterdir()) == []


def test_member_count_cap(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "many.tar.gz",
                        [*_base(), *(_file(f"{TOP}/f{i}") for i in range(10))])
    refused(archive, tmp_path / "out", "more than 5 members", max_members=5)
    assert unpack_sdist(archive, tmp_path / "ok", project="pkg", max_members=12).is_dir()


def test_gzip_bomb(tmp_path: Path) -> None:
    zeros = bytes(10 << 20)                 # 10 MiB of zeros: about 10 KiB compressed
    archive = write_tar(tmp_path / "bomb.tar.gz", [*_base(), _file(f"{TOP}/zeros", zeros)])
    assert archive.stat().st_size < 100_000
    refused(archive, tmp_path / "out", "more than 1048576 bytes", "compression bomb",
            f"'{TOP}/zeros'", max_bytes=1 << 20)


def test_many_small_files_add_up(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "bomb.tar.gz",
                        [*_base(), *(_file(f"{TOP}/f{i}", bytes(100_000)) for i in range(20))])
    refused(archive, tmp_path / "out", "compression bomb", max_bytes=1 << 20)


def test_huge_pax_header_is_refused(tmp_path: Path) -> None:
    # tarfile reads a pax header whole; a 2 MiB one (gzip: a few KiB) must not be accepted
    info, data = _file(f"{TOP}/x")
    info.pax_headers = {"comment": "a" * (2 << 20)}
    archive = write_tar(tmp_path / "pax.tar.gz", [*_base(), (info, data)])
    refused(archive, tmp_path / "out", "tar header")


def test_negative_size_is_refused(tmp_path: Path) -> None:
    # GNU base-256 numbers can be negative; tarfile accepts them and would seek backwards
    import gzip

    header = bytearray(tarfile.TarInfo(f"{TOP}/neg").tobuf(format=tarfile.GNU_FORMAT))
    header[124:136] = b"\xff" * 12                      # size = -1
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header[:512])
    body = b"".join(info.tobuf(format=tarfile.GNU_FORMAT) + data.ljust(512, b"\0")
                    for info, data in _base()[1:])
    archive = tmp_path / "neg.tar.gz"
    archive.write_bytes(gzip.compress(body + bytes(header) + bytes(1024)))
    refused(archive, tmp_path / "out", "negative size", f"'{TOP}/neg'")


def test_symlink_target_with_control_character(tmp_path: Path) -> None:
    archive = write_tar(tmp_path / "p.tar.gz",
                        [*_base(), _member(f"{TOP}/l", tarfile.SYMTYPE, "PKG\nINFO")])
    refused(archive, tmp_path / "out", "control character")


def test_truncated_tar_gz(tmp_path: Path) -> None:
    good = make_sdist(tmp_path / "in", "pkg", "1.0", {"blob": os.urandom(50_000)})
    data = good.read_bytes()
    archive = tmp_path / "cut.tar.gz"
    archive.write_bytes(data[: len(data) // 2])
    refused(archive, tmp_path / "out", "corrupt archive")


def test_random_bytes(tmp_path: Path) -> None:
    for name in ("random.tar.gz", "random.zip", "random.tar.xz", "random.tar.bz2", "r.tar"):
        archive = tmp_path / name
        archive.write_bytes(os.urandom(4096))
        refused(archive, tmp_path / f"out-{name}", "corrupt archive", f"'{name}'")


def test_empty_file(tmp_path: Path) -> None:
    archive = tmp_path / "empty.tar.gz"
    archive.write_bytes(b"")
    refused(archive, tmp_path / "out", "corrupt archive")


def test_unknown_archive_type(tmp_path: Path) -> None:
    archive = tmp_path / "pkg-1.0.rar"
    archive.write_bytes(b"Rar!\x1a\x07\x00")
    refused(archive, tmp_path / "out", "unknown archive type", "'pkg-1.0.rar'")


def test_missing_archive(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        unpack_sdist(tmp_path / "nope.tar.gz", tmp_path / "out", project="pkg")


# --------------------------------------------------------------------------- hostile zip

ZIP_DIR = 0o40755
ZIP_FILE = 0o100644


def _zip_base() -> list[tuple[str, bytes, int]]:
    return [(f"{TOP}/", b"", ZIP_DIR), (f"{TOP}/PKG-INFO", b"Name: pkg\n", ZIP_FILE)]


BAD_ZIPS: dict[str, tuple[list[tuple[str, bytes, int]], tuple[str, ...]]] = {
    "absolute": ([*_zip_base(), ("/etc/evil", b"x", ZIP_FILE)], ("absolute path",)),
    "dotdot": ([*_zip_base(), (f"{TOP}/../evil", b"x", ZIP_FILE)], ("'..'",)),
    "symlink": ([*_zip_base(), (f"{TOP}/link", b"PKG-INFO", 0o120777)],
                (f"'{TOP}/link'", "symlink in a zip")),
    "fifo": ([*_zip_base(), (f"{TOP}/p", b"", 0o10644)], ("fifo",)),
    "device": ([*_zip_base(), (f"{TOP}/d", b"", 0o20644)], ("device",)),
    "two-top-level": ([*_zip_base(), ("other/x", b"x", ZIP_FILE)], ("more than one top-level",)),
}


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
def test_hostile_zip_is_refused(tmp_path: Path, case: str) -> None:
    members, fragments = BAD_ZIPS[case]
    archive = write_zip(tmp_path / "evil.zip", members)
    refused(archive, tmp_path / "out", *fragments)


def test_zip_member_count_cap(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "many.zip",
                        [*_zip_base(), *((f"{TOP}/f{i}", b"x", ZIP_FILE) for i in range(10))])
    refused(archive, tmp_path / "out", "more than 5 members", max_members=5)


def test_zip_bomb(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "bomb.zip",
                        [*_zip_base(), (f"{TOP}/zeros", bytes(10 << 20), ZIP_FILE)])
    refused(archive, tmp_path / "out", "compression bomb", max_bytes=1 << 20)


def _patch_zip_sizes(data: bytes, member: str, size: int) -> bytes:
    """Make the local header and central directory of `member` claim `size` bytes."""
    buf = bytearray(data)
    name = member.encode()
    local = buf.find(b"PK\x03\x04")
    while local != -1:
        (name_len,) = struct.unpack_from("<H", buf, local + 26)
        if bytes(buf[local + 30: local + 30 + name_len]) == name:
            struct.pack_into("<I", buf, local + 22, size)
        local = buf.find(b"PK\x03\x04", local + 4)
    central = buf.find(b"PK\x01\x02")
    while central != -1:
        (name_len,) = struct.unpack_from("<H", buf, central + 28)
        if bytes(buf[central + 46: central + 46 + name_len]) == name:
            struct.pack_into("<I", buf, central + 24, size)
        central = buf.find(b"PK\x01\x02", central + 4)
    return bytes(buf)


def test_zip_header_lying_about_size(tmp_path: Path) -> None:
    # 10 MiB of zeros whose headers claim 1000 bytes: the declared total passes a 1 MiB cap,
    # zipfile stops at the claimed size and the CRC no longer matches
    honest = write_zip(tmp_path / "honest.zip",
                       [*_zip_base(), (f"{TOP}/zeros", bytes(10 << 20), ZIP_FILE)])
    archive = tmp_path / "liar.zip"
    archive.write_bytes(_patch_zip_sizes(honest.read_bytes(), f"{TOP}/zeros", 1000))
    assert zipfile.ZipFile(archive).getinfo(f"{TOP}/zeros").file_size == 1000
    refused(archive, tmp_path / "out", "corrupt archive", max_bytes=1 << 20)


def test_zip_written_bytes_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Even if the declared sizes were believed, the bytes written while streaming are counted.
    archive = write_zip(tmp_path / "bomb.zip",
                        [*_zip_base(), (f"{TOP}/zeros", bytes(3 << 20), ZIP_FILE)])
    real_entry = unpack._zip_entry  # noqa: SLF001

    def lying_entry(info: zipfile.ZipInfo, project: str) -> unpack._Entry | None:
        entry = real_entry(info, project)
        return None if entry is None else unpack._Entry(  # noqa: SLF001
            entry.name, entry.parts, entry.kind, 0, executable=entry.executable)

    monkeypatch.setattr(unpack, "_zip_entry", lying_entry)
    refused(archive, tmp_path / "out", "expands to more than 1048576 bytes", "'pkg-1.0/zeros'",
            max_bytes=1 << 20)


def test_zip_crc_mismatch(tmp_path: Path) -> None:
    honest = write_zip(tmp_path / "honest.zip",
                       [*_zip_base(), (f"{TOP}/data", b"hello world" * 100, ZIP_FILE)])
    data = bytearray(honest.read_bytes())
    crc = struct.pack("<I", zlib.crc32(b"hello world" * 100))
    at = data.find(crc)
    data[at] ^= 0xFF                       # corrupt the local header CRC only
    data[data.find(crc, at + 4)] ^= 0xFF   # and the central directory one
    archive = tmp_path / "crc.zip"
    archive.write_bytes(bytes(data))
    refused(archive, tmp_path / "out", "corrupt archive")


def test_encrypted_zip_member(tmp_path: Path) -> None:
    honest = write_zip(tmp_path / "honest.zip", _zip_base())
    data = bytearray(honest.read_bytes())
    central = data.find(b"PK\x01\x02")
    central = data.find(b"PK\x01\x02", central + 4)     # the PKG-INFO entry
    data[central + 8] |= 0x1
    archive = tmp_path / "enc.zip"
    archive.write_bytes(bytes(data))
    refused(archive, tmp_path / "out", "encrypted")


# --------------------------------------------------------------------------- native sources

@pytest.mark.parametrize(("files", "native"), [
    ({"pkg/__init__.py": ""}, False),
    ({"pkg/_speedups.c": ""}, True),
    ({"src/ext.CPP": ""}, True),
    ({"pkg/_fast.pyx": ""}, True),
    ({"pkg/lib.f90": ""}, True),
    ({"pkg/include/api.h": ""}, False),                     # headers alone
    ({"src/lib.rs": ""}, False),                            # Rust without Cargo.toml
    ({"Cargo.toml": "", "src/lib.rs": ""}, True),
    ({"rust/Cargo.toml": "", "rust/src/lib.rs": ""}, True),
    ({"tests/helper.c": "", "docs/example.c": "", "examples/x.cc": ""}, False),
    ({"pkg/tests/_ext.c": ""}, False),
    ({".github/x.c": ""}, False),
])
def test_find_native_sources(tmp_path: Path, files: dict[str, str], native: bool) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert find_native_sources(tmp_path) is native


@pytest.mark.parametrize(("files", "cplusplus"), [
    ({"pkg/_speedups.c": "", "pkg/x.h": ""}, False),
    ({"src/core/ext.cc": ""}, True),                        # grpcio
    ({"src/ext.CPP": ""}, True),
    ({"pkg/_ext.pyx": "", "tests/t.cpp": ""}, False),       # tests are not built
])
def test_find_cplusplus_sources(tmp_path: Path, files: dict[str, str], cplusplus: bool) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert find_cplusplus_sources(tmp_path) is cplusplus


def test_find_native_sources_does_not_follow_symlinked_dirs(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.c").write_text("")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "linked").symlink_to(outside)
    assert find_native_sources(tree) is False


# --------------------------------------------------------------------------- robustness

@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "zip"])
def test_mutated_archives_fail_cleanly(tmp_path: Path, fmt: str) -> None:
    """Random byte flips give a tree or an UnsafeArchiveError, never another exception."""
    import gzip
    import random

    rng = random.Random(f"repack-{fmt}")
    if fmt == "tar":
        source = make_sdist(tmp_path / "src", "fz", "1.0", {"a/b.txt": b"hello" * 50})
        pristine = gzip.decompress(source.read_bytes())
    else:
        source = make_sdist(tmp_path / "src", "fz", "1.0", {"a/b.txt": b"hello" * 50}, fmt=fmt)
        pristine = source.read_bytes()
    for i in range(60):
        data = bytearray(pristine)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        archive = tmp_path / f"m{i}.{fmt}"
        archive.write_bytes(bytes(data))
        dest = tmp_path / f"out{i}"
        try:
            unpack_sdist(archive, dest, project="fz")
        except UnsafeArchiveError:
            assert not dest.exists() or not any(dest.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".repack-unpack-")]
