"""Render the .spec of an RpmSpec from templates/rpm/python-package.spec.j2.

THE PLACE WHERE UPSTREAM TEXT IS MADE SAFE FOR RPM.  rpm expands macros in every tag value
and in %description, *then* looks at the expanded line: a line whose first non-blank
character is ``%`` may open a section (%prep, %changelog) or a conditional (%if), and one
starting with ``#`` is a comment.  Its line reader also counts ``%{``, ``%(`` and ``%[`` to
join lines, and skips the character after a backslash while counting.  So:

rpm_text         one line: controls and line breaks become spaces, whitespace collapsed,
                 every ``%`` doubled (rpm turns ``%%`` into ``%``, never into a macro), every
                 backslash followed by ``%{nil}`` (expands to nothing, and keeps ``\\%%{``
                 from counting as an open macro); never empty (fallback or MetadataError).
rpm_summary      rpm_text within rpmlint's rules: no final full stop, at most 79 characters.
rpm_description  the %description body: cleaned, dedented and wrapped like the Debian one
                 (at most 78 columns, 60 lines, 2000 characters), then rpm_text's escapes
                 per line; a Markdown heading loses its hashes ("# Usage" -> "Usage", rpm
                 would drop it as a comment), and a line whose first non-blank character is
                 ``%`` or ``#``, or that looks like a changelog header (``* Mon ...``), gets a
                 NO-BREAK SPACE (U+00A0) before it: rpm skips only ASCII blanks, so the
                 expanded line starts no section, conditional, comment or changelog entry,
                 and reads the same (rpmlint warns non-break-space: a warning, on hostile
                 text only).
rpm_license      a License value: one line of at most 200 characters, else "LicenseRef-Unknown".
rpm_url          an http(s) URL without whitespace, quotes or controls (repack.deb.render.deb_url),
                 ``%`` doubled; else None (the field is left out).
rpm_dependency   a dependency repack built (python3dist(x) >= 1, rich deps) or a [packages]
                 override's (repack.overrides: libpq >= 14, /usr/bin/pg_config): checked, not
                 escaped: only name, operator and version characters, balanced parentheses.
rpm_changelog_line  one of repack's own change lines, as rpm_text, never starting with ``*``.

The Environment is repack.deb.render's (StrictUndefined, the same override directories, the same
finalize that refuses to print unfiltered text), with these filters added.
"""

from __future__ import annotations

import email.utils
import re
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2

from repack import overrides
from repack.deb import render
from repack.errors import ConfigError, MetadataError, RepackError
from repack.model import RpmSpec
from repack.textsafe import MAINTAINER, Checked, clean_block, one_line, wrap_prose
from repack.trust import provenance

TEMPLATE = "rpm/python-package.spec.j2"
SUMMARY_WIDTH = 79            # rpmlint: summary-too-long
LICENSE_MAX = 200
_NBSP = "\u00a0"
_HEADING = re.compile(r"#{1,6} +(?=[^\s#])")
_ENTRY = re.compile(r"\*\s*(?:mon|tue|wed|thu|fri|sat|sun)", re.IGNORECASE)
_DEP = re.compile(r"[A-Za-z0-9(/][A-Za-z0-9._+()~^:<>=!, /-]*")   # / : file dependencies
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~^-]*")
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _escape(text: str) -> str:
    """``%`` -> ``%%``; ``\\`` -> ``\\%{nil}`` (see the module docstring)."""
    return text.replace("%", "%%").replace("\\", "\\%{nil}")


def rpm_text(value: object, fallback: object = None) -> Checked:
    text = one_line(value) or one_line(fallback)
    if not text:
        raise MetadataError("a one-line field would be empty", hint="check the sdist metadata")
    return Checked(_escape(text))


def rpm_summary(value: object, fallback: object = None) -> Checked:
    text = one_line(value).rstrip(" .")
    if len(text) > SUMMARY_WIDTH:
        head = text[: SUMMARY_WIDTH + 1]
        text = head.rsplit(" ", 1)[0] if " " in head else text[:SUMMARY_WIDTH]
        text = text.rstrip(" ,;:-.")
    return rpm_text(text, one_line(fallback).rstrip(" ."))


def _neutral(line: str) -> str:
    """No expanded line may start (after blanks) with ``%``, ``#`` or a changelog header."""
    body = line.lstrip(" ")
    indent = line[: len(line) - len(body)]
    if m := _HEADING.match(body):  # a Markdown heading reads fine without its hashes
        body = body[m.end():]
    if body[:1] in ("%", "#") or _ENTRY.match(body):
        body = _NBSP + body
    return indent + body


def rpm_description(value: object, fallback: object = None) -> Checked:
    for text in (value, fallback):
        lines = wrap_prose(clean_block(text))
        kept: list[str] = []
        chars = 0
        for line in lines:
            if not line.strip() and (not kept or not kept[-1]):
                continue
            chars += len(line) + 1
            if len(kept) >= render.MAX_DESCRIPTION_LINES or chars > render.MAX_DESCRIPTION_CHARS:
                if "" in kept[1:]:  # cut at the last paragraph break
                    kept = kept[: len(kept) - kept[::-1].index("")]
                break
            kept.append(line.rstrip())
        while kept and not kept[-1]:
            kept.pop()
        if kept:
            return Checked("\n".join(_neutral(_escape(line)) for line in kept))
    raise MetadataError("the description would be empty", hint="check the sdist metadata")


def rpm_license(value: object) -> Checked:
    text = one_line(value)
    if not text or len(text) > LICENSE_MAX:
        text = "LicenseRef-Unknown"
    return Checked(_escape(text))


def rpm_url(value: object) -> Checked | None:
    url = render.deb_url(value)
    return None if url is None else Checked(url.replace("%", "%%"))


def rpm_dependency(value: object) -> Checked:
    text = str(value)
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth != 0 or not _DEP.fullmatch(text) or text.endswith(" "):
        raise RepackError(f"internal: invalid RPM dependency {text!r}",
                          hint="this is a bug in repack; please report it")
    return Checked(text)


def rpm_changelog_line(value: object) -> Checked:
    return rpm_text(str(value).lstrip("*- "))


FILTERS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (rpm_text, rpm_summary, rpm_description, rpm_license, rpm_url,
                            rpm_dependency, rpm_changelog_line)
}


def environment(template_dirs: Sequence[Path] = ()) -> jinja2.Environment:
    """repack.deb.render's environment (same override dirs and finalize) plus the rpm filters."""
    env = render.environment(template_dirs)
    env.filters.update(FILTERS)
    return env


def _token(what: str, value: str, pattern: re.Pattern[str] = _TOKEN) -> Checked:
    if not pattern.fullmatch(value):
        raise RepackError(f"internal: invalid RPM {what} {value!r}",
                          hint="this is a bug in repack; please report it")
    return Checked(value)


def _changelog(spec: RpmSpec) -> dict[str, object]:
    """The %changelog entry: rpm's date, the packager checked, our own lines only."""
    entry = spec.changelog
    try:
        date = email.utils.parsedate_to_datetime(entry.date)
    except (TypeError, ValueError):
        date = None
    packager = entry.packager.strip()
    if (date is None or not packager.isprintable()
            or not MAINTAINER.fullmatch(packager) or not entry.changes):
        raise RepackError(f"internal: invalid changelog entry {entry!r}",
                          hint="this is a bug in repack; please report it")
    epoch, _, vr = entry.evr.rpartition(":")
    _token("changelog version", vr)
    if epoch and not epoch.isdigit():
        raise RepackError(f"internal: invalid changelog epoch {entry.evr!r}")
    day = f"{_DAYS[date.weekday()]} {_MONTHS[date.month - 1]} {date.day:02d} {date.year}"
    return {
        "date": Checked(day), "packager": rpm_text(packager), "evr": Checked(entry.evr),
        "changes": [rpm_changelog_line(c) for c in entry.changes],
    }


def _source0(spec: RpmSpec) -> Checked:
    """The download URL when its last part is the sdist's name (rpmbuild looks the file up
    by that name in %_sourcedir), else the bare file name."""
    name = _token("Source0", spec.source0, _FILE)
    url = render.deb_url(spec.source_url)
    if url and "%" not in url and urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1] == name:
        return Checked(url)
    return name


def context(spec: RpmSpec) -> dict[str, object]:
    name = one_line(spec.upstream_name) or spec.name
    arch = spec.buildarch
    return {
        "spec": spec,
        "name": _token("name", spec.name),
        "version": _token("version", spec.version),
        "release": _token("release", spec.release),
        "source_dir": _token("source directory", spec.source_dir, _FILE),
        "buildarch": None if arch is None else _token("BuildArch", arch),
        "scripts": [_token("script name", s) for s in spec.console_scripts],
        "source0": _source0(spec),
        "url": rpm_url(spec.url),
        "changelog": _changelog(spec),
        "provenance_doc": provenance.DOC_NAME if spec.provenance is not None else None,
        "default_summary": f"Python 3 module {name}",
        "default_description": (
            f"This package provides the Python 3 distribution {name}, built from its upstream "
            "source distribution by repack."
        ),
    }


def shell_value(value: str) -> Checked:
    """An environment value for a %build `export NAME='value'` line: checked again
    (repack.overrides.env_problem), single-quoted for the shell (``'`` -> ``'"'"'``) and
    every ``%`` doubled, so rpm expands no macro in it."""
    quoted = "'" + value.replace("'", "'\"'\"'") + "'"
    return Checked(quoted.replace("%", "%%"))


def override_context(spec: RpmSpec) -> dict[str, object]:
    """The `[packages.<name>]` overrides as checked template values: PatchN files (applied
    by %autosetup -p1 in order), the environment of %build, the globs %install removes,
    and the config settings %pyproject_wheel's pip passes (`pip_config`, words checked
    again: no spaces, quotes or %)."""
    extra = spec.overrides
    env = []
    for name, value in extra.env:
        if (problem := overrides.env_problem(name, value)) is not None:
            raise RepackError(f"internal: {problem}", hint="this is a bug in repack")
        env.append((Checked(name), shell_value(value)))
    for glob in extra.exclude:
        if not overrides.is_glob(glob):
            raise RepackError(f"internal: invalid exclude glob {glob!r}",
                              hint="this is a bug in repack")
    for key, values in extra.config_settings:
        if (problem := overrides.config_setting_problem(key, list(values))) is not None:
            raise RepackError(f"internal: {problem}", hint="this is a bug in repack")
    return {"env": env, "exclude": [Checked(g) for g in extra.exclude],
            "patches": [_token("patch", p.name, _FILE) for p in extra.patches],
            "pip_config": Checked(" ".join(extra.pip_config_args()))}


def render_text(spec: RpmSpec, *, template_dirs: Sequence[Path] = ()) -> str:
    """The .spec text, in memory; a template (a user's override) that leaves out one of the
    project's overrides is refused rather than building without it."""
    text = environment(template_dirs).get_template(TEMPLATE).render(
        {**context(spec), **override_context(spec)})
    extra = spec.overrides
    lines = set(text.splitlines())
    lost = [f"patch {p.name}" for i, p in enumerate(extra.patches, 1)
            if f"Patch{i}:         {p.name}" not in lines]
    lost += ["patches (%autosetup -p1)" for _ in extra.patches[:1]
             if not any(ln.startswith("%autosetup -p1 ") for ln in lines)]
    lost += [f"env {n}" for n, _ in extra.env
             if not any(ln.startswith(f"export {n}=") for ln in lines)]
    lost += [f"exclude {g}" for g in extra.exclude if f"rm -rf %{{buildroot}}{g}" not in lines]
    lost += ["config-settings" for _ in extra.config_settings[:1]
             if f"%global _repack_pip_config {' '.join(extra.pip_config_args())}" not in lines]
    if lost:
        raise ConfigError(f"the {TEMPLATE} template in use leaves out [packages] "
                          f"{', '.join(lost)}",
                          hint=f"a template override must keep the PatchN, %autosetup -p1, "
                               f"export and rm lines of the shipped templates/{TEMPLATE}")
    return text


def render_spec(spec: RpmSpec, dest: Path, *, template_dirs: Sequence[Path] = ()) -> Path:
    """Write dest/<name>.spec (rendered completely before anything is written)."""
    text = render_text(spec, template_dirs=template_dirs)
    path = dest / f"{spec.name}.spec"
    dest.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_sources(spec: RpmSpec, sources: Path) -> None:
    """The spec's Source1, the provenance record (JSON data, never spec text), and its
    PatchN files, byte for byte as read from the config's directory."""
    if spec.provenance is not None:
        (sources / provenance.DOC_NAME).write_text(provenance.to_json(spec.provenance))
    for patch in spec.overrides.patches:
        (sources / patch.name).write_bytes(patch.data)
