"""The provenance record every artifact carries: what was accepted from upstream, and why.

One JSON document, written into each binary package as
``/usr/share/doc/<package>/repack-provenance.json`` so that it travels with the file (a .deb
also gets one-line ``Repack-*`` control fields, which ``apt show`` and ``dpkg -s`` print).
`read` gets it back from a .deb or .rpm without installing it: `repack explain` prints it
and `repack publish` takes the security fixes from it.

The document is data, never a template: upstream text (URLs, advisory summaries) is JSON-
encoded by `json.dumps`, and advisory ids are checked against `ID_RE` before they are
written anywhere a format could be broken (control fields, changelogs).  Every text that
came from the index or a package passes `clean_text` (no control characters: a terminal
showing the record must not be steered by it) on the way in and on the way out, and URLs
`clean_url` (no fragment, no credentials).
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from packaging.utils import canonicalize_name

from repack.errors import MetadataError
from repack.model import Advisory, BuildToolRecord, Provenance, Sdist
from repack.rpm import payload
from repack.run import clean_env, find_tool, run

__all__ = ["DOC_NAME", "ID_RE", "MAX_DOC", "SCHEMA", "advisory_ids", "changelog_lines",
           "clean_text", "clean_url", "control_fields", "doc_path", "from_json", "of", "read",
           "to_json", "tool_record"]

SCHEMA = 1
DOC_NAME = "repack-provenance.json"
#: OSV ids and aliases (GHSA-xxxx-xxxx-xxxx, PYSEC-2023-100, CVE-2023-31047): nothing that
#: could end a field, a line or a macro.
ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9._:-]{1,80}")
#: A fixed_in version as the JSON API lists it (PEP 440 and a little more); nothing else.
VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]{0,63}")
MAX_DOC = 1024 * 1024     # the most of a provenance record read from a package
_MAX_TEXT = 1000
MAX_REVISION = 999      # 0repack1 .. 0repack999 (repack.revision)


def clean_text(value: object, *, limit: int = _MAX_TEXT, lines: bool = False) -> str:
    """Untrusted text made fit for a terminal and a record: control and format characters
    (Unicode C*: ESC, CSI, bidi overrides...) removed, separators and whitespace collapsed to
    single spaces (`lines`: line breaks kept as "\\n"), at most `limit` characters."""
    def one_line(text: str) -> str:
        # printable ASCII has no C* character: the per-character test is for the rest
        # (a publish cleans every field of 200 records)
        kept = text if text.isascii() and text.isprintable() else "".join(
            ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C")
        return " ".join(kept.split())

    text = str(value)
    out = ("\n".join(one_line(line) for line in text.splitlines()).strip("\n") if lines
           else one_line(text))
    return out if len(out) <= limit else out[: limit - 3] + "..."


def clean_url(url: str) -> str:
    """A URL for the record and the screen: without its fragment (never sent to the server,
    so free for an index to fill) and credentials, and `clean_text`ed."""
    parts = urlsplit(clean_text(url, limit=4 * _MAX_TEXT))
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def of(sdist: Sdist, build_tools: Sequence[Sdist] = ()) -> Provenance:
    """The record of one verified sdist, and of the verified wheels (repack.buildreqs) its
    build installed: they ran as its build backend, so they are part of where it came from.
    Upstream text is cleaned."""
    release = sdist.release
    return Provenance(
        project=release.name, version=clean_text(release.version),
        filename=clean_text(release.filename), url=clean_url(release.url),
        sha256=sdist.sha256, verified=tuple(clean_text(v) for v in sdist.verified),
        vulnerabilities=sdist.vulnerabilities, fixes=sdist.fixes,
        advisories_checked=sdist.advisories_checked,
        source_date_epoch=sdist.source_date_epoch,
        build_tools=tuple(tool_record(t) for t in build_tools),
        revision=sdist.revision, rebuilt=clean_text(sdist.rebuilt) if sdist.rebuilt else None,
    )


def tool_record(wheel: Sdist) -> BuildToolRecord:
    """The record of one accepted build-tool wheel."""
    release = wheel.release
    return BuildToolRecord(
        project=release.name, version=clean_text(release.version),
        filename=clean_text(release.filename), url=clean_url(release.url),
        sha256=wheel.sha256, verified=tuple(clean_text(v) for v in wheel.verified),
        vulnerabilities=wheel.vulnerabilities, advisories_checked=wheel.advisories_checked)


def changelog_lines(p: Provenance | None) -> tuple[str, ...]:
    """Our own changelog lines: why a revision > 1 was built, and security fixes (ids
    only, checked; no upstream prose)."""
    if p is None:
        return ()
    lines: tuple[str, ...] = (f"Rebuilt: {p.rebuilt}",) if p.revision > 1 and p.rebuilt else ()
    if p.fixes:
        lines += (f"Security update: fixes {', '.join(advisory_ids(p.fixes))}.",)
    return lines


def doc_path(package: str) -> str:
    """Where the document is installed, relative to the root."""
    return f"usr/share/doc/{package}/{DOC_NAME}"


def _advisory_json(a: Advisory) -> dict[str, Any]:
    return {"id": a.id, "aliases": list(a.aliases), "summary": a.summary,
            "fixed_in": list(a.fixed_in), "link": a.link}


def to_json(p: Provenance) -> str:
    """The document, stable (sorted keys) so that identical inputs give identical packages."""
    doc = {
        "schema": SCHEMA,
        "project": p.project,
        "version": p.version,
        "filename": p.filename,
        "url": p.url,
        "sha256": p.sha256,
        "verified": list(p.verified),
        "vulnerabilities": [_advisory_json(a) for a in p.vulnerabilities],
        "fixes": [_advisory_json(a) for a in p.fixes],
        "advisories_checked": p.advisories_checked,
        "source_date_epoch": p.source_date_epoch,
    }
    if p.build_tools:   # absent when none: a record without tools stays byte-identical
        doc["build_tools"] = [_tool_json(t) for t in p.build_tools]
    if p.revision != 1:  # likewise: revision 1 records stay as they were
        doc["revision"] = p.revision
        doc["rebuilt"] = p.rebuilt
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def _tool_json(t: BuildToolRecord) -> dict[str, Any]:
    return {"project": t.project, "version": t.version, "filename": t.filename, "url": t.url,
            "sha256": t.sha256, "verified": list(t.verified),
            "vulnerabilities": [_advisory_json(a) for a in t.vulnerabilities],
            "advisories_checked": t.advisories_checked}


def _tool_from_json(item: object) -> BuildToolRecord:
    if not isinstance(item, dict):
        raise TypeError("build_tools must be a list of objects")
    fields = {k: item.get(k) for k in ("project", "version", "filename", "url", "sha256")}
    for key, value in fields.items():
        if not isinstance(value, str):
            raise TypeError(f"build_tools: {key} must be a string")
    return BuildToolRecord(   # cleaned like the record itself: a package is untrusted input
        project=canonicalize_name(clean_text(fields["project"])),
        version=clean_text(fields["version"]), filename=clean_text(fields["filename"]),
        url=clean_url(str(fields["url"])), sha256=clean_text(fields["sha256"]),
        verified=tuple(clean_text(v) for v in _strs(item.get("verified", []),
                                                    "build_tools: verified")),
        vulnerabilities=tuple(advisory_from_json(a) for a in item.get("vulnerabilities", [])),
        advisories_checked=item.get("advisories_checked") is True)


def _strs(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return tuple(value)


def _checked(value: object, what: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    """A list of strings each matching `pattern` (null: none); ValueError otherwise."""
    items = _strs([] if value is None else value, what)
    for item in items:
        if not pattern.fullmatch(item):
            raise ValueError(f"{what} entry {clean_text(item, limit=80)!r} is malformed")
    return items


def advisory_from_json(item: Mapping[str, Any]) -> Advisory:
    """One advisory from the document (or from the index's JSON API, which has the same keys).
    ValueError or TypeError when an id, alias or fixed_in version is malformed or a field has
    the wrong type: a malformed entry is never silently dropped."""
    if not isinstance(item, Mapping):
        raise TypeError("an advisory must be a JSON object")
    ident = item.get("id")
    if not isinstance(ident, str) or not ID_RE.fullmatch(ident):
        raise ValueError(f"advisory id {clean_text(ident, limit=80)!r} is malformed")
    summary = item.get("summary") or item.get("details") or ""
    link = item.get("link")
    if not isinstance(summary, str) or not (link is None or isinstance(link, str)):
        raise TypeError(f"advisory {ident}: summary and link must be strings")
    return Advisory(
        id=ident,
        aliases=_checked(item.get("aliases"), f"advisory {ident}: aliases", ID_RE),
        summary=clean_text(summary, lines=True),
        fixed_in=_checked(item.get("fixed_in"), f"advisory {ident}: fixed_in", VERSION_RE),
        link=None if not link else clean_url(link),
    )


def from_json(text: str | bytes, *, source: str = "provenance") -> Provenance:
    """Parse a document; MetadataError naming `source` when it is not one of ours."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise ValueError(f"not a repack provenance document (schema {SCHEMA})")
        fields = {k: doc.get(k) for k in ("project", "version", "filename", "url", "sha256")}
        for key, value in fields.items():
            if not isinstance(value, str):
                raise TypeError(f"{key} must be a string")
        return Provenance(   # a package is untrusted input too (`repack explain` on any .deb)
            project=canonicalize_name(clean_text(fields["project"])),
            version=clean_text(fields["version"]),
            filename=clean_text(fields["filename"]),
            url=clean_url(str(fields["url"])),
            sha256=clean_text(fields["sha256"]),
            verified=tuple(clean_text(v) for v in _strs(doc.get("verified", []), "verified")),
            vulnerabilities=tuple(advisory_from_json(a) for a in doc.get("vulnerabilities", [])),
            fixes=tuple(advisory_from_json(a) for a in doc.get("fixes", [])),
            advisories_checked=doc.get("advisories_checked") is True,
            source_date_epoch=_epoch(doc.get("source_date_epoch")),
            build_tools=tuple(_tool_from_json(t) for t in _list(doc.get("build_tools", []))),
            revision=_revision(doc.get("revision", 1)),
            rebuilt=clean_text(doc["rebuilt"]) if isinstance(doc.get("rebuilt"), str) else None,
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise MetadataError(f"{source}: malformed {DOC_NAME}: {exc}") from exc


def _epoch(value: object) -> int | None:
    """Absent in records of older repack versions; never a bool or a negative number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("source_date_epoch must be a whole number of seconds")
    return value


def _revision(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REVISION:
        raise ValueError(f"revision must be a whole number from 1 to {MAX_REVISION}")
    return value


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError("build_tools must be a list")
    return value


def advisory_ids(advisories: Sequence[Advisory]) -> list[str]:
    """Every id and alias, once, in order: what a changelog or control field names."""
    seen: dict[str, None] = {}
    for a in advisories:
        for ident in (a.id, *a.aliases):
            if ID_RE.fullmatch(ident):
                seen.setdefault(ident)
    return list(seen)


def control_fields(p: Provenance) -> dict[str, str]:
    """One-line ``Repack-*`` fields for a .deb's control file (values still need the
    control-file escaping of repack.deb.render; ids are already safe)."""
    fields = {
        "Repack-Project": p.project,
        "Repack-Upstream-Version": p.version,
        "Repack-Source": p.url,
        "Repack-Source-Digest": f"sha256:{p.sha256}",
        "Repack-Verified": " ".join(p.verified),
    }
    if p.fixes:
        fields["Repack-Fixes"] = " ".join(advisory_ids(p.fixes))
    if p.build_tools:   # the backend wrote the package: Repack-Verified alone is not the story
        fields["Repack-Build-Tools"] = ", ".join(
            f"{t.project} {t.version} ({' '.join(t.verified)})" for t in p.build_tools)
    return fields


def read(path: Path, *, rpm_name: str | None = None,
         deb_package: str | None = None) -> Provenance | None:
    """The record inside a built .deb or .rpm, or None when it carries none (not built by
    repack, or by an older repack).  MetadataError when the file cannot be read.  rpm_name:
    the .rpm's NAME when the caller read it already (one rpm run for many files);
    deb_package: the .deb's Package field, when the caller parsed its control file."""
    name = path.name
    if name.endswith(".deb"):
        data = _from_deb(path, deb_package)
    elif name.endswith(".rpm") and not name.endswith(".src.rpm"):
        data = _from_rpm(path, rpm_name)
    else:
        raise MetadataError(f"{name}: not a binary .deb or .rpm; the provenance record is in "
                            "the binary packages")
    return None if data is None else from_json(data, source=name)


def _too_big(path: Path, size: int) -> MetadataError:
    return MetadataError(f"{path.name}: its {DOC_NAME} is {size} bytes; a provenance record "
                         f"is far smaller (at most {MAX_DOC})")


def _from_deb(path: Path, package: str | None = None) -> bytes | None:
    from debian.debfile import DebError, DebFile

    try:
        deb = DebFile(str(path))
        try:
            package = package or deb.debcontrol()["Package"]
            tar = deb.data.tgz()
            names = (doc_path(package), "./" + doc_path(package))
            member = next((m for m in tar.getmembers() if m.name in names), None)
            if member is None or not member.isfile():   # no record is no error
                return None
            if member.size > MAX_DOC:
                raise _too_big(path, member.size)
            fh = tar.extractfile(member)
            return fh.read(MAX_DOC) if fh is not None else None
        finally:
            deb.close()
    except (DebError, KeyError, OSError, tarfile.TarError, EOFError) as exc:
        raise MetadataError(f"{path.name}: cannot read the .deb: {exc}") from exc


def _from_rpm(path: Path, name: str | None) -> bytes | None:
    """The record from the payload, read in-process (repack.rpm.payload: bounded, checked
    against the header's digest of it), else streamed through rpm2archive: the payload is
    never held in memory whole (a package is untrusted input, its payload possibly a
    bomb)."""
    if name is None:
        name = run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", "%{NAME}",
                    path]).stdout.decode(errors="replace")
    wanted = "./" + doc_path(name)
    try:
        with path.open("rb") as rpm_file:
            return payload.member(rpm_file, wanted, name=name, max_size=MAX_DOC)
    except payload.Unsupported:
        pass                            # zstd, or a stripped cpio: rpm2archive reads it
    except payload.Oversized as exc:
        raise _too_big(path, exc.size) from exc
    except MetadataError as exc:
        raise MetadataError(f"{path.name}: cannot read the rpm: {exc}") from exc
    except OSError as exc:
        raise MetadataError(f"{path.name}: cannot read the rpm: {exc}") from exc
    # rpm2archive turns the payload (whatever its compression) into a plain tar on stdout.
    with path.open("rb") as rpm, subprocess.Popen(
            [find_tool("rpm2archive"), "-n", "-"], stdin=rpm, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=clean_env()) as proc:
        try:
            assert proc.stdout is not None
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                for member in tar:
                    if member.name != wanted:
                        continue
                    if not member.isfile():
                        return None
                    if member.size > MAX_DOC:
                        raise _too_big(path, member.size)
                    fh = tar.extractfile(member)
                    return fh.read(MAX_DOC) if fh else None
        except tarfile.TarError as exc:
            raise MetadataError(f"{path.name}: cannot read the rpm payload: {exc}") from exc
        finally:
            proc.kill()
    return None
