"""README.md cannot drift from the code (issue 15, item 8): every fenced block is either
run by a test, named in its marker, or marked as not run with the reason; every `repack`
command line in it parses with the real CLI (the command exists, every option exists and
gets its value, no argument too many); the TOML blocks load with the real config loader.

The blocks that need containers (the apt client set-up, the nginx server) run in
tests/integration/test_readme_blocks.py."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import math
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from readme import (  # type: ignore[import-not-found]
    ROOT,
    Block,
    blocks,
    inline_commands,
    repack_commands,
)

from repack import config

# Where each `<!-- test: NAME -->` block is run for real.
RUN_BY = {
    "config": "tests/unit/test_readme.py",
    "apt-client": "tests/integration/test_readme_blocks.py",
    "nginx": "tests/integration/test_readme_blocks.py",
    "unattended-upgrades": "tests/integration/test_security_updates.py",
    "publish": "tests/integration/test_readme_blocks.py",
    "serve": "tests/integration/test_readme_blocks.py",
}


@functools.cache
def repack_group() -> click.Group:
    """The click group behind the `repack` console script, found through its entry point
    (robust to where in the package the CLI lives)."""
    (ep,) = importlib.metadata.entry_points(group="console_scripts", name="repack")
    module = importlib.import_module(ep.module)
    groups = [v for v in vars(module).values() if isinstance(v, click.Group)]
    return max(groups, key=lambda g: len(g.commands))


def _clean(word: str) -> str:
    """A synopsis word as an example value: `[-t` -> `-t`, `TARGET]...` -> `TARGET`,
    `...` (an elided value) -> `VALUE`."""
    if word == "...":
        return "VALUE"
    return word.removeprefix("[").removesuffix("...").removesuffix("]")


def parse(argv: list[str]) -> None:
    """click's own parser on argv (no type conversion: example paths need not exist)."""
    cmd: click.Command = repack_group()
    words = [w for w in (_clean(w) for w in argv) if w]
    path = ["repack"]
    while isinstance(cmd, click.Group):
        assert words, f"`{' '.join(path)}` needs a subcommand"
        sub = cmd.get_command(click.Context(cmd), words[0])
        assert sub is not None, f"`{' '.join(path)}` has no command {words[0]!r}"
        path.append(words.pop(0))
        cmd = sub
    ctx = click.Context(cmd, info_name=" ".join(path))
    try:
        opts, extra, _ = cmd.make_parser(ctx).parse_args(list(words))
    except click.UsageError as e:
        raise AssertionError(f"`{' '.join(path)}`: {e.format_message()}") from e
    arguments = [p for p in cmd.params if isinstance(p, click.Argument)]
    most = sum(math.inf if a.nargs == -1 else a.nargs for a in arguments)
    given = sum(len(v) if isinstance(v, (list, tuple)) else 1
                for a in arguments if (v := opts.get(a.name)) is not None) + len(extra)
    assert given <= most, f"`{' '.join(path)}` takes at most {most} arguments: {words}"


def commands() -> Iterator[tuple[str, list[str]]]:
    for b in blocks():
        for line, argv in repack_commands(b):
            yield f"README.md:{line}", argv
    for line, argv in inline_commands():
        yield f"README.md:{line}:inline", argv


COMMANDS = list(commands())


def test_every_block_is_run_or_says_why_not() -> None:
    unmarked = [f"{b.where} ```{b.info}" for b in blocks() if b.kind is None]
    assert not unmarked, ("blocks without <!-- test: NAME --> or <!-- not run: WHY --> "
                          f"before them: {unmarked}")
    for b in blocks():
        if b.kind == "test":
            assert b.what in RUN_BY, f"{b.where}: no test runs {b.what!r}"
            runner = (ROOT / RUN_BY[b.what]).read_text()
            assert f'"{b.what}"' in runner, f"{RUN_BY[b.what]} does not run {b.what!r}"
    assert set(RUN_BY) == {b.what for b in blocks() if b.kind == "test"}


def test_the_blocks_not_run() -> None:
    """The list of what no test runs, shown with -v: nothing is skipped silently."""
    skipped = {b.where: b.what for b in blocks() if b.kind == "not run"}
    for where, why in skipped.items():
        print(f"{where}: not run: {why}")
    assert all(len(why) > 10 for why in skipped.values()), skipped


def test_the_readme_has_commands() -> None:
    assert len(COMMANDS) > 20
    names = {argv[0] for _, argv in COMMANDS}
    assert {"build", "publish", "repo", "key", "serve", "explain", "lock"} <= names


@pytest.mark.parametrize("where, argv", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_repack_command_parses(where: str, argv: list[str]) -> None:
    parse(argv)


@pytest.mark.parametrize("argv, problem", [
    (["bulid", "django"], "has no command 'bulid'"),
    (["build", "django", "--frobnicate"], "No such option"),
    (["build", "django", "-t"], "requires an argument"),
    (["repo", "verify", "a", "b"], "at most 1 arguments"),
    (["repo"], "needs a subcommand"),
])
def test_the_parser_check_catches_drift(argv: list[str], problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        parse(argv)


@pytest.mark.parametrize("b", [b for b in blocks() if b.kind == "test" and b.what == "config"],
                         ids=lambda b: b.where)
def test_config_blocks_load(b: Block, tmp_path: Path) -> None:
    """Each configuration example is a valid repack.toml: no unknown key, no wrong type."""
    f = tmp_path / "repack.toml"
    f.write_text(b.text)
    for table in tomllib.loads(b.text).get("packages", {}).values():
        for patch in table.get("patches", []):     # patch files must exist
            (tmp_path / patch).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / patch).write_bytes(b"--- a/x\n+++ b/x\n")
    config.load(f, environ={})


def test_x_py_verbs_exist() -> None:
    """`./x.py VERB` lines name a verb x.py handles (it cannot be run here: it installs
    host packages as root)."""
    handled = set(re.findall(r'verb == "(\w+)"', (ROOT / "x.py").read_text()))
    used = {ln.split()[1] for b in blocks() for ln in b.text.splitlines()
            if ln.startswith("./x.py ")}
    assert used and used <= handled, (used, handled)
