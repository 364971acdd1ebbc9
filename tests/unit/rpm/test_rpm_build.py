"""RPM targets, builder recipes, build-tool selection and the macro file's helpers.

The helpers (templates/rpm/*.py) run inside the builder with its Python; here they run
with ours on a small wheel made on the spot, which is enough to check the layout they
produce.  The macro checks use the host's rpm (`rpm --load`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from repack import buildreqs, pipeline, targets
from repack.container import images
from repack.deb import render
from repack.errors import TargetError
from repack.family import FAMILIES
from repack.rpm import build as rpm_build

HELPERS = Path(str(render.builtin_templates())) / "rpm"
SITE = "/usr/lib/python3.9/site-packages"


def test_rpm_targets_name_their_builders() -> None:
    el9 = targets.load("el9")
    assert (el9.family, el9.python_version, el9.rpm_version) == ("rpm", "3.9", "4.16")
    assert el9.site_packages == SITE and el9.version_suffix == ".el9"
    assert el9.builder == "repack-debian-11-builder" and el9.bootstrap_codename == "bullseye"
    assert "rockylinux:9" in el9.registry_image
    fc42 = targets.load("fedora-42")
    assert (fc42.python_version, fc42.rpm_version, fc42.bootstrap_codename) == (
        "3.13", "4.20", "trixie")
    assert fc42.site_packages == "/usr/lib/python3.13/site-packages"
    # Debian targets need none of the new keys: their builder is their own archive.
    bookworm = targets.load("debian-12")
    assert bookworm.builder == "" and bookworm.bootstrap_codename == "bookworm"


def test_rpm_target_must_name_builder_and_target_paths() -> None:
    data: dict[str, object] = {
            "id": "el9", "family": "rpm", "name": "x", "codename": "el9", "distribution": "el9",
            "python_version": "3.9", "python_full_version": "3.9.21",
            "site_packages": "/usr/lib/python3/dist-packages", "platform_machine": "x86_64",
            "suites": [], "toolchain": [], "name_prefix": "python3-", "version_suffix": ".el9"}
    with pytest.raises(TargetError) as e:
        targets.parse("el9", data)
    msg = str(e.value)
    assert "non-empty 'builder'" in msg and "non-empty 'rpm_version'" in msg
    assert "site_packages of an rpm target must be '/usr/lib/python3.9/site-packages'" in msg


def test_builder_recipe_bootstraps_the_debian_suite(tmp_path: Path) -> None:
    el9 = targets.load("el9")
    recipe = images.recipe(el9, "builder")
    assert recipe["codename"] == "bullseye"
    assert "rpm" in recipe["packages"] and "python3-pip" in recipe["packages"]  # type: ignore[operator]
    assert images.image_for(el9, "builder", tmp_path).tag.startswith(
        "localhost/repack-builder-el9:")


def test_pipeline_dispatches_by_family() -> None:
    assert set(FAMILIES) == {"deb", "rpm"}
    assert [t.id for t in pipeline.load_targets(["el9", "debian-12"])] == ["el9", "debian-12"]


def test_build_requirements_judged_for_the_target() -> None:
    el9 = targets.load("el9")
    reqs = [Requirement('tomli>=1; python_version < "3.11"'),
            Requirement('foo; sys_platform == "win32"'), Requirement("flit_core>=3.2,<4")]
    assert [r.name for r in buildreqs.applicable(reqs, el9)] == ["tomli", "flit_core"]
    assert [r.name for r in buildreqs.applicable(reqs, targets.load("fedora-42"))] == [
        "flit_core"]
    extra = [Requirement('tomli; extra == "toml"')]
    assert buildreqs.applicable(extra, el9) == []
    assert buildreqs.applicable(extra, el9, ["toml"]) == extra


@pytest.mark.parametrize(("filename", "ok"), [
    ("flit_core-3.12.0-py3-none-any.whl", True),
    ("six-1.16.0-py2.py3-none-any.whl", True),
    ("x-1.0-cp39-cp39-manylinux_2_17_x86_64.whl", False),
    ("x-1.0-py2-none-any.whl", False),
    ("x-1.0.tar.gz", False),
])
def test_only_pure_python_wheels_are_build_tools(filename: str, ok: bool) -> None:
    # buildreqs._is_pure_wheel: to be public once buildreqs' rework (another branch) is merged
    assert buildreqs._is_pure_wheel(filename, "3.9") is ok  # noqa: SLF001


def test_helper_files_are_shipped() -> None:
    assert set(rpm_build.helper_files()) == {"macros.repack-python", "pyproject_install.py",
                                             "pyproject_save_files.py", "brp-strip-shared.sh"}
    assert (HELPERS / "repack.rpmlintrc").is_file()


def make_wheel(path: Path) -> Path:
    whl = path / "demo_pkg-1.0-py3-none-any.whl"
    info = "demo_pkg-1.0.dist-info"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("demo/__init__.py", "VERSION = '1.0'\n")
        z.writestr("demo/sub/mod.py", "")
        z.writestr("demo_single.py", "")
        z.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        z.writestr(f"{info}/RECORD", "")
        z.writestr(f"{info}/licenses/LICENSE", "MIT\n")
        z.writestr(f"{info}/entry_points.txt", "[console_scripts]\ndemo = demo.cli:main.run\n")
        z.writestr("demo_pkg-1.0.data/scripts/demo-tool", "#!python\nprint('hi')\n")
        z.writestr("demo/data/big.txt", BIG)
        z.writestr("demo/data/copy/big.txt", BIG)
        z.writestr("demo/data/copy/other.txt", BIG + "x")
        z.writestr("demo/data/small.txt", SMALL)
        z.writestr("demo/data/copy/small.txt", SMALL)
    return whl


BIG = "a file shipped twice in one wheel\n" * 4000     # 136 kB: over rpmlint's limit
SMALL = "a small file shipped twice\n" * 100


def helper(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, HELPERS / name, *args], capture_output=True,
                          text=True, check=False)


def _installed_wheel(tmp_path: Path, members: dict[str, str | bytes]) -> tuple[Path, Path]:
    """A demo-pkg 1.0 wheel of `members`, installed by the spec's pyproject_install.py:
    (the buildroot, the RECORD list it wrote)."""
    whl = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    info = "demo_pkg-1.0.dist-info"
    with zipfile.ZipFile(whl, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        z.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    root, record = tmp_path / "root", tmp_path / "record"
    proc = helper("pyproject_install.py", "--buildroot", root, "--sitelib", SITE,
                  "--bindir", "/usr/bin", "--shebang", "/usr/bin/python3 -s",
                  "--record", record, whl)
    assert proc.returncode == 0, proc.stderr
    return root, record


@pytest.mark.process
def test_install_and_save_files_use_the_target_layout(tmp_path: Path) -> None:
    root, record, files = tmp_path / "root", tmp_path / "record", tmp_path / "files"
    proc = helper("pyproject_install.py", "--buildroot", root, "--sitelib", SITE,
                  "--bindir", "/usr/bin", "--shebang", "/usr/bin/python3 -s",
                  "--record", record, make_wheel(tmp_path))
    assert proc.returncode == 0, proc.stderr
    site = root / SITE.lstrip("/")
    assert (site / "demo/sub/mod.py").is_file() and (site / "demo_single.py").is_file()
    info = site / "demo_pkg-1.0.dist-info"
    assert (info / "INSTALLER").read_text() == "rpm\n" and not (info / "RECORD").exists()
    script = (root / "usr/bin/demo").read_text()
    assert script.startswith("#!/usr/bin/python3 -s\n") and "from demo.cli import main" in script
    assert "sys.exit(main.run())" in script
    assert (root / "usr/bin/demo-tool").read_text() == "#!/usr/bin/python3 -s\nprint('hi')\n"
    assert (root / "usr/bin/demo").stat().st_mode & 0o777 == 0o755
    # one copy of identical files, hard-linked (rpmlint: files-duplicated-waste)
    big, copy = site / "demo/data/big.txt", site / "demo/data/copy/big.txt"
    assert big.read_text() == copy.read_text() == BIG
    assert big.stat().st_ino == copy.stat().st_ino and big.stat().st_nlink == 2
    assert (site / "demo/data/copy/other.txt").stat().st_nlink == 1
    # what is left in copies is within rpmlint's limit: no link it would warn about
    assert (site / "demo/data/small.txt").stat().st_nlink == 1
    assert (site / "demo/sub/mod.py").stat().st_nlink == 1        # empty files stay apart

    proc = helper("pyproject_save_files.py", "--buildroot", root, "--sitelib", SITE,
                  "--bindir", "/usr/bin", "--record", record, "--output", files, "-l", "--",
                  "demo*")
    assert proc.returncode == 0, proc.stderr
    listed = files.read_text().splitlines()
    assert f"{SITE}/demo/" in listed and f"{SITE}/demo_single.py" in listed
    assert f"{SITE}/__pycache__/demo_single.*.pyc" in listed
    assert f"%license {SITE}/demo_pkg-1.0.dist-info/licenses/LICENSE" in listed
    assert f"%dir {SITE}/demo_pkg-1.0.dist-info" in listed
    # the entry point and the .data/scripts file (setup.py's scripts=, in no metadata)
    assert sorted(ln for ln in listed if "/usr/bin" in ln) == ["/usr/bin/demo",
                                                                 "/usr/bin/demo-tool"]

    proc = helper("pyproject_save_files.py", "--buildroot", root, "--sitelib", SITE,
                  "--record", record, "--output", files, "--", "other")
    assert proc.returncode != 0 and "matches none of ['other']" in proc.stderr


@pytest.mark.process
def test_install_refuses_paths_outside_the_buildroot(tmp_path: Path) -> None:
    whl = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("evil-1.0.dist-info/METADATA", "Name: evil\n")
        z.writestr("../../etc/passwd", "x")
    proc = helper("pyproject_install.py", "--buildroot", tmp_path / "root", "--sitelib", SITE,
                  "--bindir", "/usr/bin", "--shebang", "/usr/bin/python3",
                  "--record", tmp_path / "record", whl)
    assert proc.returncode != 0 and "unsafe path in wheel" in proc.stderr


@pytest.mark.process
@pytest.mark.skipif(shutil.which("rpm") is None, reason="needs the host's rpm (x.py setup)")
def test_macros_give_the_target_paths() -> None:
    out = subprocess.run(
        ["rpm", "--load", HELPERS / "macros.repack-python", "--define", "python3_version 3.9",
         "--eval", "%python3_sitelib", "--eval", "%{py3_dist Zope.Interface}",
         "--eval", "%python3_version_nodots"],
        capture_output=True, text=True, check=True).stdout.split()
    assert out == [SITE, "python3dist(zope-interface)", "39"]


def saved_files(root: Path, record: Path, files: Path, *options: str) -> list[str]:
    """The %files lines pyproject_save_files.py writes for every module ("*")."""
    proc = helper("pyproject_save_files.py", "--buildroot", root, "--sitelib", SITE,
                  *options, "--record", record, "--output", files, "--", "*")
    assert proc.returncode == 0, proc.stderr
    return files.read_text().splitlines()


@pytest.mark.process
def test_catalogs_are_listed_with_their_language(tmp_path: Path) -> None:
    """A module with gettext catalogs is listed file by file, each .mo %lang(<code>) as
    Fedora's %find_lang marks them (rpmlint: file-not-in-%lang); the rest as before."""
    root, record = _installed_wheel(tmp_path, {
        "demo/__init__.py": "",
        "demo/sub/mod.py": "X = 1\n",
        "demo/locale/de/LC_MESSAGES/demo.mo": b"\xde\x12\x04\x95" + bytes(24),
        "demo/locale/de/LC_MESSAGES/demo.po": "msgid \"\"\n",
        "demo/locale/pt_BR/LC_MESSAGES/demo.mo": b"\xde\x12\x04\x95" + bytes(20),
        "other/__init__.py": ""})
    files = tmp_path / "files"
    listed = saved_files(root, record, files, "--bindir", "/usr/bin")
    demo = f"{SITE}/demo"
    for line in [f"%dir {demo}", f"%dir {demo}/locale/de/LC_MESSAGES", f"%dir {demo}/sub",
                 f"%dir {demo}/__pycache__", f"%dir {demo}/sub/__pycache__",
                 f"%lang(de) {demo}/locale/de/LC_MESSAGES/demo.mo",
                 f"%lang(pt_BR) {demo}/locale/pt_BR/LC_MESSAGES/demo.mo",
                 f"{demo}/locale/de/LC_MESSAGES/demo.po", f"{demo}/sub/mod.py",
                 f"{demo}/__pycache__/__init__.*.pyc", f"{demo}/sub/__pycache__/mod.*.pyc",
                 f"{SITE}/other/"]:
        assert line in listed, (line, listed)
    assert f"{demo}/" not in listed


@pytest.mark.process
def test_files_removed_after_install_are_not_listed(tmp_path: Path) -> None:
    """%install removes Windows executables and [packages.<name>] exclude globs after the
    wheel is in: the RECORD still names them, %files must not (rpmbuild: File not found)."""
    root, record = _installed_wheel(tmp_path, {
        "demo/__init__.py": "",
        "demo/t64.exe": b"MZ\x90\x00",
        "demo/locale/de/LC_MESSAGES/demo.mo": b"\xde\x12\x04\x95" + bytes(24),
        "lone.py": ""})
    files = tmp_path / "files"
    for rel in ("demo/t64.exe", "lone.py"):
        (root / SITE.lstrip("/") / rel).unlink()
    listed = saved_files(root, record, files)
    assert f"%lang(de) {SITE}/demo/locale/de/LC_MESSAGES/demo.mo" in listed
    assert f"{SITE}/demo/__init__.py" in listed
    assert [ln for ln in listed if "t64.exe" in ln or "lone" in ln] == [], listed


@pytest.mark.process
def test_data_files_are_listed_and_manual_pages_as_compressed(tmp_path: Path) -> None:
    """A setup.py's data_files (.data/data: fonttools' share/man/man1/ttx.1) and headers are
    in %files, file by file, a manual page with the * brp-compress's .gz needs (rpmbuild:
    "Installed (but unpackaged) file(s) found" before); a glob character is refused."""
    root, record = _installed_wheel(tmp_path, {
        "demo/__init__.py": "",
        "demo_pkg-1.0.data/data/share/man/man1/ttx.1": ".TH TTX 1\n",
        "demo_pkg-1.0.data/data/share/demo/logo.svg": "<svg/>\n",
        "demo_pkg-1.0.data/headers/demo.h": "int demo(void);\n"})
    files = tmp_path / "files"
    listed = saved_files(root, record, files, "--bindir", "/usr/bin")
    assert (root / "usr/share/man/man1/ttx.1").is_file()
    for line in ["/usr/share/man/man1/ttx.1*", "/usr/share/demo/logo.svg",
                 "/usr/include/python/demo.h", f"{SITE}/demo/"]:
        assert line in listed, (line, listed)
    (tmp_path / "glob").mkdir()
    root, record = _installed_wheel(tmp_path / "glob", {
        "demo/__init__.py": "", "demo_pkg-1.0.data/data/share/demo/[x].txt": "x\n"})
    proc = helper("pyproject_save_files.py", "--buildroot", root, "--sitelib", SITE,
                  "--record", record, "--output", files, "--", "*")
    assert proc.returncode != 0 and "cannot list '/usr/share/demo/[x].txt'" in proc.stderr
