"""C libraries on the rpm targets (issue 11): the spec's BuildRequires in the rpm world's
names (pkgconfig(NAME), else the target's devel_packages table), the target data itself, and
the libraries an rpm's ELF Requires name, found in the stand-in builder's archive for the
import check."""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from examples import rpm_spec

from repack import clibs, targets
from repack.check import elf_sonames
from repack.errors import TargetError
from repack.rpm.naming import devel_requires
from repack.rpm.render import render_spec

# Debian 11's Contents lines (the stand-in builder of el9), as repack keeps them.
CONTENTS = """\
usr/include/yaml.h                                      libdevel/libyaml-dev
usr/lib/x86_64-linux-gnu/libyaml.so                     libdevel/libyaml-dev
usr/lib/x86_64-linux-gnu/libyaml-0.so.2                 libs/libyaml-0-2
usr/lib/x86_64-linux-gnu/libyaml-0.so.2.0.6             libs/libyaml-0-2
usr/lib/x86_64-linux-gnu/pkgconfig/yaml-0.1.pc          libdevel/libyaml-dev
usr/include/libxml2/libxml/parser.h                     libdevel/libxml2-dev
usr/lib/x86_64-linux-gnu/pkgconfig/libxml-2.0.pc        libdevel/libxml2-dev
usr/lib/x86_64-linux-gnu/libxml2.so.2                   libs/libxml2
usr/bin/xml2-config                                     libdevel/libxml2-dev
usr/include/ffi.h                                       libdevel/libffi-dev
usr/include/odd.h                                       libdevel/libodd-dev
lib/x86_64-linux-gnu/libc.so.6                          libs/libc6
lib/x86_64-linux-gnu/libz.so.1                          libs/zlib1g
usr/lib/debug/.build-id/ab/libfoo.so.1                  debug/libfoo1-dbgsym
usr/lib/x86_64-linux-gnu/libbar.so.3                    libdevel/libbar-dev
"""


EL9_TARGET = targets.load("el9")      # the shipped one, with its devel_packages table


def index() -> clibs.DevIndex:
    return clibs.parse_dev_contents(CONTENTS, installed=["libc6", "libc6-dev"])


def test_pkg_config_names_become_pkgconfig_build_requires() -> None:
    needs = clibs.NativeNeeds(pkgconfig=("libxml-2.0",), tools=("xml2-config",),
                              headers=("yaml.h", "ffi.h"), libraries=("yaml",))
    chosen = clibs.choose(needs, index())
    assert chosen.packages == ("libxml2-dev", "libyaml-dev", "libffi-dev")
    assert chosen.pkgconfig == (("libxml2-dev", "libxml-2.0"),)
    # libxml2-dev was asked for as libxml-2.0.pc: whatever package ships it on el9; the
    # others through the target's table (libyaml-dev was not asked for as yaml-0.1.pc)
    assert devel_requires(chosen, EL9_TARGET) == (
        ("pkgconfig(libxml-2.0)", "libyaml-devel", "libffi-devel"), ())


def test_a_dev_package_the_table_does_not_know_is_reported() -> None:
    chosen = clibs.choose(clibs.NativeNeeds(headers=("odd.h", "yaml.h")), index())
    assert devel_requires(chosen, EL9_TARGET) == (("libyaml-devel",), ("libodd-dev",))
    assert devel_requires(clibs.Chosen(packages=(), reasons=()), EL9_TARGET) == ((), ())


@pytest.mark.parametrize("target", ["el9", "fedora-42"])
def test_shipped_tables_map_the_common_libraries(target: str) -> None:
    table = dict(targets.load(target).devel_packages)
    assert {d: table[d] for d in ("libyaml-dev", "libffi-dev", "libxml2-dev", "libxslt1-dev",
                                  "zlib1g-dev", "libssl-dev")} == {
        "libyaml-dev": "libyaml-devel", "libffi-dev": "libffi-devel",
        "libxml2-dev": "libxml2-devel", "libxslt1-dev": "libxslt-devel",
        "zlib1g-dev": "zlib-devel", "libssl-dev": "openssl-devel"}
    assert all(not rpm.endswith("-dev") for rpm in table.values())
    assert not targets.load("debian-12").devel_packages


@pytest.mark.parametrize("table", [
    {"libyaml-dev": 3}, {"libyaml-dev": "libyaml-devel\nRequires: evil"},
    {"Libyaml dev": "libyaml-devel"}, ["libyaml-dev"], {"libyaml-dev": "%{evil}"},
])
def test_a_malformed_devel_packages_table_is_refused(table: object) -> None:
    data = {k: v for k, v in tomllib_el9().items() if k != "devel_packages"}
    with pytest.raises(TargetError, match="devel_packages must be a table"):
        targets.parse("el9", {**data, "devel_packages": table})


def tomllib_el9() -> dict[str, object]:
    return tomllib.loads(resources.files("repack.targets").joinpath("el9.toml").read_text())


def test_the_spec_carries_the_rpm_names(tmp_path: Path) -> None:
    spec = rpm_spec(has_native_code=True)
    spec = dataclasses.replace(spec, build_requires=(*spec.build_requires,
                                                     "pkgconfig(libxml-2.0)", "libyaml-devel"))
    text = render_spec(spec, tmp_path).read_text()
    assert "BuildRequires:  gcc\n" in text
    assert "BuildRequires:  pkgconfig(libxml-2.0)\n" in text
    assert "BuildRequires:  libyaml-devel\n" in text


def test_sonames_map_to_the_runtime_packages_the_builder_lacks() -> None:
    idx = clibs.parse_dev_contents(
        CONTENTS, installed=["libc6"],
        wanted={"libyaml-0.so.2", "libc.so.6", "libz.so.1", "libfoo.so.1", "libbar.so.3",
                "libnone.so.9"})
    assert idx.sonames["libyaml-0.so.2"] == ("libyaml-0-2",)
    assert "libyaml-0.so.2.0.6" not in idx.sonames       # not wanted
    assert clibs.soname_packages(["libyaml-0.so.2", "libc.so.6", "libz.so.1", "libbar.so.3",
                                  "libnone.so.9"], idx) == (
        ["libyaml-0-2", "zlib1g", "libbar-dev"], ["libnone.so.9"])


def test_elf_sonames_of_an_rpm() -> None:
    requires = ["python(abi) = 3.9", "libyaml-0.so.2()(64bit)", "libc.so.6()(64bit)",
                "libc.so.6(GLIBC_2.2.5)(64bit)", "rtld(GNU_HASH)",
                "ld-linux-x86-64.so.2()(64bit)", "libstdc++.so.6(CXXABI_1.3)(64bit)",
                "/usr/bin/python3", "libfoo.so()(64bit)"]
    assert elf_sonames(requires) == ("libyaml-0.so.2", "libc.so.6", "libstdc++.so.6",
                                     "libfoo.so")
