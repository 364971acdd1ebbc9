"""The pure parts of benchmarks/breadth.py: the corpus file is valid (>= 150 projects ranked
121-600, unique, each with a kind and a reason), sdists are classified by their members and
build files, and builds are grouped and summarised as the benchmark prints them."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from repack import config
from repack.model import Relation

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from breadth import (
    CORPUS,
    KINDS,
    MIN_ENTRIES,
    OVERRIDES,
    BenchError,
    CorpusEntry,
    Options,
    Outcome,
    Sdist,
    Stop,
    append_record,
    as_json,
    cause,
    classify,
    coverage,
    first_error,
    images_state,
    lint_tag,
    lintian_command,
    needs_deps,
    normalise,
    not_checked,
    parse_args,
    percentile,
    plan,
    prerelease_pin,
    provenance,
    read_corpus,
    read_record,
    report,
    select,
    summarise,
    table,
)


def test_corpus_file_is_valid() -> None:
    entries = read_corpus(CORPUS)
    assert len(entries) >= MIN_ENTRIES
    assert all(121 <= e.rank <= 600 for e in entries)
    assert len({e.name.lower() for e in entries}) == len(entries)
    assert len({e.rank for e in entries}) == len(entries)
    assert all(e.kind in KINDS and e.reason for e in entries)
    kinds = Counter(e.kind for e in entries)
    # the corpus is not all of one kind: both goals have projects to judge
    assert kinds["pure"] >= 100 and kinds["c-vendored"] + kinds["c-with-archive-libs"] >= 10
    assert all(e.libs for e in entries if e.kind == "c-with-archive-libs")


@pytest.mark.parametrize(("row", "message"), [
    ("120\tfoo\tpure\t\twhy", "not within 121-600"),
    ("601\tfoo\tpure\t\twhy", "not within 121-600"),
    ("200\tfoo\tfortran\t\twhy", "unknown kind"),
    ("200\tfoo\tpure\t\t", "no reason"),
    ("200\tfoo\tpure\t\twhy\n201\tFoo\tpure\t\twhy", "listed twice"),
])
def test_bad_corpus_rows_are_refused(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "corpus.tsv"
    path.write_text(f"# comment\nrank\tname\tkind\tlibs\treason\n{row}\n")
    with pytest.raises(BenchError, match=message):
        read_corpus(path)


def test_select_only_and_limit() -> None:
    entries = read_corpus(CORPUS)
    assert [e.name for e in select(entries, [], 3)] == [e.name for e in entries[:3]]
    last = entries[-1].name
    assert [e.name for e in select(entries, [last.upper()], None)] == [last]
    with pytest.raises(BenchError, match="not in the corpus: no-such-project"):
        select(entries, ["no-such-project"], None)
    # the next slice: rows 26 to 55
    assert select(entries, [], 30, 25) == entries[25:55]
    assert select(entries, [], None, len(entries)) == []
    two = [entries[0].name, entries[5].name, entries[9].name]
    assert [e.name for e in select(entries, two, 1, 1)] == [entries[5].name]


def sdist(members: list[str], **texts: str) -> Sdist:
    return Sdist("x-1.0.tar.gz", tuple(members),
                 {k.replace("_", ".", 1) if k != "setup_py" else "setup.py": v
                  for k, v in texts.items()})


def test_classify() -> None:
    assert classify(None) == ("no-sdist", (), "")
    pure = sdist(["x/__init__.py", "tests/helper.c", "PC/launcher.c"],
                 pyproject_toml='[build-system]\nbuild-backend = "hatchling.build"\n')
    assert classify(pure) == ("pure", (), "hatchling")
    vendored = sdist(["src/_x.c", "deps/lib/lib.c"], setup_py="Extension('x', ['src/_x.c'])")
    assert classify(vendored) == ("c-vendored", (), "setuptools (setup.py)")
    linked = sdist(["src/_x.c"], setup_py="libraries=['pq', 'm', 'ws2_32']\npg_config")
    assert classify(linked) == ("c-with-archive-libs", ("pq",), "setuptools (setup.py)")
    maturin = sdist(["Cargo.toml", "src/lib.rs"],
                    pyproject_toml='[build-system]\nbuild-backend = "maturin"\n')
    assert classify(maturin)[0] == "rust"
    # an optional Rust backend next to a C extension is not a Rust project
    optional = sdist(["Cargo.toml", "c-ext/backend.c"], setup_py="from setuptools import setup")
    assert classify(optional)[0] == "c-vendored"
    assert classify(sdist(["kernels/k.cu", "x.cpp"]))[0] == "cuda"
    assert classify(sdist(["bench/k.cu", "x.cpp"]))[0] == "c-vendored"


def outcome(name: str, kind: str, code: int = 0, *, seconds: float = 5.0, error: str = "",
            lint: bool | None = True, imported: bool | None = True,
            target: str = "debian-12", with_deps: bool = False,
            alone_error: str = "") -> Outcome:
    return Outcome(name, target, kind, code, seconds, error,
                   lint if code == 0 else None, "" if lint is not False else "some-tag",
                   imported if code == 0 else None, with_deps=with_deps,
                   alone_error=alone_error)


def test_a_project_with_only_pre_releases_is_built_as_the_hint_names() -> None:
    """opentelemetry-instrumentation has only pre-releases: repack refuses with exit 3 and a hint
    naming the newest; the benchmark then builds that pin, as a user would, and says so."""
    hint = ("hint: ask for a pre-release explicitly, e.g. "
            "opentelemetry-instrumentation==0.50b0")
    assert prerelease_pin(3, hint, "opentelemetry-instrumentation") == \
        "opentelemetry-instrumentation==0.50b0"
    assert prerelease_pin(7, hint, "opentelemetry-instrumentation") == ""
    assert prerelease_pin(3, "hint: newest versions: 1.0", "x") == ""
    # only a version reaches the command line, and only a pre-release one
    assert prerelease_pin(3, "hint: ask for a pre-release explicitly, e.g. x==1.0", "x") == ""
    assert prerelease_pin(3, "hint: ask for a pre-release explicitly, e.g. x==--evil", "x") == ""
    assert prerelease_pin(3, "hint: ask for a pre-release explicitly, e.g. x==1b1 y", "x") == ""
    pinned = Outcome("otel", "debian-12", "pure", 0, 5.0, lint_clean=True, imported=True,
                     pinned="otel==0.50b0")
    goal = summarise("debian-12", [pinned, outcome("p", "pure")]).goals[0]
    assert goal.value == "2 of 2 (100%), 1 as the pre-release repack's hint names"


def test_normalise_groups_one_cause_across_projects() -> None:
    a = normalise("error: foo-bar: foo-bar==2.0 requires Python >=3.12; Debian 12 (bookworm) "
                  "has 3.11.2", "foo-bar")
    b = normalise("error: baz: baz==10.1.3 requires Python >=3.13; Debian 12 (bookworm) "
                  "has 3.11.2", "baz")
    assert a == b
    assert "<name>" in a and "3.11" not in a
    assert normalise("error: mcp: python3-mcp would replace /usr/bin/mcp", "mcp") == \
        "python3-<name> would replace <path>"
    assert normalise("error: x: cannot read /tmp/a/b/c.txt (deadbeefcafe1234)", "x") == \
        "cannot read <path> (<hex>)"


def test_cause_and_groups() -> None:
    assert cause(outcome("a", "pure")) is None
    assert cause(outcome("a", "pure", lint=False)) == "lint: some-tag"
    assert cause(outcome("a", "pure", imported=False)) == "import check failed"
    failed = outcome("a", "pure", 8, error="error: a: the build step failed")
    assert cause(failed) == "exit 8: the build step failed"
    assert outcome("a", "pure", 3, error="error: a: not found on https://x/").group == \
        "not on the index"
    assert outcome("a", "pure", 7, error="error: a: a==2 requires Python >=4").group == \
        "python excluded"
    assert outcome("a", "rust", 8, error="error: a: cargo").group == "cannot map"
    # pyopenssl --with-deps on Debian 12: its cryptography needs Rust, named before any build
    rusty = outcome("pyopenssl", "pure", 7, error="error: cryptography: needs a Rust toolchain "
                    "and crates (its build backend is maturin), which the offline builder "
                    "cannot download")
    assert rusty.group == "needs Rust/CUDA"
    assert summarise("debian-12", [rusty]).apart == {"needs Rust/CUDA": 1}


def test_a_dependency_the_index_has_only_as_wheels_counts_apart() -> None:
    error = "error: langchain: certifi: 2026.10.19 has only wheels, no sdist"
    assert outcome("langchain", "pure", 3, error=error, with_deps=True).group == \
        "not on the index"
    assert outcome("langchain", "pure", 3, error=error).group == "pure"


def test_a_build_stopped_by_a_signal_counts_apart() -> None:
    # scikit-learn on el9, its compile stopped with SIGTERM: repack exits 143, measuring nothing
    stopped = outcome("scikit-learn", "c-vendored", 143, error="error: interrupted",
                      target="el9")
    assert stopped.group == "interrupted"
    s = summarise("el9", [stopped, outcome("msgpack", "c-vendored", target="el9")])
    assert s.apart == {"interrupted": 1}
    assert s.causes == []
    assert [g.value for g in s.goals if "C code" in g.what] == ["1 of 1 (100%)"]
    # past --build-timeout and still running a minute after SIGTERM: killed, the same stop
    killed = outcome("contourpy", "c-vendored", 137, target="el9",
                     error="error: stopped after 12 minutes (--build-timeout)")
    assert killed.group == "interrupted"
    assert outcome("x", "pure", 137, error="error: Killed").group == "pure"   # the OOM killer
    assert outcome("a", "pure", 8, error="error: a: failed").group == "pure"


def test_lint_tag() -> None:
    assert lint_tag("W: x: warn\nE: python3-x: bad-thing some/file\n") == "bad-thing"
    assert lint_tag("python3-x.noarch: E: rpm-bad detail\n") == "rpm-bad"
    assert lint_tag("") == ""


def test_lintian_runs_in_the_targets_image_offline_on_a_read_only_mount() -> None:
    changes = Path("/some/out/debian-13/python-x_1.0-0repack1~deb13_amd64.changes")
    options = ["--fail-on", "error", "--no-tag-display-limit"]
    assert lintian_command(None, changes) == ["lintian", *options, str(changes)]
    argv = lintian_command("localhost/breadth-lintian-debian-13:0123456789abcdef", changes)
    at = argv.index("localhost/breadth-lintian-debian-13:0123456789abcdef")
    assert argv[at + 1:] == ["lintian", *options, f"/lint/{changes.name}"]
    assert argv[argv.index("--network") + 1] == "none"
    assert argv[argv.index("--volume") + 1] == "/some/out/debian-13:/lint:ro"
    assert "--rm" in argv[:at]


def test_a_build_with_deps_runs_in_the_kept_cache_of_its_target(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Alone: a fresh cache and the run's timeout; again --with-deps: deps_cache/TARGET and
    deps_timeout, said in the outcome (`warm`)."""
    import breadth
    calls: list[dict[str, Any]] = []

    def fake_once(entry: Any, target: str, opts: Options, **kw: Any) -> Outcome:
        calls.append(kw)
        if not kw.get("with_deps"):
            return Outcome(entry.name, target, entry.kind, 14, 5.0, unchecked="x",
                           error="error: a: the import check failed on debian-12: the "
                                 "packages python3-a do not install")
        return Outcome(entry.name, target, entry.kind, 0, 9.0, lint_clean=True, imported=True)

    monkeypatch.setattr(breadth, "build_once", fake_once)
    entry = CorpusEntry(200, "a", "pure", (), "why")
    opts = Options(source_cache=tmp_path, timeout=60.0, deps_cache=tmp_path / "deps",
                   deps_timeout=1800.0)
    o = breadth.build(entry, "debian-12", opts)
    assert calls == [{}, {"spec": None, "with_deps": True, "cache": tmp_path / "deps" / "debian-12",
                          "timeout": 1800.0}]
    assert o.built and o.with_deps and o.warm
    calls.clear()
    cold = breadth.build(entry, "debian-12", Options(source_cache=tmp_path, timeout=60.0))
    assert calls[1]["cache"] is None and calls[1]["timeout"] == 60.0 and not cold.warm


def test_images_state_refreshes_the_images_and_keeps_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "images" / "debian-12").mkdir(parents=True)
    (source / "images" / "debian-12" / "archive.json").write_text("new")
    (source / "images" / "repack-image-x.tar").write_text("a tarball, not state")
    cache = tmp_path / "deps" / "debian-12"
    (cache / "images" / "debian-12").mkdir(parents=True)
    (cache / "images" / "debian-12" / "archive.json").write_text("old")
    (cache / "builds").mkdir()
    (cache / "builds" / "grpcio").write_text("built once")
    assert images_state(source, cache) == cache
    assert (cache / "images" / "debian-12" / "archive.json").read_text() == "new"
    assert (cache / "builds" / "grpcio").read_text() == "built once"
    assert not (cache / "images" / "repack-image-x.tar").exists()


def test_percentile() -> None:
    assert percentile([], 90) is None
    assert percentile([3.0], 90) == 3.0
    assert percentile([float(i) for i in range(1, 11)], 90) == 9.0
    assert percentile([float(i) for i in range(1, 11)], 50) == 5.0


def test_summary_counts_goals_and_causes() -> None:
    outcomes = [
        *[outcome(f"p{i}", "pure", seconds=float(i)) for i in range(1, 20)],
        outcome("broken", "pure", 8, error="error: broken: dpkg-buildpackage failed"),
        outcome("old", "pure", 7, error="error: old: old==2 requires Python >=3.14"),
        outcome("gone", "pure", 3, error="error: gone: not found on https://pypi.org/simple/"),
        outcome("ext", "c-vendored", seconds=30.0),
        outcome("linked", "c-with-archive-libs", lint=False, seconds=40.0),
        outcome("rs", "rust", 8, error="error: rs: cargo not found"),
        outcome("other", "pure", target="el9"),
    ]
    s = summarise("debian-12", outcomes)
    assert (s.builds, s.built, s.lint_clean, s.imported) == (25, 21, 20, 21)
    assert s.apart == {"cannot map": 1, "not on the index": 1, "python excluded": 1}
    assert s.causes == [("exit 8: dpkg-buildpackage failed", 1), ("lint: some-tag", 1)]
    assert s.pure_median_s == 10.0 and s.median_s == 11.0
    pure, c, median = s.goals
    assert (pure.value, pure.verdict) == ("19 of 20 (95%)", "met")
    assert (c.value, c.verdict) == ("1 of 2 (50%)", "MISSED")
    assert (median.value, median.verdict) == ("10.0 s", "met")
    text = "\n".join(report([s], subset=" (subset)"))
    data = json.loads(json.dumps(as_json([s], outcomes, " (subset: 2 of 3)")))
    assert data["subset"] == "subset: 2 of 3"
    assert data["targets"][0]["goals"][1]["verdict"] == "MISSED"
    assert {b["name"]: b["group"] for b in data["builds"]}["gone"] == "not on the index"
    assert "MISSED debian-12" in text and "goals (subset):" in text
    # not debian-12: no median goal; imports not checked: a rate goal is not judged met
    el9 = summarise("el9", [outcome("x", "pure", imported=None, target="el9")])
    assert el9.imported is None and len(el9.goals) == 2
    assert (el9.goals[0].verdict, el9.goals[0].note) == ("n/a", "imports not checked")
    assert el9.goals[1].value == "0 of 0"


def test_options() -> None:
    args = parse_args(["-t", "el9", "--only", "six", "--limit", "3", "--json", "--no-check"])
    assert (args.target, args.only, args.limit, args.json, args.no_check) == \
        (["el9"], ["six"], 3, True, True)
    with pytest.raises(SystemExit):
        parse_args(["-t", "windows"])
    with pytest.raises(SystemExit):
        parse_args(["--limit", "0"])
    assert parse_args(["--skip", "25"]).skip == 25 and parse_args([]).skip == 0
    with pytest.raises(SystemExit):
        parse_args(["--skip", "-1"])


def test_a_build_whose_import_check_was_skipped_is_not_counted_imported() -> None:
    """opentelemetry-instrumentation builds, but repack warns it was not import-checked (its
    opentelemetry-api is not in Debian 12): that is no proof it imports."""
    stderr = ("  › Checking the build's output against the rendered packages\n"
              "warning: python3-foo: not import-checked: it needs python3-bar, which neither "
              "the target nor this run provides (build it too, e.g. with --with-deps)\n"
              "built out/debian-12/python3-foo_1.0-0repack1~deb12_all.deb\n")
    why = not_checked(stderr)
    assert why.startswith("python3-foo: not import-checked: it needs python3-bar")
    assert not_checked("warning: foo: something else\n") == ""
    skipped = Outcome("foo", "debian-12", "pure", 0, 5.0, lint_clean=True, imported=False,
                      unchecked=why)
    assert not skipped.ok
    assert cause(skipped) is not None and "not import-checked" in (cause(skipped) or "")


def test_a_build_that_needs_newer_dependencies_counts_apart() -> None:
    """sse-starlette on Debian 12: its packages do not install alone (starlette and anyio are
    too old there), so the benchmark builds it again with --with-deps, as a team would; the
    table and the goals say how many needed that, and their times stay out of the medians."""
    not_installing = ("error: sse-starlette: the import check failed on debian-12: the packages "
                      "python3-sse-starlette do not install")
    assert needs_deps(14, not_installing)
    assert not needs_deps(14, "error: x: the import check failed on debian-12: x: "
                              "import x failed")
    assert not needs_deps(8, not_installing)
    outcomes = [outcome("p1", "pure", seconds=10.0), outcome("p2", "pure", seconds=12.0),
                outcome("sse-starlette", "pure", seconds=60.0, with_deps=True,
                        alone_error=not_installing),
                outcome("still", "pure", 8, error="error: still: dpkg-buildpackage failed",
                        with_deps=True, alone_error=not_installing)]
    s = summarise("debian-12", outcomes)
    assert (s.built, s.with_deps) == (3, 1)
    assert s.median_s == 11.0 and s.pure_median_s == 11.0     # not the 60 s --with-deps run
    assert s.causes == [("with --with-deps: exit 8: dpkg-buildpackage failed", 1)]
    assert s.goals[0].value == "3 of 4 (75%), 1 of them with --with-deps"
    assert "| debian-12 | 4 | 3 | 3 | 3 | 1 | 11.0 |" in "\n".join(table([s]))
    builds = as_json([s], outcomes, "")["builds"]
    assert builds[2]["with_deps"] and builds[2]["alone_error"] == not_installing


def test_a_failed_command_is_grouped_by_the_exception_it_printed() -> None:
    """coverage 7.10.7 on el9: the hook script's command line says nothing; its last
    exception (Debian 11's setuptools 52 lacks setuptools.errors.CCompilerError) does."""
    stderr = ("  › Asking the backend for its build requirements (in the container, offline)\n"
              "Traceback (most recent call last):\n"
              '  File "setup.py", line 129, in <module>\n'
              "    errors.CCompilerError,\n"
              "AttributeError: module 'setuptools.errors' has no attribute 'CCompilerError'\n"
              "error: coverage: command failed with exit code 1: /usr/bin/podman exec "
              "repack-b7b4 python3 -c 'import importlib, json'\n")
    line = first_error(stderr)
    assert line == ("error: coverage: AttributeError: module 'setuptools.errors' has no "
                    "attribute 'CCompilerError' (a command failed)")
    assert normalise(line, "coverage").startswith("AttributeError: module 'setuptools.errors'")
    # other errors, and a failed command without an exception, stay as they are
    assert first_error("error: x: dpkg-buildpackage failed\n") == \
        "error: x: dpkg-buildpackage failed"
    # rpmbuild's own error line in the log's tail comes first; repack's, last, names the
    # dependency that failed (pynacl --with-deps on fedora-42)
    rpm = ("  src/c/_cffi_backend.c:15:10: fatal error: ffi.h: No such file or directory\n"
           "error: Bad exit status from /var/tmp/rpm-tmp.z3iFrO (%build)\n"
           "    Bad exit status from /var/tmp/rpm-tmp.z3iFrO (%build)\n"
           "error: cffi 2.1.1 for fedora-42 failed (cffi: command failed with exit code 1: "
           "/usr/bin/podman exec repack-359509faeeeb rpmbuild -ba --nodeps)\n"
           "hint: built packages are in /tmp/out\n")
    assert normalise(first_error(rpm), "pynacl").startswith(
        "cffi <v> for fedora-<v> failed (cffi: command failed with exit code <v>: <path> exec")
    assert first_error("E: oops\nerror: x: command failed with exit code 2: make\n") == \
        "error: x: command failed with exit code 2: make"
    assert first_error("no error line\n") == "no error line"


def test_the_benchmarks_overrides_are_a_valid_config(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """benchmarks/breadth-repack.toml, which every benchmark build is given, reads as a
    repack config; each table is a project of the corpus, or a dependency one of them is
    built with, and says why it is there."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    settings = config.load(OVERRIDES, environ={})
    gitpython = settings.overrides("GitPython")
    assert gitpython.depends == ((Relation(name="git", op=None, version=None),),)
    assert gitpython.requires == ("git-core",)
    names = {e.name.lower() for e in read_corpus(CORPUS)}
    text = OVERRIDES.read_text()
    tables = re.findall(r"^\[packages\.([^\]]+)\]", text, re.MULTILINE)
    assert tables
    for name in tables:     # comment lines right above each table
        comment = text.split(f"[packages.{name}]", 1)[0].rstrip("\n").split("\n\n")[-1]
        assert comment.startswith("# ")
        # a dependency's table names the corpus project whose --with-deps build needs it
        assert name in names or any(f"{n} --with-deps" in comment.replace("\n# ", " ")
                                    for n in names), name


def test_stop_after_minutes_and_on_sigterm() -> None:
    never, now, later = Stop(None), Stop(0), Stop(60)
    assert not never.now() and never.why == ""
    assert now.now() and now.why == "--stop-after"
    assert not later.now()
    later.term(15, None)             # main() makes it the SIGTERM handler
    assert later.now() and later.why == "SIGTERM"


def test_ctrl_c_prints_the_table_of_the_builds_before_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C reaches the build under way too: that build does not count, the run stops and
    prints what ran, instead of a traceback."""
    import breadth
    built: list[str] = []

    def fake_build(entry: Any, target: str, _opts: Any) -> Outcome:
        if built:
            raise KeyboardInterrupt
        built.append(entry.name)
        return Outcome(entry.name, target, entry.kind, 0, 5.0, lint_clean=True, imported=True)

    monkeypatch.setattr(breadth, "ready_images", lambda targets, cache: {})
    monkeypatch.setattr(breadth, "check_supported", lambda: True)
    monkeypatch.setattr(breadth, "build", fake_build)
    monkeypatch.setattr(breadth, "cpu_seconds", lambda: 0.5)
    code = breadth.main(["-t", "debian-12", "--limit", "3"])
    out, err = capsys.readouterr()
    assert code in (0, 1)
    assert "stopped after 1 of 3 builds (interrupted during " in err
    assert "| debian-12 | 1 | 1 | 1 | 1 |" in out


# --- the record: runs that add up ----------------------------------------------------------

CORPUS_ROWS = ("rank\tname\tkind\tlibs\treason\n"
               "121\talpha\tpure\t\tpure: a\n"
               "122\tBeta\tpure\t\tpure: b\n"
               "123\tgamma\tc-vendored\t\tc: g\n")


def small_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.tsv"
    path.write_text(CORPUS_ROWS)
    return path


def test_the_record_keeps_the_newest_outcome_of_each_build(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = read_corpus(small_corpus(tmp_path))
    path = tmp_path / "record.jsonl"
    assert read_record(path, corpus) == {}          # no file yet: nothing recorded
    append_record(path, outcome("alpha", "pure", 8, error="error: alpha: failed"), "v1-aaa")
    append_record(path, outcome("Beta", "c-vendored"), "v1-aaa")   # kind as the corpus had it
    append_record(path, outcome("alpha", "pure", seconds=7.0), "v1-bbb-dirty", 1.25)
    with open(path, "a") as fh:
        fh.write('{"v": 1, "outcome": {"name": "gone", "target": "el9"}}\n')  # not in corpus
        fh.write('{"v": 1, "commit": "x", "outc')                            # killed mid-write
    kept = read_record(path, corpus)
    assert sorted(kept) == [("debian-12", "alpha"), ("debian-12", "beta")]
    assert kept[("debian-12", "alpha")].outcome.ok                 # the later line wins
    assert kept[("debian-12", "alpha")].commit == "v1-bbb-dirty"
    assert kept[("debian-12", "beta")].outcome.kind == "pure"      # the corpus's kind now
    err = capsys.readouterr().err
    assert "record.jsonl line 4 skipped" in err and "record.jsonl line 5 skipped" in err
    assert provenance(kept.values()).startswith("2 recorded outcomes, built 20")
    assert "by repack v1-bbb-dirty (1), v1-aaa (1), reference loop 1.25 s" in \
        provenance(kept.values())


def test_resume_builds_what_the_record_lacks_and_retry_failed_what_failed(
        tmp_path: Path) -> None:
    corpus = read_corpus(small_corpus(tmp_path))
    path = tmp_path / "record.jsonl"
    append_record(path, outcome("alpha", "pure"), "c1")
    append_record(path, outcome("Beta", "pure", 8, error="error: Beta: failed"), "c1")
    append_record(path, outcome("gamma", "c-vendored", 130, error="error: interrupted"), "c1")
    record = read_record(path, corpus)
    names = {(t, e.name) for t, e in plan(corpus, corpus, ["debian-12", "el9"], record,
                                          resume=False, retry_failed=False).todo}
    assert len(names) == 6
    run = plan(corpus, corpus, ["debian-12", "el9"], record, resume=True, retry_failed=False)
    assert [(t, e.name) for t, e in run.todo] == [("el9", "alpha"), ("el9", "Beta"),
                                                 ("el9", "gamma")]
    again = plan(corpus, corpus, ["debian-12"], record, resume=True, retry_failed=True)
    assert [e.name for _, e in again.todo] == ["Beta"]    # the interrupted one counts apart
    assert coverage(again, 3, "") == ""
    assert coverage(run, 3, "") == " (partial: 3 of 6 builds, 3 of the corpus's 3 projects asked)"
    assert coverage(run, 4, "SIGTERM").startswith(" (stopped: 4 of 6 builds")
    one = plan(corpus, corpus[:1], ["debian-12"], record, resume=True, retry_failed=False)
    assert coverage(one, 1, "") == " (subset: 1 of the corpus's 3 projects)"


def test_runs_recorded_in_turn_print_one_table(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    """A run stopped by Ctrl-C keeps what it built; --resume builds the rest, and the table
    covers both runs' outcomes, saying which trees built them."""
    import breadth
    built: list[str] = []

    def fake_build(entry: Any, target: str, _opts: Any) -> Outcome:
        if entry.name == "gamma" and not built.count("stop"):
            built.append("stop")
            raise KeyboardInterrupt
        built.append(entry.name)
        return Outcome(entry.name, target, entry.kind, 0, 5.0, lint_clean=True, imported=True)

    monkeypatch.setattr(breadth, "ready_images", lambda targets, cache: {})
    monkeypatch.setattr(breadth, "check_supported", lambda: True)
    monkeypatch.setattr(breadth, "tree_commit", lambda: "abc1234")
    monkeypatch.setattr(breadth, "cpu_seconds", lambda: 0.5)
    monkeypatch.setattr(breadth, "build", fake_build)
    corpus, record = str(small_corpus(tmp_path)), str(tmp_path / "r.jsonl")
    args = ["-t", "debian-12", "--corpus", corpus, "--record", record]
    assert breadth.main(args) in (0, 1)
    out = capsys.readouterr().out
    assert "(stopped: 2 of 3 builds" in out and "| debian-12 | 2 | 2 | 2 | 2 |" in out
    assert breadth.main([*args, "--resume"]) == 0
    out = capsys.readouterr().out
    assert built == ["alpha", "Beta", "stop", "gamma"]
    assert "repack breadth, 20" in out and "| debian-12 | 3 | 3 | 3 | 3 |" in out
    assert "r.jsonl: 3 recorded outcomes, built 20" in out
    assert "abc1234 (3), reference loop 0.50 s" in out
    assert breadth.main([*args, "--resume"]) == 0         # nothing left: the table alone
    assert built == ["alpha", "Beta", "stop", "gamma"]
    assert "| debian-12 | 3 | 3 | 3 | 3 |" in capsys.readouterr().out
    assert breadth.main([*args, "--resume", "--json"]) == 0
    builds = json.loads(capsys.readouterr().out)["builds"]
    assert [(b["name"], b["commit"]) for b in builds] == \
        [("alpha", "abc1234"), ("Beta", "abc1234"), ("gamma", "abc1234")]
    assert breadth.main([*args, "-t", "el9", "--report"]) == 0      # nothing built for el9
    assert built == ["alpha", "Beta", "stop", "gamma"]
    out = capsys.readouterr().out
    assert "(partial: 3 of 6 builds, 3 of the corpus's 3 projects asked)" in out
    assert "| debian-12 | 3 | 3 | 3 | 3 |" in out and "| el9 |" not in out
    with pytest.raises(SystemExit):
        parse_args(["--resume"])
    with pytest.raises(SystemExit):
        parse_args(["--report"])


@pytest.mark.process
def test_the_tree_is_named_by_git() -> None:
    from breadth import tree_commit
    commit = tree_commit()
    assert re.fullmatch(r"[0-9a-f]{10}(-dirty)?|\S+-g[0-9a-f]{10}(-dirty)?", commit), commit


@pytest.mark.process
def test_a_build_past_its_timeout_is_stopped_and_counted_apart() -> None:
    from breadth import run_limited
    slow = [sys.executable, "-c", ("import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))\n"
            "print('started', flush=True)\ntime.sleep(60)")]
    proc = run_limited(slow, {}, 1.0)
    assert proc.returncode == 143 and proc.stdout == "started\n"
    assert proc.stderr.endswith("error: stopped after 0.0166667 minutes (--build-timeout)\n")
    stopped = Outcome("slow", "debian-12", "c-vendored", proc.returncode, 1.0,
                      first_error(proc.stderr))
    assert stopped.group == "interrupted"
    deaf = [sys.executable, "-c", "import time; time.sleep(60)"]   # dies of the SIGTERM
    assert run_limited(deaf, {}, 0.5).returncode == 143
    assert run_limited([sys.executable, "-c", "print(1)"], {}, 30).returncode == 0
