"""repack.container.contents: the archive's files by name, in an SQLite file."""

from __future__ import annotations

import gzip
from pathlib import Path

from repack.container import contents
from repack.owned import parse_owned

# Real lines of Debian 12's Contents (util-linux ships /bin/su), and the odd spellings
# repack.owned must read as the whole parse reads them.
DATA = gzip.compress(b"""\
bin/login                                               admin/login
bin/su                                                  utils/util-linux
usr/bin/shared                                          utils/a,admin/b
usr/lib/python3/dist-packages/with space/x.py           python/python3-odd
usr/lib/../bin/tool    utils/a
usr/bin/tool/.    utils/b
usr/share/x/..    utils/c
no-package-list
""")


def test_an_index_answers_as_the_whole_parse(tmp_path: Path) -> None:
    index = tmp_path / "owned.sqlite"
    contents.make(DATA, index)
    assert contents.lines_named(DATA, ["su", "x.py", "absent"], index) == [
        "bin/su                                                  utils/util-linux",
        "usr/lib/python3/dist-packages/with space/x.py           python/python3-odd"]
    for wanted in (["/usr/bin/su", "/bin/login", "/usr/bin/shared", "/usr/bin/none"],
                   ["/usr/bin/tool"], ["./usr/share"], [f"/usr/x{i}" for i in range(1200)],
                   []):
        assert parse_owned(DATA, wanted, index=index) == parse_owned(DATA, wanted)
    assert parse_owned(DATA, ["/usr/bin/tool"], index=index) == {
        "/usr/bin/tool": ("/usr/lib/../bin/tool", ("a", "b"))}
    assert not list(tmp_path.glob(".*"))     # the staging file was renamed into place


def test_an_index_of_other_lines_or_none_is_not_used(tmp_path: Path) -> None:
    index = tmp_path / "owned.sqlite"
    assert contents.lines_named(DATA, ["su"], index) is None        # missing
    contents.make(gzip.compress(b"bin/su    utils/other\n"), index)
    assert contents.lines_named(DATA, ["su"], index) is None        # made from other lines
    assert parse_owned(DATA, ["/bin/su"], index=index) == {
        "/usr/bin/su": ("/bin/su", ("util-linux",))}
    index.write_bytes(b"not a database")
    assert contents.lines_named(DATA, ["su"], index) is None
    contents.make(DATA, index)                  # made again over it
    assert contents.lines_named(DATA, ["su"], index) == [
        "bin/su                                                  utils/util-linux"]
