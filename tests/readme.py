"""README.md's fenced blocks, for the tests that keep the document true.

Every fenced block carries a marker on the line before it (an HTML comment, invisible once
rendered): `<!-- test: NAME -->` when a test runs it for real (tests/unit/test_readme.py
says which), or `<!-- not run: WHY -->`.  Whatever the marker, every `repack ...` command
line in any block is parsed with the real CLI.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[\w-]*)\s*$")
_MARKER = re.compile(r"^ *<!-- (?P<kind>test|not run): (?P<what>.+?) -->\s*$")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=\S*")


@dataclass(frozen=True, slots=True)
class Block:
    line: int              # 1-based line of the opening fence
    info: str              # "sh", "toml", "nginx", "" ...
    text: str              # the content, indentation of the fence removed
    kind: str | None       # "test", "not run" or None (no marker: a test failure)
    what: str              # the test's name, or why it is not run

    @property
    def where(self) -> str:
        return f"README.md:{self.line}"


def blocks(text: str | None = None) -> list[Block]:
    lines = (README.read_text() if text is None else text).splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        indent, start = m["indent"], i
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        if end is None:
            raise ValueError(f"README.md:{i + 1}: unclosed fence")
        body = "".join(ln.removeprefix(indent) + "\n" for ln in lines[i + 1:end])
        prev = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = _MARKER.match(prev)
        out.append(Block(line=start + 1, info=m["info"], text=body,
                         kind=marker["kind"] if marker else None,
                         what=marker["what"] if marker else ""))
        i = end + 1
    return out


def block(name: str) -> Block:
    """The one block marked `<!-- test: name -->`."""
    (found,) = [b for b in blocks() if b.kind == "test" and b.what == name]
    return found


def inline_commands(text: str | None = None) -> list[tuple[int, list[str]]]:
    """(line, argv after `repack`) for each `repack COMMAND ...` code span of the prose
    (fenced blocks left out; a span may wrap across lines)."""
    source = README.read_text() if text is None else text
    prose = re.sub(r"^( *)```.*?^\1```", lambda m: "\n" * m[0].count("\n"), source,
                   flags=re.MULTILINE | re.DOTALL)
    return [(prose.count("\n", 0, m.start()) + 1, m[1].split())
            for m in re.finditer(r"`repack ([a-z][^`]*)`", prose)]


def repack_commands(b: Block) -> list[tuple[int, list[str]]]:
    """(line, argv after `repack`) for each line of the block that runs repack: directly,
    after `$ ` (an example session), after VAR=value assignments or through `./x.py`."""
    out = []
    logical: list[tuple[int, str]] = []
    pending = ""
    for n, ln in enumerate(b.text.splitlines(), start=b.line + 1):
        if ln.rstrip().endswith("\\"):
            pending += ln.rstrip()[:-1] + " "
            continue
        logical.append((n, pending + ln))
        pending = ""
    for n, ln in logical:
        words = ln.strip().removeprefix("$ ").split()
        if "repack" not in words:
            continue
        try:
            argv = shlex.split(ln.strip().removeprefix("$ "), comments=True)
        except ValueError:
            continue
        while argv and (_ASSIGNMENT.fullmatch(argv[0]) or argv[0] == "./x.py"):
            argv = argv[1:]
        # "repack breadth, 2026-12-05, ...": a report's title, not a command (no command
        # word ends in punctuation)
        if argv[:1] == ["repack"] and len(argv) > 1 and argv[1][-1] in ",:":
            continue
        if argv[:1] == ["repack"]:
            out.append((n, argv[1:]))
    return out
