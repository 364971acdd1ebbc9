"""The import check's pure parts (repack.check): which modules and scripts a package's own
file list yields, which packages can be installed together, the driver's argv and how its
output is read.  The containers are tests/integration/test_import_check.py's."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from repack import check, clibs, config, targets
from repack.check import Check, Package

DEB = ("/usr/lib/python3/dist-packages",)
EL9 = check.site_dirs(targets.load("el9"))


def test_site_dirs_per_family() -> None:
    assert check.site_dirs(targets.load("debian-12")) == DEB
    assert EL9 == ("/usr/lib/python3.9/site-packages", "/usr/lib64/python3.9/site-packages")


def test_top_level_modules_come_from_the_installed_files() -> None:
    files = [
        "./", "./usr/lib/python3/dist-packages",
        "./usr/lib/python3/dist-packages/pkg/__init__.py",
        "./usr/lib/python3/dist-packages/pkg/sub/mod.py",            # not top level
        "./usr/lib/python3/dist-packages/single.py",
        "./usr/lib/python3/dist-packages/_speed.cpython-311-x86_64-linux-gnu.so",
        "./usr/lib/python3/dist-packages/plain.so",
        "./usr/lib/python3/dist-packages/pkg-1.0.dist-info/METADATA",
        "./usr/lib/python3/dist-packages/pkg-1.0.dist-info/top_level.txt",
        "./usr/lib/python3/dist-packages/__pycache__/single.cpython-311.pyc",
        "./usr/lib/python3/dist-packages/nspkg-1.0-nspkg.pth",
        "./usr/lib/python3/dist-packages/not-a-name/__init__.py",
        "./usr/lib/python3/dist-packages/README.txt",
        "./usr/share/doc/python3-pkg/copyright",
        "./usr/lib/python3.11/elsewhere.py",                           # not a site dir
    ]
    assert check.top_level_modules(files, DEB) == ("_speed", "pkg", "plain", "single")


def test_a_namespace_directory_is_checked_one_level_in() -> None:
    files = ["/usr/lib/python3/dist-packages/ns/a/__init__.py",
             "/usr/lib/python3/dist-packages/ns/a/deep.py",
             "/usr/lib/python3/dist-packages/ns/b.py",
             "/usr/lib/python3/dist-packages/ns/c/data.txt"]    # no __init__: not a module
    assert check.top_level_modules(files, DEB) == ("ns.a", "ns.b")
    with_init = [*files, "/usr/lib/python3/dist-packages/ns/__init__.py"]
    assert check.top_level_modules(with_init, DEB) == ("ns",)


def test_rpm_modules_in_both_site_dirs() -> None:
    files = ["/usr/lib/python3.9/site-packages/pure/__init__.py",
             "/usr/lib64/python3.9/site-packages/native/__init__.py",
             "/usr/lib64/python3.9/site-packages/native/_c.cpython-39-x86_64-linux-gnu.so"]
    assert check.top_level_modules(files, EL9) == ("native", "pure")


def test_console_scripts_are_the_files_in_usr_bin() -> None:
    files = ["./usr/bin/tool", "./usr/bin/tool-2.0", "./usr/bin/", "./usr/bin/sub/x",
             "./usr/sbin/daemon", "./usr/bin/-rf", "./usr/bin/.hidden"]
    assert check.console_scripts(files) == ("tool", "tool-2.0")


def _pkg(name: str, project: str, files: tuple[str, ...] = (),
         needs: tuple[tuple[str, ...], ...] = (), provides: tuple[str, ...] = ()) -> Package:
    return Package(path=Path(f"{name}.deb"), name=name, project=project, files=files,
                   needs=needs, provides=provides)


def test_metadata_dirs_are_a_packages_own_dist_info() -> None:
    """Which distribution a module is comes from the package's file list (the driver reads
    its METADATA when an import fails): neither dh-python nor %pyproject_install keeps the
    RECORD that importlib.metadata would otherwise map files with."""
    files = ["./usr/lib/python3/dist-packages/a_b-1.0+x.dist-info/METADATA",
             "./usr/lib/python3/dist-packages/a_b-1.0+x.dist-info/",
             "./usr/lib/python3/dist-packages/old-2.egg-info/PKG-INFO",
             "./usr/lib/python3/dist-packages/a/__init__.py",
             "./usr/lib/python3/dist-packages/a/x.dist-info/METADATA",     # not in a site dir
             "./usr/lib/python3/dist-packages/b:c-1.dist-info/METADATA",   # not a plain name
             "./usr/share/doc/x-1.dist-info/METADATA"]
    assert check.metadata_dirs(files, DEB) == ("a_b-1.0+x.dist-info", "old-2.egg-info")


def test_planned_checks_skip_a_project_with_check_false() -> None:
    a = _pkg("python3-a", "a", ("/usr/lib/python3/dist-packages/a.py", "/usr/bin/a-tool",
                                "/usr/lib/python3/dist-packages/a-1.dist-info/METADATA"))
    b = _pkg("python3-b", "b", ("/usr/lib/python3/dist-packages/b.py",))
    checks = check.planned_checks([a, b], DEB, lambda project: project != "b")
    assert checks == (Check(kind="import", name="a", package="python3-a",
                            metadata=("a-1.dist-info",)),
                      Check(kind="script", name="a-tool", package="python3-a"))
    assert [str(c) for c in checks] == ["import a", "/usr/bin/a-tool --help"]
    assert [c.arg() for c in checks] == ["import:a:a-1.dist-info", "script:a-tool"]


def test_scripts_without_help_are_imported_not_run() -> None:
    """fonttools' pyftmerge and ttx refuse --help (upstream's): a project's table may say
    so; its modules are still imported and its other scripts run."""
    init = "/usr/lib/python3/dist-packages/fontTools/__init__.py"
    ft = _pkg("python3-fonttools", "fonttools",
              (init, "/usr/bin/fonttools", "/usr/bin/pyftmerge", "/usr/bin/ttx"))
    other = _pkg("python3-b", "b", ("/usr/bin/ttx",))
    config = {"fonttools": {"pyftmerge", "ttx", "not-a-script"}}

    def without(project: str) -> set[str]:
        return config.get(project, set())

    checks = check.planned_checks([ft, other], DEB, lambda _: True, without)
    assert [str(c) for c in checks] == ["import fontTools", "/usr/bin/fonttools --help",
                                        "/usr/bin/ttx --help"]
    line = ("python3-fonttools: /usr/bin/pyftmerge, /usr/bin/ttx not run with --help: "
            "scripts-without-help under [packages.fonttools]")
    assert check.unhelped([ft, other], lambda _: True, without) == [line]
    assert check.unhelped([ft], lambda _: False, without) == []


def test_installable_needs_the_target_or_the_run() -> None:
    archive = {"python3", "python3-six"}
    top = _pkg("python3-top", "top", needs=(("python3",), ("python3-leaf",)))
    leaf = _pkg("python3-leaf", "leaf", needs=(("python3-six",),))
    alt = _pkg("python3-alt", "alt", needs=(("python3-nowhere", "python3-six"),))
    virtual = _pkg("python3-v", "v", needs=(("python3-virt",),))
    provider = _pkg("python3-p", "p", provides=("python3-virt",))
    kept, why = check.installable([top, leaf, alt, virtual, provider], archive.__contains__)
    assert [p.name for p in kept] == ["python3-top", "python3-leaf", "python3-alt",
                                      "python3-v", "python3-p"] and why == []


def test_a_package_missing_a_dependency_is_not_checked_nor_what_needs_it() -> None:
    mid = _pkg("python3-mid", "mid", needs=(("python3-absent",),))
    top = _pkg("python3-top", "top", needs=(("python3-mid",),))
    fine = _pkg("python3-fine", "fine", needs=(("python3",),))
    kept, why = check.installable([top, mid, fine], {"python3"}.__contains__)
    assert [p.name for p in kept] == ["python3-fine"]
    assert why[0].startswith("python3-mid: not import-checked: it needs python3-absent, ")
    assert why[1].startswith("python3-top: not import-checked: it needs python3-mid, ")
    assert all("--with-deps" in line for line in why)


CHECKS = (Check(kind="import", name="good", package="python3-good"),
          Check(kind="import", name="bad", package="python3-bad"),
          Check(kind="script", name="bad-tool", package="python3-bad"))


def test_driver_argv_passes_names_as_items_never_through_a_shell() -> None:
    argv = check.driver_argv("/usr/bin/python3", CHECKS, EL9)
    assert argv[:3] == ["/usr/bin/python3", "-I", "-c"]
    assert argv[3] == check.DRIVER
    assert argv[4:] == [str(check.STEP_TIMEOUT),
                        "/usr/lib/python3.9/site-packages:/usr/lib64/python3.9/site-packages",
                        "import:good", "import:bad", "script:bad-tool"]
    compile(check.DRIVER, "driver", "exec")      # it is valid Python


def test_failed_checks_read_the_driver_markers_only() -> None:
    output = ("repack-check-failed 1\n  | Traceback ...\n  | RuntimeError: no\n"
              "repack-check-failed 2\n  | repack-check-failed 0\n  | exit status 2\n"
              "repack-check-done 3\n")
    assert check.failed_checks(output, CHECKS) == [CHECKS[1], CHECKS[2]]
    assert check.failed_checks("repack-check-done 3\n", CHECKS) == []


@pytest.mark.parametrize("output", [
    "", "repack-check-failed 1\n",                      # it did not finish
    "repack-check-done 2\n",                            # another count: not this run's
])
def test_a_driver_that_did_not_finish_is_not_a_pass(output: str) -> None:
    assert check.failed_checks(output, CHECKS) is None


def test_an_out_of_range_marker_is_ignored() -> None:
    assert check.failed_checks("repack-check-failed 7\nrepack-check-done 3\n", CHECKS) == []


def dist_info(site: Path, name: str, requires: tuple[str, ...] = (),
              entry_points: str = "") -> None:
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires))
    if entry_points:
        (info / "entry_points.txt").write_text(entry_points)


def script_gate() -> Callable[[str, list[str], list[str]], str | None]:
    """The driver's SCRIPT_GATE, run here by this Python on a site directory of test
    distributions (the driver runs it with the target's python3)."""
    namespace: dict[str, Any] = {}
    exec(compile(check.SCRIPT_GATE, "script-gate", "exec"), namespace)  # noqa: S102 -- repack's own text
    return namespace["script_skipped"]  # type: ignore[no-any-return]


def test_only_console_scripts_entry_points_are_run(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist_info(site, "dill", entry_points="")                    # scripts=['scripts/undill']
    dist_info(site, "tool-app", entry_points=(
        "[console_scripts]\ntool = tool_app.cli:main\n[gui_scripts]\ntool-gui = tool_app:gui\n"))
    skipped = script_gate()
    assert skipped("tool", [str(site)], [str(site)]) is None
    assert "not a console_scripts entry point" in str(skipped("undill", [str(site)], [str(site)]))
    assert "not a console_scripts entry point" in str(skipped("tool-gui", [str(site)],
                                                              [str(site)]))


def test_an_entry_point_needing_an_extra_runs_only_with_the_extra_installed(
        tmp_path: Path) -> None:
    """google-auth-oauthlib: `google-oauthlib-tool = ...:main [tool]`, extra tool = click."""
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    dist_info(site, "google-auth-oauthlib",
              requires=("requests-oauthlib>=0.7.0", 'click>=6.0.0; extra == "tool"'),
              entry_points=("[console_scripts]\ngoogle-oauthlib-tool = "
                            "google_auth_oauthlib.tool.__main__:main [tool]\n"))
    skipped = script_gate()
    why = skipped("google-oauthlib-tool", [str(site)], [str(site), str(elsewhere)])
    assert why == "its entry point needs the extra [tool], and click of it is not installed"
    dist_info(elsewhere, "Click")                       # another site dir, another spelling
    assert skipped("google-oauthlib-tool", [str(site)], [str(site), str(elsewhere)]) is None


def import_gate() -> Callable[[str, str, list[str], list[str], list[str]], str | None]:
    namespace: dict[str, Any] = {}
    exec(compile(check.SCRIPT_GATE, "script-gate", "exec"), namespace)  # noqa: S102 -- repack's own text
    return namespace["import_skipped"]  # type: ignore[no-any-return]


def test_one_parser_reads_requires_dist_for_both_gates(tmp_path: Path) -> None:
    """SCRIPT_GATE's `_requirements`: each Requires-Dist as its normalised name and the
    normalised extras its marker names, which both the script and the import gate read."""
    site = tmp_path / "site"
    dist_info(site, "many", requires=(
        "Foo.Bar[x]>=1 ; extra == 'A_b' or extra == \"c\"", "plain_dep>=2",
        'marked; python_version >= "3"', "!garbage"))
    namespace: dict[str, Any] = {}
    exec(compile(check.SCRIPT_GATE, "script-gate", "exec"), namespace)  # noqa: S102 -- repack's own text
    (dist,) = importlib.metadata.distributions(path=[str(site)])
    assert list(namespace["_requirements"](dist)) == [
        ("foo-bar", {"a-b", "c"}), ("plain-dep", set()), ("marked", set())]
    assert namespace["_extra_requirements"](dist, {"c"}) == {"foo-bar"}
    assert namespace["_extras_only"](dist) == {"foo-bar": {"a-b", "c"}}


BLACKD = ("ImportError: aiohttp dependency is not installed: No module named 'aiohttp'. Please "
          "re-install black with the '[d]' extra install to get daemon support\nexit status 1")


def test_a_module_failing_only_for_an_extras_requirement_is_skipped(tmp_path: Path) -> None:
    """black's blackd imports aiohttp, which only black's extra [d] requires: installing
    python3-black does not bring it, so `import blackd` failing for it is no fault."""
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    dist_info(site, "black", requires=("click>=8.0.0", 'aiohttp>=3.10; extra == "d"',
                                       'click>=8; extra == "d"'))
    dist_info(site, "other")
    # no RECORD, as dh-python and %pyproject_install leave it: the package's own metadata
    # directory (Check.metadata) says whose module it is
    skipped, sites, black = import_gate(), [str(site)], ["black-1.0.dist-info"]
    assert skipped("blackd", BLACKD, sites, [*sites, str(elsewhere)], black) == (
        "it imports aiohttp, which only the extra [d] requires, and it is not installed")
    # a plain requirement's module missing, or another distribution's module: a failure
    assert skipped("black", "No module named 'click'", sites, sites, black) is None
    assert skipped("other", BLACKD, sites, sites, ["other-1.0.dist-info"]) is None
    assert skipped("other", BLACKD, sites, sites, []) is None
    assert skipped("blackd", "SyntaxError: invalid syntax", sites, sites, black) is None
    dist_info(elsewhere, "aiohttp")                     # installed after all: a real failure
    assert skipped("blackd", BLACKD, sites, [*sites, str(elsewhere)], black) is None


@pytest.mark.process
def test_the_driver_does_not_count_an_import_only_an_extra_breaks(tmp_path: Path) -> None:
    """The driver itself, run by this Python on a site directory laid out as dh-python
    leaves it (no RECORD): matplotlib-inline's module imports matplotlib, which only its
    extra [test] requires; another module missing a plain requirement fails."""
    site = tmp_path / "site"
    dist_info(site, "matplotlib-inline",
              requires=("traitlets", 'matplotlib-absent-here; extra == "test"'))
    dist_info(site, "plain", requires=("matplotlib-absent-here",))
    (site / "matplotlib_inline").mkdir()
    (site / "matplotlib_inline" / "__init__.py").write_text("import matplotlib_absent_here\n")
    (site / "plain.py").write_text("import matplotlib_absent_here\n")
    checks = [Check(kind="import", name="matplotlib_inline", package="python3-matplotlib-inline",
                    metadata=("matplotlib_inline-1.0.dist-info",)),
              Check(kind="import", name="plain", package="python3-plain",
                    metadata=("plain-1.0.dist-info",))]
    out = subprocess.run(check.driver_argv(sys.executable, checks, [str(site)]),
                         capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert check.skipped_checks(out, checks) == [(checks[0], (
        "it imports matplotlib-absent-here, which only the extra [test] requires, and it is "
        "not installed"))]
    assert check.failed_checks(out, checks) == [checks[1]]


def test_skipped_checks_read_the_driver_markers_only() -> None:
    output = ("repack-check-skipped 2 not a console_scripts entry point\n"
              "  | repack-check-skipped 1 faked by upstream output\n"
              "repack-check-skipped 9 out of range\n"
              "repack-check-done 3\n")
    assert check.skipped_checks(output, CHECKS) == [
        (CHECKS[2], "not a console_scripts entry point")]
    assert check.failed_checks(output, CHECKS) == []


def test_an_rpm_need_is_met_by_the_stand_in_archive_at_an_admitted_version() -> None:
    """rpm targets: a python3dist() need no package of the run provides is the stand-in
    archive's package that carries the distribution, if its version meets every clause
    (rpm's comparison, `~~` included); else it stays unmet, and the package unchecked."""
    index = clibs.DevIndex(dists={"cryptography": (("python3-cryptography", "43.0.0"),),
                                  "asgiref": (("python3-asgiref", "3.8.1"),),
                                  "six": (("python3-six", "1.17.0"),)},
                           installed=frozenset({"python3-six"}))
    a = Package(path=Path("a.rpm"), name="python3-a", project="a", files=(),
                needs=(("python3dist(cryptography)",), ("python3dist(asgiref)",),
                       ("python3dist(b)",), ("python3dist(six)",)),
                clauses=(("python3dist(cryptography)", ">=", "41"),
                         ("python3dist(asgiref)", ">=", "3.6"),
                         ("python3dist(asgiref)", "<", "4~~")))
    b = Package(path=Path("b.rpm"), name="python3-b", project="b", files=(),
                provides=("python3dist(b)",), needs=(("python3dist(cryptography)",),),
                clauses=(("python3dist(cryptography)", ">=", "44"),))
    assert check.stand_in_dists([a], index) == {
        "python3dist(cryptography)": "python3-cryptography",
        "python3dist(asgiref)": "python3-asgiref", "python3dist(six)": "python3-six"}
    # b asks for a newer cryptography than the archive's: nothing meets both
    met = check.stand_in_dists([a, b], index)
    assert "python3dist(cryptography)" not in met and "python3dist(b)" not in met
    kept, why = check.installable([a, b], met.__contains__)
    assert kept == [] and why[0].startswith("python3-a: not import-checked: it needs "
                                            "python3dist(cryptography), ")


# The check image's dpkg status (Debian 12, trimmed): python3 and what it needs.
CHECK_IMAGE_STATUS = b"""\
Package: python3
Status: install ok installed
Architecture: amd64
Multi-Arch: allowed
Version: 3.11.2-1+b1
Description: interactive high-level object-oriented language

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u13
Provides: libc6-2.36
Description: GNU C Library: Shared libraries

Package: python3-kept
Status: install ok installed
Architecture: all
Version: 1.0-1
Depends: python3:any, python3-pinned (<< 2) | python3-other
Breaks: python3-broken (<< 3), python3-gone-virtual
Conflicts: python3-clash
Description: a package of the image that others' upgrades must not break

Package: python3-pinned
Status: install ok installed
Architecture: all
Version: 1.5-1
Breaks: python3-pinned-foe
Description: replaced by the run's python3-pinned, its own Breaks with it

Package: python3-removed
Status: config-files
Architecture: all
Version: 1.0-1
Conflicts: python3-x
Description: no longer installed: objects to nothing
"""


def _deb_pkg(name: str, version: str = "1.0-0repack1~deb12", **fields: str) -> Package:
    relations = tuple((f.replace("_", "-").title(), v) for f, v in fields.items())
    return Package(path=Path(f"{name}.deb"), name=name, project=name, files=(),
                   version=version, relations=relations)


@pytest.mark.parametrize(("packages", "alone"), [
    ([_deb_pkg("python3-ptyprocess", depends="python3:any, python3")], True),
    ([_deb_pkg("python3-x", depends="python3:any, libc6 (>= 2.34)")], True),
    ([_deb_pkg("python3-x", pre_depends="libc6-2.36")], True),        # a virtual package
    ([_deb_pkg("python3-x", depends="python3-six")], False),          # the archive's
    ([_deb_pkg("python3-x", depends="libc6 (>= 2.40)")], False),      # too old in the image
    ([_deb_pkg("python3-x", depends="python3-six | python3")], True),
    ([_deb_pkg("python3-top", depends="python3:any, python3-leaf (>= 2)"),
      _deb_pkg("python3-leaf", version="2.1-0repack1~deb12", depends="python3:any")], True),
    ([_deb_pkg("python3-top", depends="python3-leaf (>= 3)"),
      _deb_pkg("python3-leaf", version="2.1-0repack1~deb12")], False),
    ([_deb_pkg("python3-top", depends="python3-virt (>= 1)"),
      _deb_pkg("python3-p", provides="python3-virt (= 1.5)")], True),
    ([_deb_pkg("python3-x", depends="python3", breaks="python3 (<< 3.12)")], False),
    ([_deb_pkg("python3-x", depends="python3", conflicts="libc6-2.36")], False),
    ([_deb_pkg("python3-x", depends="python3:any (>= 3.11)")], False),   # left to apt
    # what the image's packages declare against the run's
    ([_deb_pkg("python3-broken", version="2.9-0repack1~deb12")], False),
    ([_deb_pkg("python3-broken", version="3.0-0repack1~deb12")], True),
    ([_deb_pkg("python3-clash")], False),
    ([_deb_pkg("python3-p", provides="python3-gone-virtual")], False),
    ([_deb_pkg("python3-pinned", version="1.9-0repack1~deb12")], True),
    ([_deb_pkg("python3-pinned-foe")], False),
    ([_deb_pkg("python3-pinned", version="1.9-0repack1~deb12"), _deb_pkg("python3-pinned-foe")],
     True),                                   # the image's python3-pinned and its Breaks go
    ([_deb_pkg("python3-pinned", version="2.0-0repack1~deb12")], False),   # kept's Depends
    ([_deb_pkg("python3-pinned", version="2.0-0repack1~deb12"), _deb_pkg("python3-other")],
     True),                                                  # met by its other alternative
])
def test_installs_alone_when_the_image_or_the_run_has_every_dependency(
        packages: list[Package], alone: bool) -> None:
    """dpkg alone installs them, no apt lists read, only when nothing must come from the
    archive and nothing installed would have to go."""
    assert check.installs_alone(packages, CHECK_IMAGE_STATUS) is alone


@pytest.mark.process
def test_a_deb_package_keeps_its_version_and_relation_fields(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: python3-top\nVersion: 2.0-0repack1~deb12\nArchitecture: all\n"
        "Maintainer: t <t@example.org>\nDepends: python3:any, python3-leaf (>= 1)\n"
        "Breaks: python3-old (<< 2)\nRepack-Project: top\nDescription: t\n")
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root),
                    str(tmp_path / "top.deb")], check=True, capture_output=True)
    package = check.deb_package(tmp_path / "top.deb")
    assert package.version == "2.0-0repack1~deb12"
    assert package.relations == (("Depends", "python3:any, python3-leaf (>= 1)"),
                                 ("Breaks", "python3-old (<< 2)"))
    assert package.needs == (("python3",), ("python3-leaf",))
    assert not check.installs_alone([package], CHECK_IMAGE_STATUS)


def test_the_stand_in_installs_what_overrides_declare_for_debian(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """rpm targets: gitpython's `depends = { deb = ["git"], rpm = ["git-core"] }` puts git in
    the Debian stand-in, by name (each group's first), once for the run's packages."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    toml = tmp_path / "repack.toml"
    toml.write_text('[packages.gitpython]\ndepends = { deb = ["git (>= 1:2.30)", "less | more"],'
                    ' rpm = ["git-core"] }\n[packages.other]\ndepends = { rpm = ["x"] }\n')
    settings = config.load(toml, environ={})
    packages = [_pkg("python3-gitpython", "gitpython"), _pkg("python3-other", "other"),
                _pkg("python3-gitpython-extra", "gitpython")]
    assert check.stand_in_declared(packages, settings) == ["git", "less"]
    assert check.stand_in_declared([_pkg("python3-other", "other")], settings) == []
