"""repack.deb.render: the debian/ templates and the filters that make upstream text safe."""

from __future__ import annotations

import dataclasses
import itertools
import re
import runpy
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import jinja2
import pytest
from debian.changelog import Changelog
from debian.copyright import Copyright
from debian.deb822 import Deb822
from examples import BSD_TEXT, MAINTAINER, VERSION, make_spec, rel
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from sdists import apache_license  # tests/ is on sys.path (see conftest.py)

from repack import log
from repack.deb import render
from repack.errors import ConfigError, MappingError, MetadataError, RepackError
from repack.model import (
    Advisory,
    DebSpec,
    DebVersion,
    Provenance,
)
from repack.trust import provenance

# Every trick we know for escaping a field, a paragraph, a substvar or a changelog entry.
HOSTILE = (
    "Evil\nDepends: evil\n\nPackage: evil\n${shlibs:Depends} ${Newline}Evil: yes\n"
    " .\nFoo: bar\npython-x (9.9) unstable; urgency=high\r\nSource: evil\r"
    "\x00nul\x1b[31mred\x07\x0b\x0cff\x1cfs\x85nel\u2028ls\u2029ps\ttab \u202e\ufeff"
    " é 漢字 🐍 $HOME $$ ${}{x} ${\n"
    " -- Evil <evil@example.org>  Mon, 01 Jan 2024 00:00:00 +0000\n#comment\n.\n..x\n .\n"
)
OURS = ("${misc:Depends}", "${python3:Depends}")


def hostile_spec() -> DebSpec:
    return make_spec(summary=HOSTILE, description=HOSTILE, homepage=HOSTILE, license=HOSTILE,
                     license_text=HOSTILE, copyright=HOSTILE, upstream_name=HOSTILE,
                     source_url="https://example.org/x\nDepends: evil")


@pytest.fixture(autouse=True)
def no_user_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "xdg-config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


def strict_paragraphs(text: str) -> list[list[str]]:
    """Field names per paragraph, refusing anything that is neither a field nor a continuation."""
    paragraphs: list[list[str]] = [[]]
    for line in text.split("\n"):
        if not line:
            if paragraphs[-1]:
                paragraphs.append([])
        elif line.startswith(" "):
            assert paragraphs[-1], f"continuation line outside a field: {line!r}"
        else:
            m = re.fullmatch(r"([A-Za-z][A-Za-z0-9-]*):( .*)?", line)
            assert m, f"not a field: {line!r}"
            paragraphs[-1].append(m[1])
    return [p for p in paragraphs if p]


def parse_copyright(text: str) -> Any:  # python-debian's field descriptors confuse mypy
    return Copyright(text.splitlines(), strict=True)


def parse_control(text: str) -> list[Deb822]:
    return list(Deb822.iter_paragraphs(text.splitlines()))


def unescaped_dollars(text: str) -> list[str]:
    for ours in OURS:
        text = text.replace(ours, "")
    return re.findall(r"\$(?!\{\})..?", text)


def build_tree(tmp_path: Path, spec: DebSpec) -> Path:
    """A tiny setuptools project with the orig tarball beside it and the rendered debian/."""
    tree = tmp_path / f"{spec.source_name}-{spec.upstream_version}"
    (tree / "django").mkdir(parents=True)
    (tree / "django" / "__init__.py").write_text("")
    (tree / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "Django"\nversion = "4.2.11"\n'
    )
    orig = tmp_path / f"{spec.source_name}_{spec.upstream_version}.orig.tar.gz"
    with tarfile.open(orig, "w:gz") as tar:
        tar.add(tree, arcname=tree.name)
    render.render_debian(spec, tree)
    return tree


def gencontrol(tree: Path, *variables: str) -> str:
    (tree / "debian" / "tmp").mkdir(exist_ok=True)
    args = ["dpkg-gencontrol", "-ppython3-django", "-O", *(f"-V{v}" for v in variables)]
    return subprocess.run(args, cwd=tree, check=True, capture_output=True, text=True).stdout


needs = {tool: pytest.mark.skipif(shutil.which(tool) is None, reason=f"{tool} not installed")
         for tool in ("dpkg-parsechangelog", "dpkg-gencontrol", "dpkg-source", "lintian")}


# --- the rendered files for a well-behaved spec ------------------------------------------------

def test_control_fields() -> None:
    text = render.render_files(make_spec())["control"]
    assert strict_paragraphs(text) == [
        ["Source", "Section", "Priority", "Maintainer", "Rules-Requires-Root", "Standards-Version",
         "Build-Depends", "Homepage"],
        ["Package", "Architecture", "Depends", "Suggests", "Description"],
    ]
    source, binary = parse_control(text)
    assert dict(source) == {
        "Source": "python-django", "Section": "python", "Priority": "optional",
        "Maintainer": MAINTAINER, "Rules-Requires-Root": "no", "Standards-Version": "4.6.2",
        "Build-Depends": "debhelper-compat (= 13), dh-sequence-python3, python3-all, "
                         "python3-setuptools (>= 40.8), pybuild-plugin-pyproject",
        "Homepage": "https://www.djangoproject.com/",
    }
    assert binary["Package"] == "python3-django"
    assert binary["Architecture"] == "all"
    assert binary["Depends"] == ("${misc:Depends}, ${python3:Depends}, python3-asgiref (>= 3.6.0), "
                                 "python3-sqlparse (>= 0.3.1) | python3-sqlparse-alt")
    assert binary["Suggests"] == "python3-argon2, python3-bcrypt"
    synopsis, _, extended = binary["Description"].partition("\n")
    assert synopsis == "High-level Python web framework that encourages rapid development and clean"
    assert extended.split("\n") == [
        " Django",
        " .",
        " Django is a high-level Python web framework that encourages rapid development",
        " and clean, pragmatic design. Thanks for checking it out.",
        " .",
        "  * First, read ``docs/intro/install.txt`` for instructions on installing",
        "    Django.",
        "  * Next, work through the tutorials in order.",
        " .",
        "  .. code-block:: python",
        " .",
        "         import django",
    ]


def test_control_optional_fields() -> None:
    spec = make_spec(homepage="javascript:alert(1)", suggests=(), architecture="any",
                     recommends=((rel("python3-tz"),),), depends=(), description="",
                     provides=(rel("python3-dj", "=", "4.2.11"),),
                     build_depends=((rel("debhelper-compat", "=", "13"),),))
    source, binary = parse_control(render.render_files(spec)["control"])
    assert "Homepage" not in source
    assert source["Build-Depends"] == (
        "dh-sequence-python3, python3-all-dev, debhelper-compat (= 13)")
    assert binary["Architecture"] == "any"
    assert binary["Depends"] == "${misc:Depends}, ${python3:Depends}, ${shlibs:Depends}"
    assert binary["Recommends"] == "python3-tz"
    assert binary["Provides"] == "python3-dj (= 4.2.11)"
    assert "Suggests" not in binary
    assert "Python 3 distribution Django" in binary["Description"]


def test_rules() -> None:
    rules = render.render_files(make_spec())["rules"]
    lines = rules.splitlines()
    assert lines[0] == "#!/usr/bin/make -f"
    assert "export PYBUILD_DISABLE=test" in lines
    assert lines[lines.index("%:") + 1] == "\tdh $@ --buildsystem=pybuild --without autoreconf"
    # a fresh tree from the sdist: no clean (setup.py clean would run upstream code) or configure
    assert "override_dh_auto_clean override_dh_auto_configure:" in lines
    assert lines[lines.index("override_dh_python3:") + 1] == "\tdh_python3 --no-guessing-deps"
    assert rules == render.render_files(make_spec())["rules"]  # deterministic


def test_changelog_one_entry() -> None:
    text = render.render_files(make_spec())["changelog"]
    changelog = Changelog(text, strict=True)
    blocks = list(changelog)
    assert len(blocks) == 1
    assert (changelog.package, str(changelog.version)) == ("python-django", VERSION)
    assert (changelog.distributions, changelog.urgency) == ("bookworm", "medium")
    assert changelog.author == MAINTAINER
    assert changelog.date == "Mon, 04 Mar 2024 12:00:00 +0000"
    assert [c for c in blocks[0].changes() if c.strip()] == [
        "  * Built from the PyPI sdist Django 4.2.11 by repack."]


@pytest.mark.process
@needs["dpkg-parsechangelog"]
def test_dpkg_parsechangelog(tmp_path: Path) -> None:
    path = tmp_path / "changelog"
    path.write_text(render.render_files(make_spec())["changelog"])
    out = subprocess.run(["dpkg-parsechangelog", "-l", str(path)], check=True,
                         capture_output=True, text=True)
    fields = dict(parse_control(out.stdout)[0])
    assert fields["Source"] == "python-django"
    assert fields["Version"] == VERSION
    assert fields["Distribution"] == "bookworm"
    assert fields["Maintainer"] == MAINTAINER
    assert fields["Timestamp"] == "1709553600"


def test_copyright_dep5() -> None:
    text = render.render_files(make_spec())["copyright"]
    copyright = parse_copyright(text)
    assert copyright.header.upstream_name == "Django"
    assert copyright.header.source == make_spec().source_url
    upstream, debian = copyright.all_files_paragraphs()
    assert upstream.files == ("*",)
    assert upstream.copyright == "Django Software Foundation and individual contributors"
    assert debian.files == ("debian/*",)
    assert debian.copyright == f"2024 {MAINTAINER}"
    for paragraph in (upstream, debian):
        assert paragraph.license.synopsis == "BSD-3-Clause"
        assert paragraph.license.text == BSD_TEXT.rstrip("\n")
    assert list(copyright.all_license_paragraphs()) == []


def test_copyright_license_text_argument_and_fallback() -> None:
    text = render.render_files(make_spec(), license_text="Custom\ntext")["copyright"]
    assert parse_copyright(text).find_files_paragraph("x").license.text == "Custom\ntext"
    text = render.render_files(make_spec(license_text="", license="", copyright=""))["copyright"]
    upstream = parse_copyright(text).find_files_paragraph("x")
    assert upstream.license.synopsis == "other"
    assert "license files in the upstream source" in upstream.license.text
    assert upstream.copyright == "The Django authors (see the upstream source)"


def test_copyright_points_to_common_licenses_instead_of_their_text() -> None:
    """Policy 12.5: Apache-2.0, the GPLs, ... are in /usr/share/common-licenses; lintian
    refuses their full text in debian/copyright (copyright-not-using-common-license-for-apache2,
    an error).  The text is a real project's LICENSE (pypi-attestations 0.0.19)."""
    apache = apache_license().decode()
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in apache
    # declared Apache-2.0: the pointer alone
    text = render.render_files(make_spec(license="Apache-2.0"), license_text=apache)["copyright"]
    for paragraph in parse_copyright(text).all_files_paragraphs():
        assert paragraph.license.synopsis == "Apache-2.0"
        assert paragraph.license.text == (
            "On Debian systems, the complete text of the Apache License, Version 2.0 can be\n"
            "found in /usr/share/common-licenses/Apache-2.0.")
    assert "TERMS AND CONDITIONS" not in text
    # declared as text (pypi-attestations' License: is the whole text): recognised by content
    text = render.render_files(make_spec(license="UNKNOWN"), license_text=apache)["copyright"]
    upstream = parse_copyright(text).find_files_paragraph("x")
    assert upstream.license.synopsis == "other"
    assert "/usr/share/common-licenses/Apache-2.0" in upstream.license.text
    assert "*.dist-info" in upstream.license.text and "TERMS AND CONDITIONS" not in text
    # SPDX spellings of the GPLs and a mixed expression: the MIT text stays, GPL is pointed to
    text = render.render_files(make_spec(license="MIT OR GPL-2.0-or-later"),
                               license_text="MIT License\n\nPermission is hereby granted")
    upstream = parse_copyright(text["copyright"]).find_files_paragraph("x")
    assert upstream.license.synopsis == "MIT or GPL-2+"
    assert upstream.license.text.startswith("MIT License\n\nPermission is hereby granted")
    assert upstream.license.text.endswith("/usr/share/common-licenses/GPL-2.")
    # a license Debian does not ship keeps its text (test_copyright_dep5: BSD-3-Clause)


# psycopg2 2.9.13's LICENSE (its License: "LGPL with exceptions"), shortened
PSYCOPG2_NOTICE = """psycopg2 and the LGPL
---------------------

psycopg2 is free software: you can redistribute it and/or modify it
under the terms of the GNU Lesser General Public License as published
by the Free Software Foundation, either version 3 of the License, or
(at your option) any later version.

In addition, as a special exception, the copyright holders give
permission to link this program with the OpenSSL library."""


@pytest.mark.parametrize(("text", "files"), [
    (PSYCOPG2_NOTICE, ["LGPL-3"]),
    (("under the terms of the GNU General Public License as published by the Free Software "
      "Foundation; either version 2 of the License, or"), ["GPL-2"]),
    (("GNU Library General Public License as published by the Free Software Foundation; "
      "version 2"), ["LGPL-2"]),
    (("the GNU Affero General Public License as published by the Free Software Foundation, "
      "either version 3"), []),
    ("Permission is hereby granted, free of charge (not the GNU General Public License)", []),
])
def test_a_gnu_notice_gets_the_pointer(text: str, files: list[str]) -> None:
    """A license text that is the FSF's notice of a GNU license, under a name that is no
    DEP-5 expression, keeps the text and points to the common license (lintian:
    copyright-not-using-common-license-for-lgpl, an error, on psycopg2-binary)."""
    pointed = render.license_pointer("other", text, "demo")
    if not files:
        assert pointed is None
        return
    assert pointed is not None and pointed.startswith(text)
    assert re.findall(r"/usr/share/common-licenses/(\S+)\.", pointed) == files
    copyright_text = render.render_files(make_spec(license="LGPL with exceptions"),
                                         license_text=text)["copyright"]
    upstream = parse_copyright(copyright_text).find_files_paragraph("x")
    assert f"/usr/share/common-licenses/{files[0]}" in upstream.license.text


@pytest.mark.parametrize(("short", "file"), [
    ("GPL-3+", "GPL-3"), ("LGPL-2.1", "LGPL-2.1"), ("LGPL-3+", "LGPL-3"), ("MPL-2.0", "MPL-2.0"),
    ("CC0-1.0", "CC0-1.0"), ("GFDL-1.3-or-later", "GFDL-1.3"), ("Apache-2.0 and GPL-2", "GPL-2"),
])
def test_common_license_pointers(short: str, file: str) -> None:
    text = render.license_pointer(short, "some text", "demo")
    assert text is not None and f"/usr/share/common-licenses/{file}." in text
    assert "some text" not in text


def test_description_does_not_repeat_the_synopsis() -> None:
    """rsa's README opens with its summary as a heading (lintian:
    description-synopsis-is-duplicated, an error): that first line goes."""
    def description(summary: str, body: str) -> tuple[str, str]:
        (_source, binary) = parse_control(render.render_files(
            make_spec(summary=summary, description=body))["control"])
        synopsis, _, extended = binary["Description"].partition("\n")
        return synopsis, extended
    synopsis, extended = description("Pure-Python RSA implementation",
                                     "# Pure Python RSA implementation\n\n"
                                     "Python-RSA is a pure-Python RSA implementation.")
    assert synopsis == "Pure-Python RSA implementation"
    assert extended == " Python-RSA is a pure-Python RSA implementation."
    # the synopsis as rendered (article and full stop gone) is what is compared
    synopsis, extended = description("The RSA module.", "RSA module\n\nMore.")
    assert (synopsis, extended) == ("RSA module", " More.")
    # nothing but the synopsis: the default description instead of an empty one
    _, extended = description("Demo tool", "Demo tool")
    assert extended.startswith(" This package provides the Python 3 distribution Django")
    # a longer first line stays
    _, extended = description("Demo tool", "Demo tool does things\n")
    assert extended == " Demo tool does things"


def test_source_format_and_options() -> None:
    files = render.render_files(make_spec())
    assert files["source/format"] == "3.0 (quilt)\n"
    assert 'extend-diff-ignore = "^[^/]+\\.egg-info/"' in files["source/options"]
    overrides = [ln for ln in files["source/lintian-overrides"].splitlines()
                 if ln and not ln.startswith("#")]
    assert overrides == ["python-django source: source-is-missing",
                         "python-django source: source-contains-prebuilt-javascript-object",
                         "python-django source: custom-compression-in-debian-rules",
                         "python-django source: binary-with-bad-dynamic-table"]


# --- render_debian on a tree --------------------------------------------------------------------

def test_render_debian_writes_files_and_modes(tmp_path: Path) -> None:
    debian = render.render_debian(make_spec(), tmp_path)
    assert debian == tmp_path / "debian"
    names = sorted(str(p.relative_to(debian)) for p in debian.rglob("*") if p.is_file())
    assert names == ["changelog", "control", "copyright", "namespaces.py", "rules",
                     "source/format", "source/lintian-overrides", "source/options"]
    assert stat.S_IMODE((debian / "rules").stat().st_mode) == 0o755
    assert stat.S_IMODE((debian / "control").stat().st_mode) == 0o644
    assert "\tpython3 -I debian/namespaces.py debian/python3-django\n" in \
        (debian / "rules").read_text()


NAMESPACE_INITS = {
    "backports.tarfile 1.2.0": "__path__ = __import__('pkgutil').extend_path(__path__, "
                               "__name__)  # type: ignore\n",
    "pkgutil, imported": '"""Namespace."""\nfrom pkgutil import extend_path\n'
                         "__path__ = extend_path(__path__, __name__)\n",
    "pkg_resources with a fallback": "try:\n    __import__('pkg_resources').declare_namespace("
                                     "__name__)\nexcept ImportError:\n    from pkgutil import "
                                     "extend_path\n    __path__ = extend_path(__path__, "
                                     "__name__)\n",
}
NOT_NAMESPACES = {
    "empty (a regular package)": "",
    "a docstring only": '"""A package."""\n',
    "code beside the declaration": "__path__ = __import__('pkgutil').extend_path(__path__, "
                                   "__name__)\nfrom .core import run\n",
    "another name assigned": "x = __import__('pkgutil').extend_path(__path__, __name__)\n",
    "pkgutil imported, nothing declared": "import pkgutil\n",
    "not Python": "__path__ = (\n",
}


def namespaces_script(tmp_path: Path) -> dict[str, object]:
    debian = render.render_debian(make_spec(), tmp_path)
    return runpy.run_path(str(debian / "namespaces.py"))


def test_the_namespace_script_knows_a_declaration_from_a_package(tmp_path: Path) -> None:
    declares = namespaces_script(tmp_path)["declares_namespace"]
    assert callable(declares)
    for what, text in NAMESPACE_INITS.items():
        assert declares(text), what
    for what, text in NOT_NAMESPACES.items():
        assert not declares(text), what


def test_the_namespace_script_leaves_out_only_declarations(tmp_path: Path) -> None:
    main = namespaces_script(tmp_path / "src")["main"]
    assert callable(main)
    pkg = tmp_path / "pkg"
    site = pkg / "usr/lib/python3/dist-packages"
    ns, real = site / "backports/__init__.py", site / "backports/tarfile/__init__.py"
    for path, text in ((ns, NAMESPACE_INITS["backports.tarfile 1.2.0"]),
                       (real, NAMESPACE_INITS["backports.tarfile 1.2.0"] + "VERSION = 1\n")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    main(pkg)
    assert not ns.exists() and real.exists()


@pytest.mark.parametrize("kind", ["dir", "file", "symlink"])
def test_upstream_debian_is_replaced_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(log, "warn", warnings.append)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    tree = tmp_path / "tree"
    tree.mkdir()
    if kind == "dir":
        (tree / "debian").mkdir()
        (tree / "debian" / "postinst").write_text("#!/bin/sh\nrm -rf /\n")
    elif kind == "file":
        (tree / "debian").write_text("junk")
    else:
        (tree / "debian").symlink_to(outside)
    debian = render.render_debian(make_spec(), tree)
    assert not debian.is_symlink() and not (debian / "postinst").exists()
    assert (debian / "control").is_file()
    assert (outside / "keep").read_text() == "keep" and len(list(outside.iterdir())) == 1
    assert len(warnings) == 1 and "debian/" in warnings[0]


def test_refused_spec_leaves_tree_alone(tmp_path: Path) -> None:
    (tmp_path / "debian").mkdir()
    bad = make_spec(depends=((rel("Bad Name"),),))
    with pytest.raises(MappingError):
        render.render_debian(bad, tmp_path)
    assert list((tmp_path / "debian").iterdir()) == []


# --- templates: overrides and the finalize safety net -------------------------------------------

def test_template_override_order(tmp_path: Path, no_user_templates: Path) -> None:
    user = no_user_templates / "repack" / "templates" / "deb" / "source"
    user.mkdir(parents=True)
    (user / "format.j2").write_text("3.0 (native)\n")
    (user / "options.j2").write_text("# user\n")
    assert render.render_files(make_spec())["source/format"] == "3.0 (native)\n"
    package = tmp_path / "per-package"
    (package / "deb" / "source").mkdir(parents=True)
    (package / "deb" / "source" / "format.j2").write_text("3.0 (quilt)\n# per-package\n")
    files = render.render_files(make_spec(), template_dirs=[package, tmp_path / "missing"])
    assert files["source/format"] == "3.0 (quilt)\n# per-package\n"
    assert files["source/options"] == "# user\n"
    assert files["rules"].startswith("#!/usr/bin/make -f\n")


@pytest.mark.parametrize(("body", "error"), [
    ("{{ spec.summary }}", ConfigError), ("{{ spec.homepage }}", ConfigError),
    ("{{ spec.description | deb_url }}", ConfigError), ("{{ nothing }}", jinja2.UndefinedError),
])
def test_override_cannot_print_raw_upstream_text(
    tmp_path: Path, body: str, error: type[Exception]
) -> None:
    (tmp_path / "deb").mkdir()
    (tmp_path / "deb" / "rules.j2").write_text(body)
    with pytest.raises(error):
        render.render_files(hostile_spec(), template_dirs=[tmp_path])
    (tmp_path / "deb" / "rules.j2").write_text("{{ spec.version }} {{ spec.summary | deb_line }}")
    assert render.render_files(make_spec(), template_dirs=[tmp_path])["rules"].startswith(
        f"{VERSION} A high-level Python web framework")


# --- hostile metadata ---------------------------------------------------------------------------

def test_hostile_control_keeps_its_shape() -> None:
    text = render.render_files(hostile_spec())["control"]
    assert strict_paragraphs(text) == [
        ["Source", "Section", "Priority", "Maintainer", "Rules-Requires-Root", "Standards-Version",
         "Build-Depends"],
        ["Package", "Architecture", "Depends", "Suggests", "Description"],
    ]
    source, binary = parse_control(text)
    assert "Homepage" not in source
    assert binary["Depends"].startswith("${misc:Depends}, ${python3:Depends}, python3-asgiref")
    assert unescaped_dollars(text) == []
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\u202e\ufeff]", text)
    synopsis = binary["Description"].split("\n")[0]
    assert synopsis.startswith("Evil Depends: evil Package: evil ${}{shlibs:Depends}")
    assert len(synopsis.replace("${}", "$")) <= 80
    for line in text.split("\n"):
        assert not re.match(r"^ \.\s*\S|^ \s+\.\s*$", line), line


@pytest.mark.process
@needs["dpkg-gencontrol"]
def test_hostile_substvars_survive_dpkg_gencontrol(tmp_path: Path) -> None:
    tree = build_tree(tmp_path, hostile_spec())
    out = gencontrol(tree, "shlibs:Depends=SUBSTITUTED", "Newline=SUBSTITUTED",
                     "misc:Depends=misc-dep", "python3:Depends=python3:any")
    assert "SUBSTITUTED" not in out
    (fields,) = parse_control(out)
    assert fields["Depends"].startswith("misc-dep, python3:any, python3-asgiref (>= 3.6.0)")
    assert "evil" not in fields["Depends"]
    assert "${shlibs:Depends} ${Newline}Evil: yes" in fields["Description"]
    assert "$HOME $$ ${}{x} ${" in fields["Description"]
    assert set(fields) == {"Package", "Source", "Version", "Architecture", "Maintainer",
                           "Installed-Size", "Depends", "Suggests", "Section", "Priority",
                           "Description"}


def test_hostile_changelog_and_copyright() -> None:
    files = render.render_files(hostile_spec())
    changelog = Changelog(files["changelog"], strict=True)
    assert len(list(changelog)) == 1 and str(changelog.version) == VERSION
    assert "evil" not in files["changelog"].lower()
    copyright = parse_copyright(files["copyright"])
    assert strict_paragraphs(files["copyright"]) == [
        ["Format", "Upstream-Name"], ["Files", "Copyright", "License"],
        ["Files", "Copyright", "License"]]
    assert copyright.header.source is None
    upstream, debian = copyright.all_files_paragraphs()
    assert (upstream.files, debian.files) == (("*",), ("debian/*",))
    assert upstream.license.synopsis == debian.license.synopsis == "other"
    assert "${shlibs:Depends} ${Newline}Evil: yes" in upstream.license.text  # no $-escaping here
    assert "Package: evil" in upstream.license.text
    assert "\n" not in copyright.header.upstream_name


@pytest.mark.parametrize("change", [
    {"changes": ("one\n -- Evil <e@x>  Mon, 01 Jan 2024 00:00:00 +0000",)},
    {"changes": ("python-x (9.9) unstable; urgency=high\r",)},
    {"changes": ()}, {"changes": ("",)}, {"urgency": "high\nx"}, {"distribution": "a b"},
    {"maintainer": "Evil\n <e@x>"}, {"date": "yesterday"}, {"date": "Mon, 4 Mar 2024 12:00:00"},
    {"version": DebVersion("1.0\nx")},
])
def test_changelog_refuses_what_is_not_ours(change: dict[str, object]) -> None:
    spec = make_spec()
    entry = dataclasses.replace(spec.changelog, **change)  # type: ignore[arg-type]
    with pytest.raises(RepackError) as info:
        render.render_files(dataclasses.replace(spec, changelog=entry))
    assert type(info.value) is RepackError


# --- real tools on a real source package --------------------------------------------------------

@pytest.mark.process
@needs["dpkg-source"]
@pytest.mark.parametrize("hostile", [False, True])
def test_dpkg_source_builds_and_lintian_is_quiet(tmp_path: Path, hostile: bool) -> None:
    spec = hostile_spec() if hostile else make_spec()
    tree = build_tree(tmp_path, spec)
    subprocess.run(["dpkg-source", "-b", tree.name], cwd=tmp_path, check=True, capture_output=True)
    dsc = tmp_path / f"python-django_{VERSION}.dsc"
    (fields,) = parse_control(dsc.read_text())
    assert fields["Binary"] == "python3-django" and fields["Version"] == VERSION
    if shutil.which("lintian") is None:
        return
    out = subprocess.run(["lintian", "--no-cfg", str(dsc)], check=False, capture_output=True,
                         text=True)
    complaints = [ln for ln in out.stdout.splitlines() if ln[:2] in ("E:", "W:")]
    assert complaints == []


# --- filters ------------------------------------------------------------------------------------

def test_deb_line() -> None:
    assert render.deb_line(" a\n\tb\r\nc\x00d\u2028e ") == "a b c d e"
    assert render.deb_line("cost $5 ${x}") == "cost ${}5 ${}{x}"
    assert render.deb_line("cost $5", dollar=False) == "cost $5"
    assert render.deb_line("\n\x00 ", fallback="fb\nx") == "fb x"
    with pytest.raises(MetadataError):
        render.deb_line(" \n ")


@pytest.mark.parametrize(("summary", "expected"), [
    ("A small library.", "Small library"),
    ("the best tool", "Best tool"),
    ("Another thing", "Another thing"),
    ("x" * 100, "fallback"),                  # cut to 80, one word
    ("word " * 30, ("word " * 16).strip()),
    ("", "fallback"),
    ("threadpoolctl", "fallback"),    # one word (lintian: description-too-short)
    ("the best", "fallback"),
])
def test_deb_synopsis(summary: str, expected: str) -> None:
    assert render.deb_synopsis(summary, "fallback") == expected


def test_deb_description_limits() -> None:
    long = "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(100))
    lines = render.deb_description(long).split("\n")
    assert len(lines) <= render.MAX_DESCRIPTION_LINES
    assert len("\n".join(lines)) <= render.MAX_DESCRIPTION_CHARS + 100
    assert lines[-1] != " ." and all(len(ln) <= 80 for ln in lines)
    assert render.deb_description("x" * 200).split("\n") == [" " + "x" * 78, " " + "x" * 78,
                                                             " " + "x" * 44]
    assert render.deb_description("\n\n.\n- a\n- b\n.hidden\n\n\n") == "  - a\n  - b\n  .hidden"


# six 1.17.0's description opens with three badges; `apt show` printed them as markup.
BADGES = """\
.. image:: https://img.shields.io/pypi/v/six.svg
   :target: https://pypi.org/project/six/
   :alt: six on PyPI

.. |ci| image:: https://github.com/x/y/workflows/ci/badge.svg
|ci| |docs|

[![PyPI](https://img.shields.io/pypi/v/x.svg)](https://pypi.org/x) [![CI](https://b/c.svg)](https://d)
![logo](docs/logo.png)
<p align="center"><img src="logo.png" alt="logo"></p>

Six is a Python 2 and 3 compatibility library; see ![the diagram](d.png) and <b>this</b>.
| a | table |
"""


def test_descriptions_leave_out_badges_and_pictures() -> None:
    """Lines that only show pictures go; text with markup in it stays as written."""
    assert render.deb_description(BADGES) == (
        " Six is a Python 2 and 3 compatibility library; see ![the diagram](d.png) and\n"
        " <b>this</b>.\n | a | table |")
    assert render.deb_description("![logo](x.png)\n", fallback="the summary") == " the summary"


def test_deb_multiline_keeps_layout() -> None:
    assert render.deb_multiline("  a $x\n\n\n\tb\n.\nc") == "   a $x\n .\n         b\n .\n c"
    assert render.deb_multiline("", fallback="fb") == " fb"


def test_deb_lines() -> None:
    assert render.deb_lines("2019 A\n\n 2020 B $\n") == "2019 A\n 2020 B $"
    assert render.deb_lines("\n", fallback="x") == "x"


@pytest.mark.parametrize(("url", "ok"), [
    ("https://www.djangoproject.com/", True), ("http://example.org/a?b=c#d", True),
    ("ftp://example.org/", False), ("https://", False), ("https:///path", False),
    ("https://example.org/a b", False), ("https://example.org/\nDepends: x", False),
    ("https://example.org/${x}", False), ('https://example.org/"', False),
    ("https://exämple.org/", False), ("javascript:alert(1)", False), (None, False),
])
def test_deb_url(url: str | None, ok: bool) -> None:
    assert render.deb_url(url) == (url if ok else None)


@pytest.mark.parametrize(("expression", "short"), [
    ("BSD-3-Clause", "BSD-3-Clause"),
    ("MIT OR Apache-2.0", "MIT or Apache-2.0"),
    ("(MIT OR Apache-2.0) AND BSD-2-Clause", "(MIT or Apache-2.0) and BSD-2-Clause"),
    ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 with LLVM exception"),
    ("GPL-2.0-or-later", "GPL-2+"), ("LGPL-2.1-only", "LGPL-2.1"), ("AGPL-3.0", "AGPL-3"),
    ("BSD License", "other"), ("MIT OR", "other"), ("(MIT", "other"), ("MIT)", "other"),
    ("", "other"), ("MIT\nDepends: evil", "other"), ("OR MIT", "other"), ("UNKNOWN", "other"),
    ("MIT OR unknown", "other"),
])
def test_dep5_license(expression: str, short: str) -> None:
    assert render.dep5_license(expression) == short


def test_relations() -> None:
    groups = ((rel("aa", ">=", "1:2.0~b1"), rel("python3:any")), (rel("c++"),),
              rel("d.d", "=", "1"))
    assert render.relations(groups) == "aa (>= 1:2.0~b1) | python3:any, c++, d.d (= 1)"
    for bad in [rel("a"), rel("Aa"), rel("aa bb"), rel("aa", ">", "1"), rel("aa", ">=", "${x}"),
                rel("aa", ">=", None), rel("aa", None, "1"), rel("aa", ">=", "1\n")]:
        with pytest.raises(MappingError):
            render.relations(((bad,),))
    with pytest.raises(MappingError):
        render.relations(((),))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
       | st.lists(st.sampled_from(["\n", " .", ".", "$", "${a}", "\t", "* x", "Foo: bar", " ",
                                   "\r", "\u2028", "x" * 90, "-", "#", "é"])).map("".join))
def test_description_invariants(text: str) -> None:
    desc = render.deb_description(text, fallback="fallback")
    lines = desc.split("\n")
    assert desc.splitlines() == lines
    assert len(lines) <= render.MAX_DESCRIPTION_LINES
    assert lines[0] != " ." and lines[-1] != " ."
    for a, b in itertools.pairwise(lines):
        assert (a, b) != (" .", " .")
    for line in lines:
        assert line.startswith(" ") and line.rstrip() == line
        assert not re.match(r"^ \.\s*\S|^ \s+\.\s*$", line), line
        assert len(line.replace("${}", "$")) <= 80
        assert not re.search(r"\$(?!\{\})", line)
        assert all(c.isprintable() for c in line)
    one = render.deb_line(text, fallback="fallback")
    assert "\n" not in one and one.isprintable() and not re.search(r"\$(?!\{\})", one)
    assert strict_paragraphs(f"Description: {one}\n{desc}\n") == [["Description"]]


# --- the provenance record ----------------------------------------------------------------------

HOSTILE_PROVENANCE = Provenance(
    project=canonicalize_name("Django"), version="4.2.11", filename="Django-4.2.11.tar.gz",
    url="https://example.org/x\nDepends: evil\n${shlibs:Depends}",
    sha256="ab" * 32, verified=("tls", "sha256:index", "pgp:" + "A" * 40),
    fixes=(Advisory(id="GHSA-2hrw-hx67-34x6", aliases=("CVE-2023-31047",),
                    summary=HOSTILE, fixed_in=("4.2.1",), link=HOSTILE),),
)


def test_provenance_fields_and_doc_keep_their_shape() -> None:
    files = render.render_files(make_spec(provenance=HOSTILE_PROVENANCE))
    paragraphs = strict_paragraphs(files["control"])
    assert paragraphs[1][-7:] == ["XB-Repack-Project", "XB-Repack-Upstream-Version",
                                  "XB-Repack-Source", "XB-Repack-Source-Digest",
                                  "XB-Repack-Verified", "XB-Repack-Fixes", "Description"]
    (_, binary) = parse_control(files["control"])
    assert binary["XB-Repack-Source"] == "https://example.org/x Depends: evil ${}{shlibs:Depends}"
    assert binary["XB-Repack-Fixes"] == "GHSA-2hrw-hx67-34x6 CVE-2023-31047"
    assert unescaped_dollars(files["control"]) == []
    assert files["repack-provenance.json"] == provenance.to_json(HOSTILE_PROVENANCE)
    assert provenance.from_json(files["repack-provenance.json"]).url == \
        "https://example.org/x Depends: evil ${shlibs:Depends}"   # read back cleaned
    assert files["python3-django.docs"] == "debian/repack-provenance.json\n"
    assert "dh_compress -Xrepack-provenance.json" in files["rules"]


@pytest.mark.process
@needs["dpkg-gencontrol"]
def test_provenance_fields_reach_the_binary_control_file(tmp_path: Path) -> None:
    tree = build_tree(tmp_path, make_spec(provenance=HOSTILE_PROVENANCE))
    out = gencontrol(tree, "shlibs:Depends=SUBSTITUTED", "misc:Depends=misc-dep",
                     "python3:Depends=python3:any")
    assert "SUBSTITUTED" not in out
    (fields,) = parse_control(out)
    assert fields["Repack-Source"] == "https://example.org/x Depends: evil ${shlibs:Depends}"
    assert fields["Repack-Verified"] == "tls sha256:index pgp:" + "A" * 40
    assert fields["Repack-Source-Digest"] == "sha256:" + "ab" * 32
    assert "evil" not in fields["Depends"]
