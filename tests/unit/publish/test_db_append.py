"""repack.publish.apt.save_db(grown_from=...): the db file of a publish that only appended
packages is the old file's bytes with the new records spliced in, byte for byte what dumping
the whole db gives; anything else is dumped whole."""

from __future__ import annotations

import json
import random
from pathlib import Path

from repack.publish import apt


def _rec(name: str, arch: str = "all") -> apt.Record:
    # control-file order, not sorted: as apt.add holds a new record before save_db
    return {"Package": name, "Version": "1.0", "Architecture": arch,
            "Description": "demo \u00e9\n more \"quoted\"", "Filename": f"pool/{name}.deb",
            "SHA256": "ab" * 32}


def _whole(db: dict[str, list[apt.Record]]) -> bytes:
    return json.dumps(db, sort_keys=True, separators=(",", ":")).encode()


def _grow(root: Path, old: list[apt.Record], new: list[apt.Record],
          sources: list[apt.Record]) -> bytes:
    apt.save_db(root, "bookworm", {"packages": old, "sources": sources})
    before = apt.db_identity(root, "bookworm")
    assert before is not None
    db = apt.load_db(root, "bookworm")
    db["packages"] += new
    apt.save_db(root, "bookworm", db, grown_from=(before, len(old)))
    return (root / "db" / "apt" / "bookworm.json").read_bytes()


def test_appended_db_equals_the_whole_dump(tmp_path: Path) -> None:
    rng = random.Random(7)
    for i in range(40):
        root = tmp_path / str(i)
        old = [_rec(f"p{k}", rng.choice(["all", "amd64"])) for k in range(rng.randint(0, 30))]
        new = [_rec(f"n{k}") for k in range(rng.randint(1, 10))]
        sources = [{"Package": "s", "Version": "1"}] if rng.random() < 0.5 else []
        text = _grow(root, old, new, sources)
        assert text == _whole({"packages": old + new, "sources": sources})
        assert apt.load_db(root, "bookworm") == json.loads(text)


def test_another_file_or_changed_sources_are_dumped_whole(tmp_path: Path) -> None:
    root = tmp_path
    apt.save_db(root, "bookworm", {"packages": [_rec("a")], "sources": []})
    before = apt.db_identity(root, "bookworm")
    assert before is not None
    # the sources changed too: the file on disk does not end with them
    db = {"packages": [_rec("a"), _rec("b")], "sources": [{"Package": "s", "Version": "1"}]}
    apt.save_db(root, "bookworm", db, grown_from=(before, 1))
    assert (root / "db" / "apt" / "bookworm.json").read_bytes() == _whole(db)
    # the identity names a file that is no longer there: a whole dump, not a splice of it
    db2 = {"packages": [_rec("c")], "sources": []}
    apt.save_db(root, "bookworm", db2, grown_from=(before, 1))
    assert (root / "db" / "apt" / "bookworm.json").read_bytes() == _whole(db2)
