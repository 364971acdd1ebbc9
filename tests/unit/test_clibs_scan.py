"""repack.clibs: the scanner of an unpacked sdist, the Contents mapping and the refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from repack import clibs
from repack.errors import MappingError
from repack.model import Project

# Lines as Debian 12's Contents-amd64/Contents-all list them (the paths repack keeps).
CONTENTS = """\
usr/include/yaml.h                                      libdevel/libyaml-dev
usr/lib/x86_64-linux-gnu/libyaml.so                     libdevel/libyaml-dev
usr/lib/x86_64-linux-gnu/pkgconfig/yaml-0.1.pc          libdevel/libyaml-dev
usr/include/libxml2/libxml/parser.h                     libdevel/libxml2-dev
usr/lib/x86_64-linux-gnu/pkgconfig/libxml-2.0.pc        libdevel/libxml2-dev
usr/bin/xml2-config                                     libdevel/libxml2-dev
usr/bin/xslt-config                                     libdevel/libxslt1-dev
usr/lib/x86_64-linux-gnu/pkgconfig/libxslt.pc           libdevel/libxslt1-dev
usr/include/ffi.h                                       libdevel/libffi-dev
usr/lib/x86_64-linux-gnu/pkgconfig/libffi.pc            libdevel/libffi-dev
usr/include/zlib.h                                      libdevel/zlib1g-dev
usr/include/Poco/zlib.h                                 libdevel/libpoco-dev
usr/include/stdio.h                                     libdevel/libc6-dev
usr/include/python3.11/Python.h                         libdevel/libpython3.11-dbg,libdevel/libpython3.11-dev
usr/include/pypy3.9/Python.h                            libdevel/pypy3-dev
usr/include/dmlc/omp.h                                  libdevel/libdmlc-dev
usr/bin/pkg-config                                      devel/pkgconf
usr/include/boost/beast/zlib.hpp                        libdevel/libboost1.74-dev,libdevel/libboost1.81-dev
usr/include/a/common.h                                  libdevel/liba-dev
usr/include/b/common.h                                  libdevel/libb-dev
usr/include/evil.h                                      libdevel/Evil;rm
usr/share/doc/libyaml-dev/copyright                     doc/libyaml-dev
"""  # noqa: E501 (Contents lines, kept whole)
INSTALLED = ["libc6-dev", "dpkg-dev"]
BUILDER_HEADERS = ["stdio.h", "omp.h", "stdatomic.h", "sys/types.h"]   # GCC's and libc's


def index() -> clibs.DevIndex:
    return clibs.parse_dev_contents(CONTENTS, INSTALLED, BUILDER_HEADERS)


def write(tree: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(text)
    return tree


def project(*, native: bool = True, backend: str | None = "setuptools.build_meta",
            requires: tuple[str, ...] = ("setuptools",)) -> Project:
    return Project(
        name=canonicalize_name("demo"), display_name="demo", version=Version("1.0"),
        summary="", description="", description_content_type=None, license=None,
        license_expression=None, license_files=(),
        author=None, author_email=None, home_page=None, project_urls=(), requires_dist=(),
        requires_python=None, provides_extra=(), console_scripts=(),
        build_requires=tuple(Requirement(r) for r in requires), build_backend=backend,
        has_native_code=native, metadata_source="PKG-INFO")


def test_parse_contents_indexes_dev_files() -> None:
    idx = index()
    assert idx.pkgconfig["libxml-2.0"] == ("libxml2-dev",)
    assert idx.tools["xml2-config"] == ("libxml2-dev",)
    assert idx.libraries["yaml"] == ("libyaml-dev",)
    assert idx.headers["yaml.h"] == ("libyaml-dev",)
    assert idx.subheaders["libxml/parser.h"] == ("libxml2-dev",)
    assert idx.headers["boost/beast/zlib.hpp"] == ("libboost1.74-dev", "libboost1.81-dev")
    assert "evil.h" not in idx.headers          # a name dpkg would refuse never gets through
    assert "libc6-dev" in idx.installed


def test_parse_only_the_wanted_names() -> None:
    idx = clibs.parse_dev_contents(CONTENTS, wanted={"yaml.h", "libxml/parser.h", "xml2-config"})
    assert dict(idx.headers) == {"yaml.h": ("libyaml-dev",)}
    assert dict(idx.subheaders) == {"libxml/parser.h": ("libxml2-dev",)}
    assert dict(idx.tools) == {"xml2-config": ("libxml2-dev",)}
    assert not idx.pkgconfig and not idx.libraries


def test_pyyaml_like_sdist_maps_to_libyaml_dev(tmp_path: Path) -> None:
    tree = write(tmp_path, {
        "setup.py": "from setuptools import setup, Extension\n"
                    "ext = Extension('yaml._yaml', ['yaml/_yaml.pyx'], libraries=['yaml'])\n",
        "yaml/_yaml.h": "#include <yaml.h>\n#include \"_yaml_extra.h\"\n",
        "yaml/_yaml_extra.h": "\n",
        "yaml/_yaml.pyx": 'cdef extern from "_yaml.h":\n    pass\n',
        "tests/legacy.c": "#include <nonsense/from_tests.h>\n",
    })
    needs = clibs.scan(tree)
    assert needs.libraries == ("yaml",)
    assert needs.headers == ("yaml.h",)         # the sdist's own headers are not looked up
    assert needs.rust is None and needs.cuda is None
    chosen = clibs.choose(needs, index())
    assert chosen.packages == ("libyaml-dev",)
    assert chosen.reasons == ("libyaml-dev (-lyaml, yaml.h)",)


def test_another_platforms_sources_name_no_header(tmp_path: Path) -> None:
    """matplotlib: its macOS backend (_macosx.m, Cocoa) and agg24's Windows and BeOS glue
    name headers no Linux build includes (GNUstep's Cocoa/Cocoa.h, libtulip-dev's View.h
    were installed for them); its own sources' headers are still looked up."""
    tree = write(tmp_path, {
        "src/_macosx.m": "#include <Cocoa/Cocoa.h>\n",
        "extern/agg24-svn/src/platform/win32/agg_platform_support.cpp": "#include <windows.h>\n",
        "extern/agg24-svn/src/platform/BeOS/agg_platform_support.cpp": "#include <View.h>\n",
        "extern/agg24-svn/include/platform/win32/agg_win32_bmp.h": "#include <windows.h>\n",
        "src/ft2font.cpp": "#include <ft2build.h>\n",
    })
    assert clibs.scan(tree).headers == ("ft2build.h",)


def test_a_vendored_meson_test_suite_is_not_rust(tmp_path: Path) -> None:
    """numpy 2.0 vendors meson with its test suite ("test cases/rust/.../Cargo.toml"): not
    a Rust build, refused as one before."""
    tree = write(tmp_path, {
        "vendored-meson/meson/test cases/rust/1 basic/prog.rs": "fn main() {}\n",
        "vendored-meson/meson/test cases/rust/22 cargo subproject/Cargo.toml": "[package]\n",
        "numpy/_core/src/multiarray/common.c": "#include <Python.h>\n",
    })
    needs = clibs.scan(tree)
    assert needs.rust is None
    clibs.refuse_unbuildable(project(), needs)


def test_another_targets_libc_is_never_chosen() -> None:
    """psycopg2 includes <ieeefp.h> on Solaris only; on Debian newlib (an embedded C
    library) ships it: not a build dependency of a glibc build, as MinGW's windows.h."""
    idx = clibs.parse_dev_contents(
        "usr/include/newlib/ieeefp.h   libdevel/libnewlib-dev\n"
        "usr/include/ieeefp.h   libdevel/libnewlib-dev\n"
        "usr/share/mingw-w64/include/windows.h   devel/mingw-w64-common\n"
        "usr/include/postgresql/libpq-fe.h   libdevel/libpq-dev\n")
    needs = clibs.NativeNeeds(headers=("ieeefp.h", "libpq-fe.h"))
    chosen = clibs.choose(needs, idx)
    assert chosen.packages == ("libpq-dev",) and not chosen.dropped


def test_lxml_like_config_tools_and_pkg_config(tmp_path: Path) -> None:
    tree = write(tmp_path, {
        "setup.py": "import setupinfo\n",
        "setupinfo.py": "def flags(option):\n"
                        "    return run_command(find_xml2_config(), '--' + option)\n"
                        "XML2_CONFIG = 'xml2-config'\nXSLT_CONFIG = 'xslt-config'\n"
                        "def version(lib):\n    return run_command('pkg-config', "
                        "'--modversion', lib)\nLIBS = ['libxml-2.0', 'libxslt', 'check']\n",
        "src/lxml/etree.c": "#include <Python.h>\n#include <stdio.h>\n#include <omp.h>\n"
                            "#include \"libxml/parser.h\"\n",
    })
    needs = clibs.scan(tree)
    assert set(needs.tools) == {"xml2-config", "xslt-config", "pkg-config"}
    assert "libxml-2.0" in needs.pkgconfig and "check" not in needs.pkgconfig
    chosen = clibs.choose(needs, index())
    # Python.h comes with python3-all-dev, stdio.h and GCC's omp.h are in the builder
    # already (not libdmlc-dev's dmlc/omp.h); pkg-config comes with pkgconf.
    assert chosen.packages == ("libxml2-dev", "libxslt1-dev", "pkgconf")
    assert not chosen.dropped


def test_meson_and_cmake_dependencies(tmp_path: Path) -> None:
    tree = write(tmp_path, {
        "meson.build": "project('x', 'c')\ndep = dependency('libffi', version: '>=3')\n"
                       "z = cc.find_library('yaml')\n",
        "CMakeLists.txt": "pkg_check_modules(XML REQUIRED IMPORTED_TARGET libxml-2.0>=2.9)\n",
        "src/x.c": "#include <zlib.h>\n",
    })
    needs = clibs.scan(tree)
    assert needs.pkgconfig == ("libxml-2.0", "libffi")    # files in sorted order
    chosen = clibs.choose(needs, index())
    # zlib.h under usr/include wins over Poco/zlib.h one directory deeper.
    assert chosen.packages == ("libxml2-dev", "libffi-dev", "libyaml-dev", "zlib1g-dev")


def test_ambiguous_unknown_and_unavailable_names(tmp_path: Path) -> None:
    needs = clibs.NativeNeeds(headers=("common.h", "windows.h", "boost/beast/zlib.hpp"),
                              libraries=("ffi",))
    chosen = clibs.choose(needs, index(), available={"libyaml-dev"})
    assert chosen.packages == ()
    assert any(d.startswith("common.h (ambiguous") for d in chosen.dropped)
    assert "windows.h" not in chosen.describe()         # no package: left to the build


def test_the_list_is_bounded() -> None:
    lines = "".join(f"usr/include/h{i}.h  libdevel/lib{i}-dev\n" for i in range(40))
    needs = clibs.NativeNeeds(headers=tuple(f"h{i}.h" for i in range(40)))
    chosen = clibs.choose(needs, clibs.parse_dev_contents(lines))
    assert len(chosen.packages) == clibs.MAX_DEV_PACKAGES
    assert len(chosen.dropped) == 40 - clibs.MAX_DEV_PACKAGES


def test_scan_reads_no_symlink_and_bounded(tmp_path: Path) -> None:
    outside = tmp_path / "outside.c"
    outside.write_text("#include <yaml.h>\n")
    tree = write(tmp_path / "t", {"a.c": "#include <zlib.h>\n" + "x" * (clibs.FILE_LIMIT + 10)
                                  + "\n#include <ffi.h>\n"})
    os.symlink(outside, tree / "link.c")
    needs = clibs.scan(tree)
    assert needs.headers == ("zlib.h",)


@pytest.mark.parametrize(("files", "kwargs", "why"), [
    ({"Cargo.toml": "[package]\n", "src/lib.rs": "\n"}, {"backend": "maturin"},
     "its build backend is maturin"),
    ({"setup.py": "from setuptools_rust import RustExtension\n"},
     {"requires": ("setuptools", "setuptools-rust")}, "its build requires setuptools-rust"),
])
def test_rust_is_refused(tmp_path: Path, files: dict[str, str], kwargs: dict[str, object],
                         why: str) -> None:
    needs = clibs.scan(write(tmp_path, files))
    with pytest.raises(MappingError) as e:
        clibs.refuse_unbuildable(project(**kwargs), needs)  # type: ignore[arg-type]
    assert e.value.exit_code == 7
    assert why in str(e.value) and "Rust toolchain" in str(e.value)


@pytest.mark.parametrize("files", [
    {"setup.py": "from setuptools_rust import RustExtension\n", "m.c": "\n"},
    # zstandard 0.25: a C extension, and an optional Rust backend (--rust-backend)
    {"Cargo.toml": "[package]\n", "rust-ext/src/lib.rs": "\n", "c-ext/backend_c.c": "\n",
     "setup_zstd.py": "class RustExtension(distutils.extension.Extension): pass\n"},
])
def test_rust_the_sources_only_mention_is_tried(tmp_path: Path, files: dict[str, str]) -> None:
    """Without a maturin backend or a Rust build requirement the build is tried; one that
    then fails for want of cargo is refused (repack.fallback, MissingToolchain)."""
    needs = clibs.scan(write(tmp_path, files))
    assert needs.rust is not None
    clibs.refuse_unbuildable(project(), needs)


def test_cuda_a_vendored_library_mentions_is_tried(tmp_path: Path) -> None:
    """rapidfuzz 3.14 vendors taskflow, whose CMakeLists.txt has optional CUDA support."""
    needs = clibs.scan(write(tmp_path, {
        "CMakeLists.txt": "find_package(Taskflow 4.1.0 QUIET)\n", "src/m.cpp": "\n",
        "extern/taskflow/CMakeLists.txt": "set(CMAKE_CUDA_COMPILER nvcc)\n",
        "extern/taskflow/taskflow/cuda/algorithm/reduce.cu": "\n",
        "extern/taskflow/3rd-party/eigen/bench/gpu.cu": "\n"}))
    assert needs.cuda is None
    clibs.refuse_unbuildable(project(), needs)
    top = clibs.scan(write(tmp_path / "top", {"CMakeLists.txt": "find_package(CUDA)\n"}))
    with pytest.raises(MappingError, match="CMakeLists.txt uses find_package"):
        clibs.refuse_unbuildable(project(), top)


def test_cuda_is_refused_and_plain_c_is_not(tmp_path: Path) -> None:
    cuda = clibs.scan(write(tmp_path / "cuda", {"kern/k.cu": "__global__ void k() {}\n"}))
    with pytest.raises(MappingError, match="CUDA SDK"):
        clibs.refuse_unbuildable(project(), cuda)
    torch = clibs.scan(write(tmp_path / "torch", {
        "setup.py": "from torch.utils.cpp_extension import CUDAExtension\n"}))
    with pytest.raises(MappingError, match="setup.py uses CUDAExtension"):
        clibs.refuse_unbuildable(project(), torch)
    plain = clibs.scan(write(tmp_path / "c", {"m.c": "#include <zlib.h>\n"}))
    clibs.refuse_unbuildable(project(), plain)
    # A Cargo.toml beside pure Python builds nothing from it.
    clibs.refuse_unbuildable(project(native=False),
                             clibs.scan(write(tmp_path / "p", {"Cargo.toml": "\n"})))


@pytest.mark.process
@pytest.mark.parametrize("target", ["debian-12", "el9"])
def test_a_maturin_project_is_refused_before_any_build(tmp_path: Path, target: str) -> None:
    """The real CLI on a real sdist from the loopback index: exit 7 with one line, before
    any builder image or container is used (the cache dir stays without images)."""
    import subprocess
    import sys

    from localindex import LocalIndex
    from sdists import make_sdist

    sdist = make_sdist(tmp_path / "sdists", "rusty", "1.0", {
        "pyproject.toml": b'[build-system]\nrequires = ["maturin>=1,<2"]\n'
                          b'build-backend = "maturin"\n\n[project]\nname = "rusty"\n'
                          b'version = "1.0"\n',
        "Cargo.toml": b"[package]\nname = 'rusty'\n", "src/lib.rs": b"\n"})
    with LocalIndex() as index:
        index.add("rusty", sdist.name, sdist.read_bytes())
        proc = subprocess.run([sys.executable, "-m", "repack", "build", "rusty==1.0", "-t",
                               target, "-o", str(tmp_path / "out")], capture_output=True,
                              text=True, check=False, timeout=120,
                              env={**os.environ, "PIP_INDEX_URL": index.url,
                                   "REPACK_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == 7, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [("error: rusty: needs a Rust toolchain and crates (its build backend is "
                      "maturin), which the offline builder cannot download")], proc.stderr
    assert not (tmp_path / "cache" / "images").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.deb"))


def test_a_contents_index_that_failed_recently_is_not_fetched_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A mirror serving Contents files that do not match its signed Release (trixie's, while
    it syncs) costs one try per RETRY_AFTER, not one per build: the builds go on without."""
    from repack import targets
    from repack.container import images

    image = images.image_for(targets.load("debian-12"), "builder", tmp_path)
    marker = clibs.cache_file(image, tmp_path)
    marker = marker.with_name(marker.name + ".unavailable")
    marker.parent.mkdir(parents=True)
    marker.touch()
    index = clibs.dev_index(None, image, tmp_path,  # type: ignore[arg-type] # no engine used
                            clibs.NativeNeeds(headers=("yaml.h",)))
    assert index == clibs.DevIndex()
    assert "Contents index could not be fetched" in capsys.readouterr().err


def test_an_unverifiable_contents_index_is_looked_up_in_the_targets_fallback_suite(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """fedora-42's stand-in builder (trixie): while the mirror's trixie Contents files do not
    match its signed Release, the names are looked up in the Contents index of the target's
    contents_fallback suite (bookworm's, fetched once and cached beside it), not dropped:
    psycopg2's libpq-fe.h finds libpq-dev instead of the build failing without pg_config."""
    import gzip

    from repack import targets
    from repack.container import images

    target = targets.load("fedora-42")
    assert clibs.fallback_suites(target.contents_fallback) == ["bookworm"]
    image = images.image_for(target, "builder", tmp_path)
    own = clibs.cache_file(image, tmp_path)
    own.parent.mkdir(parents=True)
    own.with_name(own.name + ".unavailable").touch()
    own.with_name(own.name + ".fallback").write_bytes(gzip.compress(
        b"usr/include/postgresql/libpq-fe.h   libdevel/libpq-dev\n" + CONTENTS.encode()
        + b"\n#installed\ngcc\n#headers\nstdio.h\n"))
    needs = clibs.NativeNeeds(headers=("libpq-fe.h", "stdio.h"))
    index = clibs.dev_index(None, image, tmp_path, needs)  # type: ignore[arg-type] # cached
    assert clibs.choose(needs, index).packages == ("libpq-dev",)
    assert index.installed == {"gcc"}
    err = capsys.readouterr().err
    assert "looked up in the Contents of bookworm instead, among the packages of trixie" in err


def test_without_a_fallback_suite_an_unverifiable_contents_index_looks_nothing_up(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """el9's builder (bullseye) names no contents_fallback: nothing stands in."""
    from repack import targets
    from repack.container import images

    image = images.image_for(targets.load("el9"), "builder", tmp_path)
    own = clibs.cache_file(image, tmp_path)
    own.parent.mkdir(parents=True)
    own.with_name(own.name + ".unavailable").touch()
    index = clibs.dev_index(None, image, tmp_path,  # type: ignore[arg-type] # no engine used
                            clibs.NativeNeeds(headers=("libpq-fe.h",)))
    assert index == clibs.DevIndex()
    assert "C libraries are not looked up" in capsys.readouterr().err


DIST_CONTENTS = """\
usr/lib/python3/dist-packages/cryptography-43.0.0.dist-info/METADATA    python/python3-cryptography
usr/lib/python3/dist-packages/cryptography-43.0.0.dist-info/RECORD      python/python3-cryptography
usr/lib/python3/dist-packages/python_dateutil-2.9.0.egg-info/PKG-INFO   python/python3-dateutil
usr/lib/python3/dist-packages/Zope.Interface-7.2-py3.13.egg-info        python/python3-zope.interface
usr/lib/python3/dist-packages/azure_core-1.32.0.dist-info/METADATA      python/python3-azure
usr/lib/python3/dist-packages/evil-1.0.dist-info/METADATA               python/Evil;rm
usr/lib/python3.13/site-packages/other-1.0.dist-info/METADATA           python/python3-other
"""  # noqa: E501 (Contents lines, kept whole)


def test_the_python3_packages_distributions_are_read_with_their_versions() -> None:
    """What an rpm's python3dist() Requires name, in the stand-in's archive: a dist-info's
    or egg-info's name (PEP 503) and version; not another site's, nor a bad package name."""
    idx = clibs.parse_dev_contents(DIST_CONTENTS)
    assert idx.dists == {"cryptography": (("python3-cryptography", "43.0.0"),),
                         "python-dateutil": (("python3-dateutil", "2.9.0"),),
                         "zope-interface": (("python3-zope.interface", "7.2"),),
                         "azure-core": (("python3-azure", "1.32.0"),)}
    assert clibs.parse_dev_contents(DIST_CONTENTS, wanted={"azure-core"}).dists == {
        "azure-core": (("python3-azure", "1.32.0"),)}
