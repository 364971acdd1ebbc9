"""Render debian/ for a DebSpec from the Jinja2 templates in templates/deb/.

THIS MODULE IS THE ONLY PLACE WHERE UPSTREAM TEXT IS MADE SAFE.  A DebSpec field marked
"untrusted" reaches a file only through one of these template filters:

deb_line         one line: control, format and line-separator characters become spaces or go,
                 whitespace is collapsed, every `$` becomes `${}` (dpkg-gencontrol and
                 dpkg-source substitute `${name}` in every control field and turn `${}` into a
                 literal `$` afterwards, deb-substvars(5)); never empty (fallback or MetadataError).
deb_synopsis     deb_line within lintian's synopsis rules: no leading article, no final full
                 stop, at most 80 characters (cut at a word), more than one word (else the
                 fallback).
deb_description  an extended description (Policy 5.6.13), without a first line that repeats
                 `synopsis` (the rendered one): every line starts with one space,
                 so no line can start a field or a paragraph; blank lines are " ."; no line is
                 a reserved " .text"; tabs expanded; control characters removed; `$` escaped;
                 lines of at most 80 columns; at most 60 lines and 2000 characters.
deb_multiline    the same continuation rules for debian/copyright License text: no `$` escaping
                 (nothing substitutes there), no rewrapping, no truncation.
deb_lines        a DEP-5 line-based list (Copyright): one deb_line per non-blank line.
deb_url          an http(s) URL without whitespace, control characters, `$` or quotes, else None.
dep5_license     an SPDX expression as a one-line DEP-5 short name ("MIT or Apache-2.0");
                 anything that is not an expression becomes "other".
(license_pointer, not a filter: a license Debian ships in /usr/share/common-licenses gets a
pointer there instead of its text, Policy 12.5; lintian refuses the full text as an error.)
relations        relation groups as "a (>= 1) | b, c"; names, operators and versions checked.

As a safety net the Environment's finalize refuses to print any value that is not a filter
result or a plain token (a package name, a version), so a template, built-in or a user's
override, cannot print raw upstream text by accident.  The changelog holds no upstream text at
all: only the checked name, version, distribution, urgency, maintainer, date and our own lines.
"""

from __future__ import annotations

import email.utils
import importlib.resources
import os
import re
import shutil
import textwrap
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jinja2
import platformdirs

from repack import log, overrides
from repack.errors import ConfigError, MappingError, MetadataError, RepackError
from repack.model import Alternatives, DebName, DebSpec, DebVersion, Relation
from repack.textsafe import MAINTAINER, WIDTH, Checked, clean_block, one_line, wrap_prose
from repack.trust import provenance

MAX_DESCRIPTION_LINES = 60
MAX_DESCRIPTION_CHARS = 2000

# debian/<path> -> its mode; rendered from templates/deb/<path>.j2
FILES: dict[str, int] = {"control": 0o644, "rules": 0o755, "changelog": 0o644,
                         "copyright": 0o644, "source/format": 0o644, "source/options": 0o644,
                         "source/lintian-overrides": 0o644, "namespaces.py": 0o644}

_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?")
_VERSION = re.compile(r"(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*")
_OPS = frozenset({"<<", "<=", "=", ">=", ">>"})
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+~:_-]*")
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!&'()*+,;=%]+", re.IGNORECASE)
_ARTICLE = re.compile(r"(?:a|an|the)\s+(?=\S)", re.IGNORECASE)
_LICENSE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")
_GPL = re.compile(r"((?:A|L)?GPL)-(\d(?:\.[1-9])?)(?:\.0)?(?:-(only|or-later))?\+?")
_UNDEFINED = frozenset({"unknown", "undefined", "unspecified", "none", "todo", "fixme"})
_URGENCIES = frozenset({"low", "medium", "high", "emergency", "critical"})


def _escape(text: str, dollar: bool) -> str:
    return text.replace("$", "${}") if dollar else text


def deb_line(value: object, fallback: object = None, *, dollar: bool = True) -> Checked:
    text = one_line(value) or one_line(fallback)
    if not text:
        raise MetadataError("a one-line field would be empty", hint="check the sdist metadata")
    return Checked(_escape(text, dollar))


def deb_synopsis(value: object, fallback: object = None) -> Checked:
    text = one_line(value)
    if m := _ARTICLE.match(text):
        text = text[m.end():]
        text = text[:1].upper() + text[1:]
    text = text.rstrip(" .")
    if len(text) > WIDTH:
        cut = text[: WIDTH + 1].rsplit(" ", 1)[0] if " " in text[: WIDTH + 1] else text[:WIDTH]
        text = cut.rstrip(" ,;:-.")
    if " " not in text and one_line(fallback):
        text = ""       # one word, often the name (threadpoolctl): lintian description-too-short
    return deb_line(text, fallback)


def _safe_start(line: str) -> str:
    """" .x" is reserved and " - x" reads as an unindented list: indent such lines once more."""
    return " " + line if line.startswith((".", "- ", "* ", "+ ")) else line


def _continuation(lines: list[str], *, dollar: bool, limit: bool) -> str:
    """Lines as deb822 continuation lines: " text", blank as " .", no blank run at the ends."""
    kept: list[str] = []
    chars = 0
    for line in lines:
        line = "" if line.strip() in ("", ".") else _safe_start(line)
        if not line and (not kept or not kept[-1]):
            continue
        chars += len(line) + 1
        if limit and (len(kept) >= MAX_DESCRIPTION_LINES or chars > MAX_DESCRIPTION_CHARS):
            if "" in kept[1:]:  # cut at the last paragraph break
                kept = kept[: len(kept) - kept[::-1].index("")]
            break
        kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(" " + _escape(ln, dollar) if ln else " ." for ln in kept)


def _letters(text: object) -> str:
    """What lintian compares a description's first line and the synopsis by."""
    return "".join(c for c in str(text).lower() if c.isascii() and c.isalnum())


def _without_synopsis(lines: list[str], synopsis: object) -> list[str]:
    """The lines without a first line that repeats the synopsis (upstream READMEs open with
    the project's summary as a heading; lintian: description-synopsis-is-duplicated)."""
    first = next((i for i, ln in enumerate(lines) if ln.strip() not in ("", ".")), None)
    if synopsis is None or first is None or _letters(lines[first]) != _letters(synopsis):
        return lines
    return lines[first + 1:]


def _block(value: object, fallback: object, *, prose: bool, dollar: bool,
           synopsis: object = None) -> Checked:
    for text in (value, fallback):
        lines = wrap_prose(clean_block(text)) if prose else clean_block(text)
        lines = _without_synopsis(lines, synopsis)
        if out := _continuation(lines, dollar=dollar, limit=prose):
            return Checked(out)
    raise MetadataError("a multi-line field would be empty", hint="check the sdist metadata")


def deb_description(value: object, fallback: object = None, *, dollar: bool = True,
                    synopsis: object = None) -> Checked:
    return _block(value, fallback, prose=True, dollar=dollar, synopsis=synopsis)


def deb_multiline(value: object, fallback: object = None, *, dollar: bool = False) -> Checked:
    return _block(value, fallback, prose=False, dollar=dollar)


def deb_lines(value: object, fallback: object = None, *, dollar: bool = False) -> Checked:
    lines = [_escape(s, dollar) for s in map(one_line, clean_block(value)) if s]
    return Checked("\n ".join(lines)) if lines else deb_line(fallback, dollar=dollar)


def deb_url(value: object) -> Checked | None:
    text = str(value or "").strip()
    if len(text) > 500 or not _URL.fullmatch(text):
        return None
    try:
        host = urllib.parse.urlsplit(text).hostname
    except ValueError:
        return None
    return Checked(text) if host else None


def dep5_license(value: object) -> Checked:
    tokens = one_line(value).replace("(", " ( ").replace(")", " ) ").split()
    out: list[str] = []
    want_id, depth = True, 0
    for tok in tokens:
        if tok in ("(", ")"):
            depth += 1 if tok == "(" else -1
            if depth < 0 or want_id != (tok == "("):
                return Checked("other")
        elif tok.upper() in ("AND", "OR", "WITH"):
            if want_id:
                return Checked("other")
            tok, want_id = tok.lower(), True
        elif want_id and _LICENSE_ID.fullmatch(tok) and tok.lower() not in _UNDEFINED:
            if out and out[-1] == "with":
                tok = tok.replace("-exception", " exception", 1)
            elif m := _GPL.fullmatch(tok):
                tok = f"{m[1]}-{m[2]}{'+' if m[3] == 'or-later' or tok.endswith('+') else ''}"
            want_id = False
        else:
            return Checked("other")
        out.append(tok)
    if not out or want_id or depth:
        return Checked("other")
    return Checked(" ".join(out).replace("( ", "(").replace(" )", ")"))


# Debian Policy 12.5: the licenses of /usr/share/common-licenses (base-files), by the DEP-5
# short name dep5_license writes ("GPL-2+" and "GPL-2" share GPL-2), with their titles.
COMMON_LICENSES: dict[str, tuple[str, str]] = {
    "apache-2.0": ("Apache-2.0", "Apache License, Version 2.0"),
    "artistic-1.0-perl": ("Artistic", "Artistic License"),
    "cc0-1.0": ("CC0-1.0", "Creative Commons CC0 1.0 Universal license"),
    "gfdl-1.2": ("GFDL-1.2", "GNU Free Documentation License version 1.2"),
    "gfdl-1.3": ("GFDL-1.3", "GNU Free Documentation License version 1.3"),
    "gpl-1": ("GPL-1", "GNU General Public License version 1"),
    "gpl-2": ("GPL-2", "GNU General Public License version 2"),
    "gpl-3": ("GPL-3", "GNU General Public License version 3"),
    "lgpl-2": ("LGPL-2", "GNU Library General Public License version 2"),
    "lgpl-2.1": ("LGPL-2.1", "GNU Lesser General Public License version 2.1"),
    "lgpl-3": ("LGPL-3", "GNU Lesser General Public License version 3"),
    "mpl-1.1": ("MPL-1.1", "Mozilla Public License version 1.1"),
    "mpl-2.0": ("MPL-2.0", "Mozilla Public License version 2.0"),
}
# What marks a license file as holding the full text of one of them (the markers lintian's
# copyright check looks for, with its idea of a full text's length).
_FULL_TEXTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern, re.IGNORECASE | re.DOTALL)) for key, pattern in (
        ("apache-2.0", (r"\bApache License\s+Version 2\.0,.*"
                        r"TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION")),
        ("lgpl-2.1", r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 2\.1"),
        ("lgpl-3", r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3"),
        ("lgpl-2", r"GNU LIBRARY GENERAL PUBLIC LICENSE\s+Version 2"),
        ("gpl-2", r"GNU GENERAL PUBLIC LICENSE\s+Version 2.*TERMS AND CONDITIONS"),
        ("gpl-3", r"GNU GENERAL PUBLIC LICENSE\s+Version 3.*TERMS AND CONDITIONS"),
        ("gfdl-1.2", r"GNU Free Documentation License\s+Version 1\.2"),
        ("gfdl-1.3", r"GNU Free Documentation License\s+Version 1\.3"),
        ("mpl-2.0", r"Mozilla Public License\s+Version 2\.0"),
    ))
_FULL_TEXT_LENGTH = 4000        # a notice naming a license is shorter than its text
# The FSF's notice that a work is under a GNU license ("... under the terms of the GNU Lesser
# General Public License as published by the Free Software Foundation, either version 3 of
# the License, or ..."): a license text that is such a notice (psycopg2's "LGPL with
# exceptions") is under a common license too, and lintian (copyright-not-using-common-
# license-for-lgpl, an error) wants the pointer to it.  Affero's is no common license.
_GNU_NOTICE = re.compile(
    r"\bGNU\s+(?:(Lesser|Library)\s+)?General\s+Public\s+License,?\s+as\s+published\s+by"
    r"\s+the\s+Free\s+Software\s+Foundation[,;]?\s+(?:either\s+)?version\s+(\d(?:\.\d)?)\b",
    re.IGNORECASE)
_GNU_NOTICE_KEYS = {("", "2"): "gpl-2", ("", "3"): "gpl-3", ("lesser", "2.1"): "lgpl-2.1",
                    ("lesser", "3"): "lgpl-3", ("library", "2"): "lgpl-2"}


def _gnu_notices(text: str) -> list[str]:
    """The COMMON_LICENSES keys of the GNU licenses whose FSF notice `text` holds."""
    keys = (_GNU_NOTICE_KEYS.get(((m[1] or "").lower(), m[2]))
            for m in _GNU_NOTICE.finditer(text))
    return list(dict.fromkeys(k for k in keys if k is not None))


def _common_key(short: str) -> str:
    """"GPL-2+" -> "gpl-2", "GFDL-1.3-or-later" -> "gfdl-1.3": the COMMON_LICENSES key."""
    key = short.lower().removesuffix("+")
    for suffix in ("-only", "-or-later"):
        key = key.removesuffix(suffix)
    return key


def _pointer(key: str) -> str:
    file, title = COMMON_LICENSES[key]
    return textwrap.fill(f"On Debian systems, the complete text of the {title} can be found "
                         f"in /usr/share/common-licenses/{file}.", WIDTH - 1)


def license_pointer(short: str, text: str | None, project: str) -> str | None:
    """The License text debian/copyright gets instead of `text` (the upstream license files),
    or None to keep `text`.

    A DEP-5 expression `short` naming only licenses of /usr/share/common-licenses: pointers
    there (the upstream files stay in the package's *.dist-info).  Otherwise, when `text`
    holds the full text of one of them anyway (a LICENSE file with the Apache text and a
    License: "Apache Software License"), a note naming the files and the pointers: Policy
    12.5 and lintian (an error) refuse the full text of a common license in the file.  A
    mixed expression ("MIT or GPL-2+"), or a text that is the FSF's notice of a GNU license
    (psycopg2's "LGPL with exceptions"), keeps the text and adds the pointers.
    """
    ids = [t for t in re.split(r"[\s()]+", short) if t and t not in ("and", "or", "with")]
    keys = [_common_key(i) for i in ids]
    common = [k for k in dict.fromkeys(keys) if k in COMMON_LICENSES]
    if keys and len(common) == len(set(keys)):
        return "\n\n".join(_pointer(k) for k in common)
    body = text or ""
    found = [k for k, pattern in _FULL_TEXTS
             if len(body) > _FULL_TEXT_LENGTH and pattern.search(body)]
    if not found:
        # "MIT or GPL-2+": the MIT text stays, and the GPL is pointed to; so does a notice
        # saying the work is under a GNU license, with its exceptions ("LGPL with exceptions")
        pointed = list(dict.fromkeys([*common, *_gnu_notices(body)]))
        return "\n\n".join([body, *(_pointer(k) for k in pointed)]) if pointed and body else None
    found = list(dict.fromkeys([*found, *common]))
    note = textwrap.fill(f"The upstream license files of {project} are installed in the "
                         "package's *.dist-info directory. They hold the complete text of "
                         "licenses that Debian systems ship:", WIDTH - 1)
    return "\n\n".join([note, *(_pointer(k) for k in found)])


def _relation(rel: Relation) -> str:
    if not _NAME.fullmatch(rel.name):
        raise MappingError(f"invalid Debian package name in a relation: {rel.name!r}")
    if rel.op is None and rel.version is None:
        return rel.name
    if rel.op not in _OPS or not _VERSION.fullmatch(rel.version or ""):
        raise MappingError(f"invalid version constraint in a relation: {rel.op!r} {rel.version!r}")
    return f"{rel.name} ({rel.op} {rel.version})"


def relations(groups: Iterable[Alternatives | Relation]) -> Checked:
    rendered = []
    for group in groups:
        alts = (group,) if isinstance(group, Relation) else tuple(group)
        if not alts:
            raise MappingError("empty alternatives group in a relation field")
        rendered.append(" | ".join(_relation(r) for r in alts))
    return Checked(", ".join(rendered))


FILTERS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (deb_line, deb_synopsis, deb_description, deb_multiline, deb_lines,
                            deb_url, dep5_license, relations)
}


def _finalize(value: object) -> object:
    if isinstance(value, Checked | int) or (isinstance(value, str) and _TOKEN.fullmatch(value)):
        return value
    raise ConfigError(
        f"a template prints unfiltered text {str(value)[:40]!r}",
        hint="pass untrusted values through a repack.deb.render filter such as deb_line",
    )


class _ResourceLoader(jinja2.BaseLoader):
    """Templates shipped in the repack.templates package (works from a wheel or a zip)."""

    def __init__(self, root: Traversable) -> None:
        self.root = root

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, None, Any]:
        node = self.root
        for part in jinja2.loaders.split_template_path(template):
            node = node.joinpath(part)
        if not node.is_file():
            raise jinja2.TemplateNotFound(template)
        return node.read_text(encoding="utf-8"), None, lambda: True


def builtin_templates() -> Traversable:
    """The templates shipped as the repack.templates package (templates/ in the repository)."""
    try:
        return importlib.resources.files("repack.templates")
    except ModuleNotFoundError:  # a source checkout: templates/ sits beside repack/
        return Path(__file__).resolve().parents[2] / "templates"


def user_template_dirs() -> list[Path]:
    """User-wide overrides: $XDG_CONFIG_HOME/repack/templates (may not exist)."""
    return [Path(platformdirs.user_config_dir("repack")) / "templates"]


def environment(template_dirs: Sequence[Path] = ()) -> jinja2.Environment:
    """Search per-call template_dirs, then the user's config dir, then the built-in templates.

    An override directory mirrors templates/: <dir>/deb/control.j2 replaces the shipped one.
    """
    dirs = [os.fspath(d) for d in (*template_dirs, *user_template_dirs()) if Path(d).is_dir()]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(dirs), _ResourceLoader(builtin_templates())]
        ),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, finalize=_finalize,
    )
    env.filters.update(FILTERS)
    return env


def _changelog(spec: DebSpec) -> dict[str, object]:
    """The changelog entry, checked: it must hold no upstream text and no line break."""
    entry = spec.changelog
    try:
        date = email.utils.parsedate_to_datetime(entry.date)
    except (TypeError, ValueError):
        date = None
    for bad, what, value in [
        (not _NAME.fullmatch(spec.source_name), "source name", spec.source_name),
        (not _VERSION.fullmatch(entry.version) or entry.version != spec.version, "version",
         entry.version),
        (not _TOKEN.fullmatch(entry.distribution), "distribution", entry.distribution),
        (entry.urgency not in _URGENCIES, "urgency", entry.urgency),
        (not (entry.maintainer.isprintable() and MAINTAINER.fullmatch(entry.maintainer)),
         "maintainer", entry.maintainer),
        (date is None or date.tzinfo is None, "date (RFC 5322, with a zone)", entry.date),
        (not entry.changes, "changes", entry.changes),
        *((not (c.strip() and c.isprintable()), "change line", c) for c in entry.changes),
    ]:
        if bad:
            raise RepackError(f"internal: invalid changelog {what} {value!r}",
                              hint="this is a bug in repack; please report it")
    assert date is not None
    changes = [
        Checked(w)
        for c in entry.changes
        for w in textwrap.wrap(c.strip(), WIDTH, initial_indent="  * ", subsequent_indent="    ")
    ]
    return {
        "version": entry.version, "distribution": entry.distribution, "urgency": entry.urgency,
        "maintainer": Checked(entry.maintainer), "date": Checked(email.utils.format_datetime(date)),
        "year": date.year, "changes": changes,
    }


def _context(spec: DebSpec, license_text: str | None) -> dict[str, object]:
    name = one_line(spec.upstream_name) or spec.source_name
    interpreter = "python3-all" if spec.architecture == "all" else "python3-all-dev"
    named = {r.name for group in spec.build_depends for r in group}
    base = (
        Relation(name=DebName("debhelper-compat"), op="=", version=DebVersion("13")),
        Relation(name=DebName("dh-sequence-python3")),
        Relation(name=DebName(interpreter)),
    )
    changelog = _changelog(spec)
    record = spec.provenance
    # XB-: dpkg-gencontrol copies these into the binary package's control file, so that
    # `dpkg -s`, `apt show` and `repack explain` tell where the package came from.
    provenance_fields = [] if record is None else [
        (name, deb_line(value, "-")) for name, value in provenance.control_fields(record).items()
    ]
    license_name = dep5_license(spec.license)
    upstream_text = license_text if license_text is not None else spec.license_text
    homepage = deb_url(spec.homepage)
    if spec.homepage and not homepage:
        log.debug(f"{spec.source_name}: Homepage omitted, not a plain http(s) URL")
    return {
        "spec": spec,
        "changelog": changelog,
        "year": changelog["year"],
        "base_build_depends": tuple((r,) for r in base if r.name not in named),
        "provenance_fields": provenance_fields,
        "provenance_doc": provenance.DOC_NAME,
        "homepage": homepage,
        "source_url": deb_url(spec.source_url),
        "license": license_name,
        "license_text": license_pointer(license_name, upstream_text, name) or upstream_text,
        "default_synopsis": f"Python 3 module {name}",
        "default_description": (
            f"This package provides the Python 3 distribution {name}, built from its upstream "
            "source distribution by repack."
        ),
        "default_copyright": f"The {name} authors (see the upstream source)",
        "default_license_text": (
            f"The upstream distribution of {name} does not ship a license text here; see the "
            "license files in the upstream source (also installed in the package's "
            "*.dist-info directory)."
        ),
    }


def make_value(value: str) -> Checked:
    """An environment value for a debian/rules `export NAME = value` line: checked again
    (repack.overrides.env_problem: one printable line, no backslash, no surrounding
    blanks), then make's own specials escaped (``$`` -> ``$$``, ``#`` -> ``\\#``)."""
    return Checked(value.replace("$", "$$").replace("#", "\\#"))


def override_context(spec: DebSpec) -> dict[str, object]:
    """The `[packages.<name>]` overrides as checked template values: the environment
    debian/rules exports and the globs it removes beneath debian/<binary package> (all
    validated by repack.overrides when the config was read, and again here)."""
    extra = spec.overrides
    env = []
    for name, value in extra.env:
        if (problem := overrides.env_problem(name, value)) is not None:
            raise RepackError(f"internal: {problem}", hint="this is a bug in repack")
        env.append((Checked(name), make_value(value)))
    for glob in extra.exclude:
        if not overrides.is_glob(glob):
            raise RepackError(f"internal: invalid exclude glob {glob!r}",
                              hint="this is a bug in repack")
    for key, values in extra.config_settings:
        if (problem := overrides.config_setting_problem(key, list(values))) is not None:
            raise RepackError(f"internal: {problem}", hint="this is a bug in repack")
    return {"env": env, "exclude": [Checked(g) for g in extra.exclude],
            "patches": [Checked(p.name) for p in extra.patches],
            "build_args": Checked(build_args(spec))}


def build_args(spec: DebSpec) -> str:
    """PYBUILD_BUILD_ARGS for the project's config settings: pybuild's pyproject plugin
    appends them to its `python3 -m build` line (pypa/build's --config-setting, repeated for
    a list); words checked by repack.overrides (no spaces, quotes, $ or #)."""
    return " ".join(f"--config-setting={k}={v}"
                    for k, vs in spec.overrides.config_settings for v in vs)


def render_files(
    spec: DebSpec, *, license_text: str | None = None, template_dirs: Sequence[Path] = ()
) -> dict[str, str]:
    """Render every file of debian/ in memory: debian-relative path -> text (the patches'
    bytes are written by render_debian, beside their series)."""
    env = environment(template_dirs)
    context = {**_context(spec, license_text), **override_context(spec)}
    files = {path: env.get_template(f"deb/{path}.j2").render(context) for path in FILES}
    if spec.overrides.patches:
        files["patches/series"] = "".join(f"{p.name}\n" for p in spec.overrides.patches)
    rules = files["rules"]
    lost = [f"env {n}" for n, _ in spec.overrides.env if f"\nexport {n} = " not in rules]
    lost += [f"exclude {g}" for g in spec.overrides.exclude
             if f"\trm -rf debian/{spec.binary_name}{g}\n" not in rules]
    lost += ["config-settings" for _ in spec.overrides.config_settings[:1]
             if f"\nexport PYBUILD_BUILD_ARGS = {build_args(spec)}\n" not in rules]
    if lost:
        raise ConfigError(f"the deb/rules.j2 template in use leaves out [packages] "
                          f"{', '.join(lost)}",
                          hint="a template override must keep the env and exclude blocks of "
                               "the shipped templates/deb/rules.j2")
    if spec.provenance is not None:
        # Data, not a template: json.dumps does the escaping.  dh_installdocs installs it
        # as /usr/share/doc/<package>/repack-provenance.json (repack.trust.provenance.doc_path).
        files[provenance.DOC_NAME] = provenance.to_json(spec.provenance)
        files[f"{spec.binary_name}.docs"] = f"debian/{provenance.DOC_NAME}\n"
    return files


def render_debian(
    spec: DebSpec,
    tree: Path,
    *,
    license_text: str | None = None,
    template_dirs: Sequence[Path] = (),
) -> Path:
    """Write tree/debian/ for spec and return its path.

    An existing debian/ (some sdists ship one) is deleted first, with a warning: tree is our own
    unpacked copy, and dpkg-source drops an orig tarball's debian/ anyway.  Everything is
    rendered before anything is touched, so a refused spec leaves the tree as it was.
    """
    files = render_files(spec, license_text=license_text, template_dirs=template_dirs)
    debian = tree / "debian"
    if debian.is_symlink() or debian.exists():
        log.warn(f"{spec.source_name}: replacing the debian/ directory the source tree has")
        if debian.is_dir() and not debian.is_symlink():
            shutil.rmtree(debian)
        else:
            debian.unlink()
    for rel, text in files.items():
        path = debian / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(FILES.get(rel, 0o644))
    for patch in spec.overrides.patches:       # the quilt series dpkg-source applies
        (debian / "patches" / patch.name).write_bytes(patch.data)
    return debian
