"""[packages.<name>] overrides (issue 11 item 2): checked when repack.toml is read, rendered
into debian/ and the .spec as data, and covered by the build cache key."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest
from examples import make_spec, parsed, rpm_spec
from packaging.utils import NormalizedName
from packaging.version import Version

from repack import buildcache, config, targets
from repack.config import Settings
from repack.container import images
from repack.deb import render
from repack.errors import ConfigError
from repack.model import Overrides, Release, Sdist
from repack.rpm import render as rpm_render
from repack.rpm.build import helper_files

PATCH = b"--- a/tiny/__init__.py\n+++ b/tiny/__init__.py\n@@ -1 +1 @@\n-A = 1\n+A = 2\n"
VALUE = "it's 100% $HOME #1 \"q\" `x`"     # every character the files treat specially

FULL = f"""
[packages.Tiny_Pkg]
depends.deb = ["libpq5 (>= 14)", "libfoo1 | libbar1:any"]
depends.rpm = ["libpq >= 14", "libpq.so.5()(64bit)", "/usr/bin/pg_config"]
build-depends = {{ deb = ["libpq-dev"], rpm = ["libpq-devel"] }}
conflicts = {{ deb = ["python3-tiny-old", "tiny-tools (<< 2)"], rpm = ["python3-tiny-old"] }}
recommends = {{ deb = ["python3-numpy (>= 1:1.20) | python3-scipy"], rpm = ["python3dist(numpy)"] }}
exclude = ["/usr/lib/python3*/*/tiny/tests/*", "/usr/bin/tiny-debug"]
patches = ["patches/0001-fix.patch", "patches/0002-more.diff"]
env = {{ TINY_FLAVOUR = {json.dumps(VALUE)}, CFLAGS_EXTRA = "-O1" }}
requires-dist = ["mypy_extensions >= 1.0", 'tomli; python_version < "3.11"', "mypy_extensions>=1.0"]
"""


def load(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch,
         patch: bytes = PATCH) -> Settings:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "patches").mkdir(exist_ok=True)
    (tmp_path / "patches" / "0001-fix.patch").write_bytes(patch)
    (tmp_path / "patches" / "0002-more.diff").write_bytes(PATCH.replace(b"2", b"3"))
    f = tmp_path / "repack.toml"
    f.write_text(text)
    return config.load(f, environ={})


def full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Overrides:
    return load(tmp_path, FULL, monkeypatch).overrides("tiny-pkg")


def test_a_full_table_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    o = full(tmp_path, monkeypatch)
    assert [[str(r) for r in g] for g in o.depends] == [["libpq5 (>= 14)"],
                                                        ["libfoo1", "libbar1:any"]]
    assert [[str(r) for r in g] for g in o.build_depends] == [["libpq-dev"]]
    assert o.requires == ("libpq >= 14", "libpq.so.5()(64bit)", "/usr/bin/pg_config")
    assert o.build_requires == ("libpq-devel",)
    assert [str(r) for r in o.conflicts] == ["python3-tiny-old", "tiny-tools (<< 2)"]
    assert o.rpm_conflicts == ("python3-tiny-old",)
    assert [[str(r) for r in g] for g in o.recommends] == [["python3-numpy (>= 1:1.20)",
                                                           "python3-scipy"]]
    assert o.rpm_recommends == ("python3dist(numpy)",)
    assert o.exclude == ("/usr/lib/python3*/*/tiny/tests/*", "/usr/bin/tiny-debug")
    assert [(p.name, p.data) for p in o.patches] == [
        ("0001-fix.patch", PATCH), ("0002-more.diff", PATCH.replace(b"2", b"3"))]
    assert o.env == (("CFLAGS_EXTRA", "-O1"), ("TINY_FLAVOUR", VALUE))
    # as packaging writes them, each once
    assert o.requires_dist == ("mypy_extensions>=1.0", 'tomli; python_version < "3.11"')
    # read once: the file changing afterwards changes nothing of the settings
    (tmp_path / "patches" / "0001-fix.patch").write_bytes(b"other")
    assert o.patches[0].data == PATCH


@pytest.mark.parametrize("text, key, message", [
    ('depends = { deb = ["libpq5\\nPackage: evil"] }', "depends", "not one printable line"),
    ('depends = { deb = ["libpq5, evil"] }', "depends", "not a Debian relation"),
    ('depends = { deb = ["libpq5 (>= 1) [amd64]"] }', "depends", "not a Debian relation"),
    ('depends = { deb = ["libpq5 (~ 1)"] }', "depends", "not a Debian relation"),
    ('depends = { deb = ["${shlibs:Depends}"] }', "depends", "not a Debian relation"),
    ('depends = { rpm = ["%{_bindir}/sh"] }', "depends", "not an rpm dependency"),
    ('depends = { rpm = ["libpq, evil"] }', "depends", "not an rpm dependency"),
    ('depends = { rpm = ["libpq\\n%post"] }', "depends", "not an rpm dependency"),
    ('depends = { rpm = ["(a or b)"] }', "depends", "not an rpm dependency"),
    ('depends = { rpm = ["lib(pq"] }', "depends", "unbalanced"),
    ('depends = { apt = ["libpq5"] }', "depends", "per family"),
    ('depends = ["libpq5"]', "depends", "per family"),
    ('build-depends = { deb = ["libpq-dev | "] }', "build-depends", "not a Debian relation"),
    ('conflicts = { deb = ["tiny-a | tiny-b"] }', "conflicts", "one package, not alternatives"),
    ('conflicts = { deb = ["tiny-a\\nProvides: b"] }', "conflicts", "not one printable line"),
    ('conflicts = { rpm = ["tiny-a, b"] }', "conflicts", "not an rpm dependency"),
    ('conflicts = ["a"]', "conflicts", "per family"),
    ('recommends = { deb = ["a\\nDepends: b"] }', "recommends", "not one printable line"),
    ('recommends = { deb = ["a, b"] }', "recommends", "not a Debian relation"),
    ('recommends = { rpm = ["(a or b)"] }', "recommends", "not an rpm dependency"),
    ('recommends = ["a"]', "recommends", "per family"),
    ('exclude = ["usr/lib/x"]', "exclude", "absolute"),
    ('exclude = ["/usr/lib/../../etc"]', "exclude", "absolute"),
    ('exclude = ["/usr/lib/.*"]', "exclude", "absolute"),
    ('exclude = ["/usr/lib/a b"]', "exclude", "absolute"),
    ('exclude = ["/usr/$(rm -rf /)"]', "exclude", "absolute"),
    ('exclude = ["/usr/%{x}"]', "exclude", "absolute"),
    ('exclude = ["/usr//x"]', "exclude", "absolute"),
    ('exclude = "/usr/x"', "exclude", "absolute"),
    ('patches = ["patches/missing.patch"]', "patches", "No such file"),
    ('patches = ["patches"]', "patches", "file name must be"),
    ('patches = ["patches/dir.patch"]', "patches", "not a regular file"),
    ('patches = ["patches/link.patch"]', "patches", "'patches/link.patch'"),
    ('patches = ["patches/empty.patch"]', "patches", "is empty"),
    ('patches = ["patches/0001-fix.patch", "other/0001-fix.patch"]', "patches", "two patches"),
    ('patches = ["patches/0001 fix.patch"]', "patches", "file name must be"),
    ('env = { PATH = "/tmp" }', "env", "PATH may not be set: it selects the programs"),
    ('env = { LD_PRELOAD = "/x.so" }', "env", "LD_PRELOAD may not be set: the dynamic loader"),
    ('env = { PYTHONPATH = "/x" }', "env", "PYTHONPATH may not be set: the interpreter"),
    ('env = { HOME = "/x" }', "env", "HOME may not be set"),
    ('env = { SOURCE_DATE_EPOCH = "1" }', "env", "SOURCE_DATE_EPOCH may not be set: repack"),
    ('env = { DEB_BUILD_OPTIONS = "nostrip" }', "env", "DEB_BUILD_OPTIONS may not be set"),
    ('env = { PIP_FIND_LINKS = "/x" }', "env", "PIP_FIND_LINKS may not be set"),
    ('env = { PERL5OPT = "-MEvil" }', "env", "PERL5OPT may not be set: debhelper"),
    ('env = { TAR_OPTIONS = "-h" }', "env", "TAR_OPTIONS may not be set"),
    ('env = { lower = "x" }', "env", "not a variable name"),
    ('env = { X = "a\\nb" }', "env", "one printable line"),
    ('env = { X = "a\\\\" }', "env", "without a backslash"),
    ('env = { X = " a" }', "env", "surrounding blanks"),
    ('env = { X = 1 }', "env", "one printable line"),
    ('env = "X=1"', "env", "table of strings"),
    ('config-settings = { setup-args = "-Da=1 -Db=2" }', "config-settings", "one word"),
    ('config-settings = { setup-args = ["-Dx=%{_bindir}"] }', "config-settings", "one word"),
    ('config-settings = { setup-args = ["$(rm -rf /)"] }', "config-settings", "one word"),
    ("config-settings = { setup-args = [\"'q'\"] }", "config-settings", "one word"),
    ('config-settings = { setup-args = [] }', "config-settings", "one word"),
    ('config-settings = { setup-args = 1 }', "config-settings", "one word"),
    ('config-settings = { "a b" = "1" }', "config-settings", "not a config setting name"),
    ('config-settings = ["setup-args=-Da=1"]', "config-settings", "table of strings"),
    ('requires-dist = "mypy-extensions"', "requires-dist", "list of PEP 508 requirements"),
    ('requires-dist = [1]', "requires-dist", "list of PEP 508 requirements"),
    ('requires-dist = ["mypy extensions"]', "requires-dist", "not a PEP 508 requirement"),
    ('requires-dist = ["a>=1\\nb"]', "requires-dist", "not a PEP 508 requirement"),
    ('requires-dist = ["evil @ https://example.org/evil.whl"]', "requires-dist", "not a URL"),
    ('requires-dist = ["a===1.0"]', "requires-dist", "arbitrary equality"),
])
def test_a_malformed_table_names_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         text: str, key: str, message: str) -> None:
    (tmp_path / "patches" / "dir.patch").mkdir(parents=True)
    (tmp_path / "patches" / "empty.patch").write_bytes(b"\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "0001-fix.patch").write_bytes(PATCH)
    (tmp_path / "patches" / "target").write_bytes(PATCH)
    os.symlink("target", tmp_path / "patches" / "link.patch")
    with pytest.raises(ConfigError) as e:
        load(tmp_path, f"[packages.tiny]\n{text}\n", monkeypatch)
    assert e.value.exit_code == 2
    assert f"repack.toml: [packages.tiny].{key}: " in str(e.value)
    assert message in str(e.value)


def test_no_override_is_no_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(tmp_path, '[packages.tiny]\nname = "python3-tiny-x"\n', monkeypatch)
    assert settings.overrides("tiny") == Overrides() == settings.overrides("other")
    spec = make_spec()
    assert "rm -rf" not in render.render_files(spec)["rules"]
    assert "patches/series" not in render.render_files(spec)


MESON = ('[packages.tiny]\nconfig-settings = { setup-args = ["-Dsystem-freetype=true", '
         '"-Dsystem-qhull=true"], builddir = "build" }\n')


def test_config_settings_reach_the_hooks_as_a_frontend_passes_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """matplotlib's meson options: the hooks repack runs get what pip and pypa/build give
    for repeated --config-settings (one value a string, more a list); pip the same words."""
    o = load(tmp_path, MESON, monkeypatch).overrides("tiny")
    assert o.config_settings == (("builddir", ("build",)), (
        "setup-args", ("-Dsystem-freetype=true", "-Dsystem-qhull=true")))
    assert o.hook_config_settings() == {
        "builddir": "build", "setup-args": ["-Dsystem-freetype=true", "-Dsystem-qhull=true"]}
    assert o.pip_config_args() == [
        "--config-settings", "builddir=build",
        "--config-settings", "setup-args=-Dsystem-freetype=true",
        "--config-settings", "setup-args=-Dsystem-qhull=true"]
    assert Overrides().hook_config_settings() is None and Overrides().pip_config_args() == []


@pytest.mark.process
def test_config_settings_in_debian_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pybuild's pyproject plugin appends PYBUILD_BUILD_ARGS to its `python3 -m build`."""
    o = load(tmp_path, MESON, monkeypatch).overrides("tiny")
    rules = render.render_files(dataclasses.replace(make_spec(), overrides=o))["rules"]
    makefile = tmp_path / "Makefile"
    makefile.write_text("\n".join(ln for ln in rules.splitlines() if ln.startswith("export "))
                        + "\nall:\n\t@printenv PYBUILD_BUILD_ARGS\n")
    out = subprocess.run(["make", "-s", "-f", str(makefile)], capture_output=True, text=True,
                         check=True, env={"PATH": os.environ["PATH"], "HOME": "/nonexistent"})
    assert out.stdout == ("--config-setting=builddir=build "
                          "--config-setting=setup-args=-Dsystem-freetype=true "
                          "--config-setting=setup-args=-Dsystem-qhull=true\n")
    assert "PYBUILD_BUILD_ARGS" not in render.render_files(make_spec())["rules"]


@pytest.mark.process
def test_config_settings_in_the_rpm_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """%pyproject_wheel (repack's macro file) passes them to pip wheel, before the tree."""
    o = load(tmp_path, MESON, monkeypatch).overrides("tiny")
    text = rpm_render.render_text(dataclasses.replace(rpm_spec(), overrides=o))
    build = text.split("\n%build\n", 1)[1].split("\n%install\n", 1)[0]
    line = next(ln for ln in build.splitlines() if ln.startswith("%global _repack_pip_config"))
    macros = tmp_path / "macros"
    macros.write_bytes(helper_files()["macros.repack-python"])
    pip = subprocess.run(["rpm", "--load", str(macros), "--define", "__python3 /usr/bin/python3",
                          "--define", line.removeprefix("%global "), "--eval", "%pyproject_wheel"],
                         capture_output=True, text=True, check=True).stdout
    assert pip.strip().splitlines()[-1].endswith(
        " --verbose --config-settings builddir=build --config-settings "
        "setup-args=-Dsystem-freetype=true --config-settings setup-args=-Dsystem-qhull=true .")
    assert "_repack_pip_config" not in rpm_render.render_text(rpm_spec())


# --------------------------------------------------------------------------- Debian

def deb_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    o = full(tmp_path, monkeypatch)
    spec = make_spec()
    spec = dataclasses.replace(spec, overrides=o, depends=spec.depends + o.depends,
                               build_depends=spec.build_depends + o.build_depends,
                               recommends=spec.recommends + o.recommends,
                               conflicts=o.conflicts)
    return render.render_files(spec)


def test_debian_control_relations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    control = deb_files(tmp_path, monkeypatch)["control"]
    assert ", libpq5 (>= 14), libfoo1 | libbar1:any\n" in control
    build_depends = next(ln for ln in control.splitlines() if ln.startswith("Build-Depends:"))
    assert build_depends.endswith(", libpq-dev")
    assert "\nConflicts: python3-tiny-old, tiny-tools (<< 2)\n" in control
    assert "\nRecommends: python3-numpy (>= 1:1.20) | python3-scipy\n" in control


@pytest.mark.process
def test_debian_rules_env_and_exclude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """make reads the exported value back exactly, and removes exactly the globs."""
    rules = deb_files(tmp_path, monkeypatch)["rules"]
    assert "\trm -rf debian/python3-django/usr/lib/python3*/*/tiny/tests/*\n" in rules
    assert "\trm -rf debian/python3-django/usr/bin/tiny-debug\n" in rules
    exports = [ln for ln in rules.splitlines() if ln.startswith("export ")]
    makefile = tmp_path / "Makefile"
    makefile.write_text("\n".join(exports) + "\nall:\n\t@printenv TINY_FLAVOUR CFLAGS_EXTRA\n")
    out = subprocess.run(["make", "-s", "-f", str(makefile)], capture_output=True, text=True,
                         check=True, env={"PATH": os.environ["PATH"], "HOME": "/nonexistent"})
    assert out.stdout == f"{VALUE}\n-O1\n"


def test_debian_patches_are_a_quilt_series(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    o = full(tmp_path, monkeypatch)
    spec = dataclasses.replace(make_spec(), overrides=o)
    debian = render.render_debian(spec, tmp_path / "tree")
    assert (debian / "source" / "format").read_text().strip() == "3.0 (quilt)"
    assert (debian / "patches" / "series").read_text() == "0001-fix.patch\n0002-more.diff\n"
    assert (debian / "patches" / "0001-fix.patch").read_bytes() == PATCH


# --------------------------------------------------------------------------- RPM

@pytest.mark.process
def test_rpm_spec_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    o = full(tmp_path, monkeypatch)
    spec = rpm_spec()
    spec = dataclasses.replace(spec, overrides=o, requires=spec.requires + o.requires,
                               build_requires=spec.build_requires + o.build_requires,
                               recommends=o.rpm_recommends, conflicts=o.rpm_conflicts)
    text = rpm_render.render_text(spec)
    lines = text.splitlines()
    assert lines.index("Patch1:         0001-fix.patch") + 1 == \
        lines.index("Patch2:         0002-more.diff")
    assert "%autosetup -p1 -n Django-4.2" in lines
    assert {"Requires:       libpq >= 14", "Requires:       libpq.so.5()(64bit)",
            "Requires:       /usr/bin/pg_config",
            "BuildRequires:  libpq-devel", "Conflicts:      python3-tiny-old",
            "Recommends:     python3dist(numpy)"} <= set(lines)
    out = parsed(tmp_path / "spec", spec)      # rpm itself parses it, macros expanded
    install = out.split("\n%install\n", 1)[1]
    assert "rm -rf " in install and "/usr/lib/python3*/*/tiny/tests/*\n" in install
    export = next(ln for ln in text.splitlines() if ln.startswith("export TINY_FLAVOUR="))
    expanded = subprocess.run(["rpm", "--eval", export], capture_output=True, text=True,
                              check=True).stdout.strip()
    shown = subprocess.run(["sh", "-c", f"{expanded}; printf %s \"$TINY_FLAVOUR\""],
                           capture_output=True, text=True, check=True).stdout
    assert shown == VALUE
    sources = tmp_path / "sources"
    sources.mkdir()
    rpm_render.write_sources(spec, sources)
    assert (sources / "0002-more.diff").read_bytes() == PATCH.replace(b"2", b"3")


# --------------------------------------------------------------------------- the cache key

def test_every_override_changes_the_cache_key(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    target = targets.load("debian-12")
    image = images.image_for(target, "builder", tmp_path)
    image.state_dir.mkdir(parents=True)
    image.archive_file.write_text("{}")
    sdist = Sdist(release=Release(name=NormalizedName("tiny"), version=Version("1.0"),
                                  filename="tiny-1.0.tar.gz", url="https://x/tiny-1.0.tar.gz",
                                  sha256="a" * 64, size=1, requires_python=None, yanked=False,
                                  index_url="https://x/"),
                  path=tmp_path / "tiny-1.0.tar.gz", sha256="a" * 64, verified=("sha256:index",))
    base = load(tmp_path, "", monkeypatch)

    def key(table: str) -> Path:
        s = load(tmp_path, f"[packages.tiny]\n{table}\n", monkeypatch) if table else base
        return buildcache.cache_entry(sdist, target, image, dataclasses.replace(
            s, cache_dir=tmp_path))

    tables = ['depends = { deb = ["libpq5"] }', 'depends = { rpm = ["libpq"] }',
              'build-depends = { deb = ["libpq-dev"] }', 'build-depends = { rpm = ["libpq-d"] }',
              'exclude = ["/usr/bin/x"]', 'patches = ["patches/0001-fix.patch"]',
              'env = { A = "1" }', 'env = { A = "2" }',
              'config-settings = { setup-args = "-Da=1" }', 'conflicts = { deb = ["tiny-a"] }',
              'conflicts = { rpm = ["tiny-a"] }', 'recommends = { deb = ["tiny-a"] }',
              'recommends = { rpm = ["tiny-a"] }', 'requires-dist = ["mypy-extensions"]']
    keys = [key(""), *(key(t) for t in tables)]
    assert len(set(keys)) == len(keys)
    assert key(tables[5]) == key(tables[5])
    # the same path with other bytes is another build
    changed = load(tmp_path, f"[packages.tiny]\n{tables[5]}\n", monkeypatch, patch=PATCH + b" ")
    assert buildcache.cache_entry(sdist, target, image, dataclasses.replace(
        changed, cache_dir=tmp_path)) != key(tables[5])


def test_a_template_override_that_drops_them_is_refused(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's rules.j2 or spec template from before overrides existed would build without
    them: refused, naming what it leaves out."""
    o = full(tmp_path, monkeypatch)
    old = tmp_path / "templates"
    (old / "deb").mkdir(parents=True)
    (old / "deb" / "rules.j2").write_text("#!/usr/bin/make -f\n%:\n\tdh $@\n")
    (old / "rpm").mkdir()
    (old / "rpm" / "python-package.spec.j2").write_text(
        "Name: {{ name }}\n%prep\n%autosetup -n {{ source_dir }}\n")
    with pytest.raises(ConfigError, match=r"leaves out \[packages\] env CFLAGS_EXTRA, env "
                       r"TINY_FLAVOUR, exclude /usr/lib/python3\*/\*/tiny/tests/\*"):
        render.render_files(dataclasses.replace(make_spec(), overrides=o), template_dirs=[old])
    with pytest.raises(ConfigError, match=r"leaves out \[packages\] patch 0001-fix.patch, "
                       r"patch 0002-more.diff, patches \(%autosetup -p1\), env CFLAGS_EXTRA"):
        rpm_render.render_text(dataclasses.replace(rpm_spec(), overrides=o), template_dirs=[old])
    # without overrides the same templates still render
    assert "dh $@" in render.render_files(make_spec(), template_dirs=[old])["rules"]
