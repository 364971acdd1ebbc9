"""The file-ownership check (repack.owned) as pure functions on Contents-style data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from repack import targets
from repack.container import images
from repack.errors import BuildError, MappingError
from repack.owned import check_scripts, conflicts, normalise, parse_owned, refusal

DEB12 = targets.load("debian-12")
# Real lines of Debian 12's Contents-amd64/-all (util-linux ships /bin/su, login /bin/login).
CONTENTS = gzip.compress(b"""\
bin/login                                               admin/login
bin/su                                                  utils/util-linux
usr/bin/python3                                         python/python3-minimal
usr/bin/django-admin                                    python/python3-django
usr/lib/python3/dist-packages/apt/__init__.py           python/python3-apt
usr/lib/python3/dist-packages/with space/x.py           python/python3-odd
usr/bin/shared                                          utils/a,admin/b
""")


def test_normalise_merged_usr() -> None:
    assert normalise("./bin/su") == normalise("/usr/bin/su") == "/usr/bin/su"
    assert normalise("./lib64/ld.so") == "/usr/lib64/ld.so"
    assert normalise("./usr/lib/../bin/x") == "/usr/bin/x"
    assert normalise("./binary/x") == "/binary/x"


def test_parse_owned() -> None:
    owned = parse_owned(CONTENTS)
    assert owned["/usr/bin/su"] == ("/bin/su", ("util-linux",))
    assert owned["/usr/lib/python3/dist-packages/with space/x.py"][1] == ("python3-odd",)
    assert owned["/usr/bin/shared"][1] == ("a", "b")


def test_parse_owned_reads_only_the_wanted_lines() -> None:
    """What a build asks about, in either spelling, is found as the whole parse finds it;
    the other lines are not read."""
    whole = parse_owned(CONTENTS)
    wanted = ["./usr/bin/su", "/usr/bin/shared", "./usr/lib/python3/dist-packages/with space/x.py",
              "./usr/bin/unowned"]
    some = parse_owned(CONTENTS, wanted=wanted)
    assert some == {k: whole[k] for k in ("/usr/bin/su", "/usr/bin/shared",
                                          "/usr/lib/python3/dist-packages/with space/x.py")}
    assert parse_owned(CONTENTS, wanted=[]) == {}
    for f in wanted:
        assert conflicts([f], some, package="p") == conflicts([f], whole, package="p")


def test_parse_owned_finds_paths_that_normalise_to_another_name() -> None:
    """A path whose spelling differs from its file's name ("usr/lib/../bin/tool",
    "usr/bin/tool/.") is found as the whole parse finds it."""
    data = gzip.compress(b"usr/lib/../bin/tool    utils/a\nusr/bin/tool/.    utils/b\n"
                         b"usr/share/x/..    utils/c\nusr/bin/other    utils/d\n")
    whole = parse_owned(data)
    assert parse_owned(data, wanted=["/usr/bin/tool"]) == {
        "/usr/bin/tool": ("/usr/lib/../bin/tool", ("a", "b"))}
    assert parse_owned(data, wanted=["./usr/share"]) == {"/usr/share": ("/usr/share/x/..", ("c",))}
    assert parse_owned(data, wanted=["/usr/bin/other", "/usr/bin/none"]) == {
        "/usr/bin/other": whole["/usr/bin/other"]}


def test_merged_usr_alias_is_a_conflict() -> None:
    owned = parse_owned(CONTENTS)
    files = ["./usr/bin/su", "./usr/bin/login", "./usr/share/doc/python3-evil/copyright"]
    found = conflicts(files, owned, package="python3-evil")
    assert [(c.path, c.archive_path, c.owners) for c in found] == [
        ("/usr/bin/su", "/bin/su", ("util-linux",)),
        ("/usr/bin/login", "/bin/login", ("login",)),
    ]
    err = refusal("evil", "python3-evil", found, DEB12)
    assert err.exit_code == 7
    assert str(err) == ("evil: python3-evil would replace /bin/su (the same file as /usr/bin/su "
                        "on merged /usr) of Debian 12 (bookworm)'s util-linux, and 1 more file(s) "
                        "the system owns")
    assert err.hint == ('if it is another program of the same name, leave it out in repack.toml: '
                        '[packages.evil] exclude = ["/usr/bin/su", "/usr/bin/login"]; if '
                        'replacing it is intended, allow it: allow-paths = ["/usr/bin/su", '
                        '"/usr/bin/login"]')


def test_modules_of_other_packages_conflict() -> None:
    owned = parse_owned(CONTENTS)
    found = conflicts(["./usr/lib/python3/dist-packages/apt/__init__.py"], owned,
                      package="python3-apt-pypi")
    assert found[0].owners == ("python3-apt",)


def test_the_same_package_is_an_upgrade_not_a_conflict() -> None:
    owned = parse_owned(CONTENTS)
    assert conflicts(["./usr/bin/django-admin"], owned, package="python3-django") == []
    assert conflicts(["./usr/bin/shared"], owned, package="a")[0].owners == ("b",)


@pytest.mark.parametrize("allowed", [["/usr/bin/su"], ["/bin/su"]])
def test_allowed_paths_either_spelling(allowed: list[str]) -> None:
    owned = parse_owned(CONTENTS)
    assert conflicts(["./usr/bin/su"], owned, package="python3-evil", allowed=allowed) == []
    assert conflicts(["./usr/bin/python3"], owned, package="python3-evil", allowed=allowed)


def test_check_scripts_reads_the_images_archive(tmp_path: Path) -> None:
    """The early check on console scripts, with the archive data as the image state holds it."""
    image = images.image_for(DEB12, "builder", tmp_path)
    image.state_dir.mkdir(parents=True)
    reduced = tmp_path / "owned.gz"
    reduced.write_bytes(CONTENTS + gzip.compress(b"".join(
        b"usr/bin/tool%d  utils/x\n" % i for i in range(100))))
    image.archive_file.write_text(json.dumps({"packages": {}, "dist_map": {},
                                              "owned_files": images.owned_files_field(reduced)}))
    with pytest.raises(MappingError, match="python3-evil would replace /bin/login"):
        check_scripts(["login", "fine"], "python3-evil", DEB12, image, project="evil")
    check_scripts(["login"], "python3-evil", DEB12, image, project="evil", allowed=["/bin/login"])
    check_scripts(["evil-tool"], "python3-evil", DEB12, image, project="evil")


def test_an_empty_contents_index_is_an_error(tmp_path: Path) -> None:
    reduced = tmp_path / "owned.gz"
    reduced.write_bytes(gzip.compress(b""))
    with pytest.raises(BuildError, match="Contents index could not be read"):
        images.owned_files_field(reduced)


def test_refusal_names_where_the_file_list_comes_from() -> None:
    """RPM targets (and a Debian mirror whose Contents cannot be verified) use the files
    installed in the builder image; the message says so."""
    found = conflicts(["/usr/bin/su"], parse_owned(CONTENTS), package="python3-evil")
    el9 = targets.load("el9")
    assert str(refusal("evil", "python3-evil", found, el9, "installed")).endswith(
        "which Enterprise Linux 9 (RHEL, Rocky, Alma)'s base system ships (as util-linux of the "
        "repack-debian-11-builder image standing in for its file lists)")
    assert str(refusal("evil", "python3-evil", found, DEB12, "installed")).endswith(
        "of Debian 12 (bookworm)'s util-linux (installed in the builder image)")
