"""The provenance record: its JSON codec, and how a security fix reaches the changelogs."""

from __future__ import annotations

import dataclasses
import json
import shutil
import unicodedata
from pathlib import Path

import pytest
from examples import ARCHIVE, GHSA, RECORD, TARGET, deb_spec, parsed, project, rpm_spec

from repack.deb.naming import make_deb_spec
from repack.errors import MetadataError
from repack.rpm.render import render_spec, write_sources
from repack.trust import provenance


def test_json_round_trip_is_stable() -> None:
    text = provenance.to_json(RECORD)
    assert provenance.from_json(text) == RECORD
    assert provenance.to_json(provenance.from_json(text)) == text
    doc = json.loads(text)
    assert doc["schema"] == 1 and doc["vulnerabilities"][0]["aliases"] == ["CVE-2023-31047"]


@pytest.mark.parametrize("doc", [
    "not json", "[]", '{"schema": 2}',
    json.dumps({"schema": 1, "project": "x", "version": "1", "filename": "x-1.tar.gz",
                "url": "u", "sha256": 5}),
    json.dumps({"schema": 1, "project": "x", "version": "1", "filename": "x-1.tar.gz",
                "url": "u", "sha256": "s", "fixes": [{"id": "GHSA\nInjected: yes"}]}),
])
def test_malformed_documents_are_refused(doc: str) -> None:
    with pytest.raises(MetadataError, match="malformed repack-provenance.json"):
        provenance.from_json(doc, source="x.deb")


@pytest.mark.parametrize("bad", [
    {"id": "GHSA-1", "aliases": ["CVE-2024-1", "evil\nField: x"], "fixed_in": []},
    {"id": "GHSA-1", "aliases": ["x y"]},
    {"id": "GHSA-1", "aliases": "CVE-2024-1"},
    {"id": "GHSA-1", "fixed_in": ["1.1\x1b]0;title\x07"]},
    {"id": "GHSA 1"},
    {"id": "GHSA-1", "link": ["https://x"]},
])
def test_a_malformed_advisory_is_refused_not_trimmed(bad: dict[str, object]) -> None:
    """An id, alias or fixed_in version that could break a field or steer a terminal makes
    the entry malformed: the caller reports it (an advisory trimmed quietly is a lie)."""
    with pytest.raises((ValueError, TypeError)) as err:
        provenance.advisory_from_json(bad)
    assert "\x1b" not in str(err.value) and "\n" not in str(err.value)


def test_advisory_ids() -> None:
    assert provenance.advisory_ids([GHSA, GHSA]) == ["GHSA-2hrw-hx67-34x6", "CVE-2023-31047"]


def test_clean_text_and_url() -> None:
    assert provenance.clean_text("a\x1b[2Kb\x9b1Ac\rd\x07e\u202ef  g\n h") == "a[2Kb1Ac def g h"
    assert provenance.clean_text("one\n\x1b[1Atwo\n\n three", lines=True) == \
        "one\n[1Atwo\n\nthree"
    assert provenance.clean_text("x" * 50, limit=10) == "xxxxxxx..."
    assert provenance.clean_url("https://user:secret@files.example/d-1.0.tar.gz?a=1"
                                "#\x1b[2K\rverified: pgp:EVIL") == \
        "https://files.example/d-1.0.tar.gz?a=1"


def test_clean_text_of_each_ascii_character() -> None:
    """Printable ASCII takes a shortcut: each ASCII character, alone and amid printable
    text, comes out as the per-character rule has it (C* dropped, whitespace collapsed)."""
    for code in range(128):
        ch = chr(code)
        kept = ch if ch.isspace() or unicodedata.category(ch)[0] != "C" else ""
        for text in (ch, f"a{ch}b", f"python3-x {ch} 1.0"):
            expected = " ".join(text.replace(ch, kept).split())
            assert provenance.clean_text(text) == expected, repr(text)


def test_upstream_text_is_cleaned_in_and_out() -> None:
    """A record made by anyone (`repack explain` reads any package) comes back without
    control characters or a URL fragment."""
    doc = json.loads(provenance.to_json(RECORD))
    doc["url"] += "#\x1b[1A\x1b[2K  verified:  pgp:" + "E" * 40
    doc["filename"] = "Django-4.2\x1b[8m.tar.gz"
    doc["verified"].append("pgp:\x9b2K")
    doc["vulnerabilities"][0]["summary"] = "line\x1b[2K\nnext"
    parsed = provenance.from_json(json.dumps(doc))
    assert parsed.url == RECORD.url and parsed.filename == "Django-4.2[8m.tar.gz"
    assert parsed.verified[-1] == "pgp:2K"
    assert parsed.vulnerabilities[0].summary == "line[2K\nnext"


def test_control_fields() -> None:
    fields = provenance.control_fields(RECORD)
    assert fields == {
        "Repack-Project": "django", "Repack-Upstream-Version": "4.2",
        "Repack-Source": "https://files.example/Django-4.2.tar.gz",
        "Repack-Source-Digest": "sha256:" + "c3" * 32,
        "Repack-Verified": "tls sha256:index attestation:github:django/django/release.yml",
    }
    fixed = provenance.control_fields(dataclasses.replace(RECORD, fixes=(GHSA,)))
    assert fixed["Repack-Fixes"] == "GHSA-2hrw-hx67-34x6 CVE-2023-31047"


def test_a_security_release_gets_urgency_high_and_names_what_it_fixes() -> None:
    plain = deb_spec(project())
    assert plain.changelog.urgency == "medium" and plain.provenance is None
    fixed = make_deb_spec(project(), source_url="https://files.example/django-4.2.tar.gz",
                          target=TARGET, archive=ARCHIVE, maintainer="Repack <repack@example.org>",
                          date="Mon, 01 Jan 2024 00:00:00 +0000",
                          provenance=dataclasses.replace(RECORD, fixes=(GHSA,)))
    assert fixed.changelog.urgency == "high"
    assert fixed.changelog.changes[-1] == (
        "Security update: fixes GHSA-2hrw-hx67-34x6, CVE-2023-31047.")


@pytest.mark.process
@pytest.mark.skipif(shutil.which("rpmspec") is None, reason="rpmspec not installed")
def test_rpm_spec_ships_the_record_as_doc(tmp_path: Path) -> None:
    s = dataclasses.replace(rpm_spec(), provenance=RECORD)
    out = parsed(tmp_path, s)
    text = render_spec(s, tmp_path).read_text()
    assert "Source1:        repack-provenance.json" in text.splitlines()
    assert "%doc repack-provenance.json" in out.splitlines()
    assert "cp -p %{SOURCE1} ." in text.splitlines()
    write_sources(s, tmp_path)
    assert provenance.from_json((tmp_path / "repack-provenance.json").read_text()) == RECORD


def test_source_date_epoch_round_trip_and_checks() -> None:
    dated = dataclasses.replace(RECORD, source_date_epoch=1_700_000_000)
    assert provenance.from_json(provenance.to_json(dated)) == dated
    doc = json.loads(provenance.to_json(RECORD))
    assert doc["source_date_epoch"] is None          # a record of an older repack: no date
    for bad in (True, -1, "1700000000", 1.5):
        doc["source_date_epoch"] = bad
        with pytest.raises(MetadataError, match="source_date_epoch"):
            provenance.from_json(json.dumps(doc))


def test_the_console_prints_strings_as_data() -> None:
    """Whatever reaches the terminal through repack.log (messages, errors, a build's output
    tail) loses control characters; newlines and tabs stay."""
    import io

    from repack import log

    out = io.StringIO()
    console = type(log.console)(file=out, force_terminal=True, highlight=False, soft_wrap=True)
    console.print("ok\x1b[2K\x1b[1A\rforged\x9b2K\x07\tline\nnext", markup=False)
    assert out.getvalue().replace(" ", "") == "ok[2K[1Aforged2Kline\nnext\n"  # tab expanded
