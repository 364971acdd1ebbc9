"""The meson a meson.build asks for, read as text (never run): its `project()` call's
`meson_version` keyword, as a PEP 440 specifier.

A meson-python project's `[build-system] requires` names meson-python, and maybe a
`meson>=` lower than its meson.build needs (scikit-learn asks for `>= 1.9.0` there, and
trixie's meson 1.7.0 stops with "Meson version is 1.7.0 but project requires >= 1.9.0").
`repack.buildreqs` makes this specifier a build requirement on `meson`, so an archive's older
meson is passed over for the index's (pure-Python) wheel.

meson.build is upstream text: anything this reader does not understand (a variable, an
f-string, a constraint meson itself would refuse) means "no constraint", logged, never an
error: meson itself still checks its own version in the build.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from repack import log

__all__ = ["MAX_CONSTRAINTS", "meson_version"]

MAX_CONSTRAINTS = 16        # more clauses than this in one meson_version is not a real need
_MAX_CLAUSE = 100           # characters of one clause

# meson's tokens as far as project() needs them: its strings ('...' with backslash escapes,
# '''...''' over lines), comments, identifiers and single punctuation characters.  A lone
# quote (an unterminated string) comes out as punctuation, which no rule below accepts.
_TOKEN = re.compile(r"'''.*?'''|'(?:[^'\\\n]|\\.)*'|#[^\n]*|[A-Za-z_]\w*|\S", re.DOTALL)
# meson's version_compare operators (a bare version means ==; "=" is meson's ==)
_CLAUSE = re.compile(r"\s*(>=|<=|!=|==|=|>|<)?\s*([0-9][0-9A-Za-z.+!-]*)\s*")
_OPEN, _CLOSE = "([{", ")]}"


def _tokens(text: str) -> Iterator[str]:
    for match in _TOKEN.finditer(text):
        token = match.group()
        if not token.startswith("#"):
            yield token


def _string(token: str) -> str | None:
    """The value of a plain meson string literal (escapes of quotes and backslashes only)."""
    if token.startswith("'''"):
        return token[3:-3]
    if len(token) >= 2 and token[0] == token[-1] == "'":
        return re.sub(r"\\(['\\])", r"\1", token[1:-1])
    return None


def _project_arguments(tokens: Iterator[str]) -> list[str] | None:
    """The tokens inside the first top-level `project(...)` call, or None without one."""
    depth = 0
    previous = ""
    for token in tokens:
        if token == "(" and previous == "project" and depth == 0:
            break
        depth += (token in _OPEN) - (token in _CLOSE)
        previous = token
    else:
        return None
    inside: list[str] = []
    depth = 1
    for token in tokens:
        depth += (token in _OPEN) - (token in _CLOSE)
        if depth == 0:
            return inside
        inside.append(token)
    return None                         # project( never closed


def _keyword_value(args: list[str], keyword: str) -> list[str] | None:
    """The string values of `keyword: 'x'` or `keyword: ['x', 'y']` among project()'s
    arguments (at its own nesting level); None when absent or anything else."""
    depth = 0
    for i, token in enumerate(args):
        if depth == 0 and token == keyword and args[i + 1:i + 2] == [":"]:
            return _strings(args[i + 2:])
        depth += (token in _OPEN) - (token in _CLOSE)
    return None


def _strings(value: list[str]) -> list[str] | None:
    """One string literal, or a list of them, at the start of `value` (then `,` or its end)."""
    if value and value[0] == "[":
        out: list[str] = []
        for token in value[1:]:
            if token == "]":
                return out
            if token == ",":
                continue
            text = _string(token)
            if text is None:
                return None
            out.append(text)
        return None
    single = _string(value[0]) if value else None
    if single is None or value[1:2] not in ([], [","]):
        return None
    return [single]


def _specifier(clauses: list[str]) -> SpecifierSet | None:
    """meson's constraints ('>= 1.9.0', '<2', '1.2') as one PEP 440 specifier set."""
    if not clauses or len(clauses) > MAX_CONSTRAINTS:
        return None
    specs = []
    for clause in clauses:
        found = _CLAUSE.fullmatch(clause) if len(clause) <= _MAX_CLAUSE else None
        if found is None:
            return None
        operator = found.group(1) or "=="
        specs.append(("==" if operator == "=" else operator) + found.group(2))
    try:
        return SpecifierSet(",".join(specs))
    except InvalidSpecifier:
        return None


def meson_version(text: str, *, project: str) -> SpecifierSet | None:
    """The `meson_version` of meson.build's `project()` call (`text`), or None when it
    has none or it cannot be read (debug-logged, naming `project`)."""
    args = _project_arguments(_tokens(text))
    if args is None:
        return None
    clauses = _keyword_value(args, "meson_version")
    if clauses is None:
        if "meson_version" in args:
            log.debug(f"{project}: meson.build's meson_version is not a string or a list of "
                      "strings; ignored")
        return None
    specifier = _specifier(clauses)
    if specifier is None:
        shown = ", ".join(repr(c[:_MAX_CLAUSE]) for c in clauses[:MAX_CONSTRAINTS])
        log.debug(f"{project}: meson.build's meson_version {shown} is not a version "
                  "constraint repack reads; ignored")
    return specifier
