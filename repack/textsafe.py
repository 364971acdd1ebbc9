"""Cleaning upstream text before it goes into a generated file: both families' renderers
(repack.deb.render, repack.rpm.render) start from these, then apply their own format's rules.

Upstream metadata is attacker input: every line break, control or separator character it
carries is decided on here, so that it cannot end the field it is written into.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata

__all__ = ["ADORNMENT", "MAINTAINER", "WIDTH", "Checked", "chars", "clean_block", "one_line",
           "without_pictures", "wrap_prose"]

WIDTH = 80  # lintian: synopsis and extended-description lines
ADORNMENT = re.compile(r"([=\-~^*#+`'\"_:.])\1{2,}")   # reStructuredText over/underlines
MAINTAINER = re.compile(r"[^<>]+ <[^<>\s]+@[^<>\s]+>")   # "Name <user@host>"
# Lines of a README that only show pictures (badges): in a package description they are
# markup.  reStructuredText image directives with their indented options, lines of
# |substitutions|, Markdown images (linked or not) and lines of HTML tags alone.
_RST_IMAGE = re.compile(r"\.\. (\|[^|]+\| )?(image|figure)::.*")
_RST_OPTION = re.compile(r":[a-z-]+:.*")
_PICTURES = re.compile(r"((\[?!\[[^\]]*\]\([^)\s]*\)(\]\([^)\s]*\))?"     # [![alt](img)](link)
                       r"|\|[^|\s][^|]*\|"                              # |substitution|
                       r"|<[^<>]*>)\s*)+")                               # <p align="center">


class Checked(str):
    """Text a filter produced or the renderer checked; the only kind of str finalize prints."""


def one_line(value: object) -> str:
    """Collapse to one line: line breaks, controls and all whitespace become single spaces."""
    return " ".join(chars(str(value or ""), control=" ").split())


def chars(text: str, *, control: str) -> str:
    """Each separator (Z*) becomes a space, each control (Cc) `control`; other C* chars go."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] == "Z" or cat == "Cc":
            out.append(" " if cat[0] == "Z" else control)
        elif cat[0] != "C":
            out.append(ch)
    return "".join(out)


def clean_block(value: object) -> list[str]:
    """Split into lines on every line separator; expand tabs; drop control characters."""
    return [chars(raw.expandtabs(8), control="").rstrip() for raw in str(value or "").splitlines()]


def without_pictures(lines: list[str]) -> list[str]:
    """The lines without the badges and images a README opens with."""
    out: list[str] = []
    directive = False
    for line in lines:
        text = line.strip()
        if _RST_IMAGE.fullmatch(text):
            directive = True
            continue
        if directive and line[:1].isspace() and _RST_OPTION.fullmatch(text):
            continue
        directive = False
        if not (text and _PICTURES.fullmatch(text)):
            out.append(line)
    return out


def wrap_prose(lines: list[str]) -> list[str]:
    """Dedent, drop reStructuredText adornments and pictures, and wrap to WIDTH - 1
    columns."""
    lines = [ln for ln in without_pictures(lines) if not ADORNMENT.fullmatch(ln.strip())]
    margin = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    out: list[str] = []
    for line in lines:
        body = line[margin:]
        stripped = body.lstrip()
        if not stripped or stripped == ".":
            out.append("")
            continue
        indent = min(len(body) - len(stripped), 16)
        hang = 2 if stripped.startswith(("- ", "* ", "+ ")) else 0
        indent = max(indent, 1) if hang or stripped.startswith(".") else indent
        pieces = textwrap.wrap(
            stripped, width=WIDTH - 2 - indent - hang, break_long_words=True,
            break_on_hyphens=False,
        )
        out.extend(" " * (indent + (hang if i else 0)) + p for i, p in enumerate(pieces))
    if out and out[0].startswith(" "):
        out[0] = out[0].lstrip()
    return out
