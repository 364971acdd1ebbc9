"""repack.publish.apt.splice_packages: a Packages list grown by new names is the old text
with the new stanzas put in place, byte for byte what rendering the whole db gives."""

from __future__ import annotations

import json
import random

from repack.publish import apt


def _rec(name: str, version: str = "1.0", arch: str = "all") -> apt.Record:
    # control-file order, not sorted: as apt.add holds a new record before save_db
    return {"Package": name, "Version": version, "Architecture": arch,
            "Repack-Project": name, "Description": "demo\n more\n .\n end",
            "Filename": f"pool/main/{name[0]}/{name}/{name}_{version}_{arch}.deb",
            "Size": "1234", "SHA256": "ab" * 32, "Homepage": "https://example.org"}


def _as_saved(records: list[apt.Record]) -> list[apt.Record]:
    """The records as the db file gives them back (save_db: sorted keys)."""
    loaded: list[apt.Record] = json.loads(json.dumps(records, sort_keys=True))
    return loaded


def test_spliced_lists_equal_the_whole_render() -> None:
    rng = random.Random(13)
    pool = [f"python3-p{i:03d}" for i in range(300)]
    for _ in range(200):
        names = rng.sample(pool, rng.randint(1, 60))
        cut = rng.randint(0, len(names))
        old = _as_saved([_rec(n, f"1.{v}", rng.choice(["all", "amd64"]))
                         for n in names[:cut] for v in range(rng.randint(1, 3))])
        new = [_rec(n) for n in names[cut:]]
        text = apt.packages_text(old)
        whole = apt.packages_text(old + _as_saved(new))
        assert apt.splice_packages(text, len(old), new) == whole


def test_what_it_cannot_splice_is_left_to_a_whole_render() -> None:
    old = _as_saved([_rec("python3-a"), _rec("python3-c")])
    text = apt.packages_text(old)
    assert apt.splice_packages(text, 2, [_rec("python3-b")]) is not None
    # a new version of a name the list has: versions decide the order, not names
    assert apt.splice_packages(text, 2, [_rec("python3-a", "2.0")]) is None
    assert apt.splice_packages(text, 2, [_rec("python3-b"), _rec("python3-b", "2")]) is None
    # a text that is not the list of those records
    assert apt.splice_packages(text, 3, [_rec("python3-b")]) is None
    assert apt.splice_packages(b"Version: 1\n", 1, [_rec("python3-b")]) is None
    unsorted = apt.packages_text(old[1:]) + b"\n" + apt.packages_text(old[:1])
    assert apt.splice_packages(unsorted, 2, [_rec("python3-b")]) is None
    first = apt.packages_text(_as_saved([_rec("python3-b")]))
    assert apt.splice_packages(b"", 0, [_rec("python3-b")]) == first
