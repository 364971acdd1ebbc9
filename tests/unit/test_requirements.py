"""The requirements-file subset and --hash values."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repack.errors import ConfigError
from repack.requirements import PinnedRequirement, parse_hash_option, parse_requirements_file

H1 = "a" * 64
H2 = "0123456789abcdef" * 4
H3 = "f" * 64


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(reqs: list[PinnedRequirement]) -> list[str]:
    return [str(r.req) for r in reqs]


# -- --hash values -----------------------------------------------------------------------


def test_parse_hash_option_normalises() -> None:
    assert parse_hash_option(f"sha256:{H1}") == f"sha256:{H1}"
    assert parse_hash_option(f"  SHA256:{H2.upper()} ") == f"sha256:{H2}"


@pytest.mark.parametrize("algo", ["sha384", "sha512", "md5", "sha1", "blake2b"])
def test_other_algorithms_are_refused_clearly(algo: str) -> None:
    with pytest.raises(ConfigError, match=f"unsupported hash algorithm '{algo}'.*only sha256"):
        parse_hash_option(f"{algo}:{'0' * 128}")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (H1, "expected sha256:"),                     # no algorithm
        (f"sha256={H1}", "expected sha256:"),           # wrong separator
        ("sha256:" + "a" * 63, "64 hexadecimal digits, got 63"),
        ("sha256:" + "g" * 64, "64 hexadecimal digits"),
        ("sha256:", "got 0 characters"),
        (f"whirl:{H1}", "unknown hash algorithm 'whirl'"),
    ],
)
def test_malformed_hashes(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_hash_option(text)


@given(st.binary(min_size=32, max_size=32), st.booleans())
def test_parse_hash_option_roundtrip(raw: bytes, upper: bool) -> None:
    digest = raw.hex().upper() if upper else raw.hex()
    assert parse_hash_option(f"sha256:{digest}") == f"sha256:{raw.hex()}"


# -- files -------------------------------------------------------------------------------


def test_full_subset(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "more.txt", f"six==1.16.0 --hash=sha256:{H3}\n")
    req = write(
        tmp_path / "requirements.txt",
        f"""\
# a comment
\t
Django==4.2 \\
    --hash=sha256:{H1} \\
    --hash sha256:{H2.upper()}   # trailing comment
requests[socks]==2.31.0 ; python_version >= "3.8" --hash=sha256:{H1}

-r sub/more.txt
attrs===23.1.0 --hash=sha256:{H2} --hash=sha256:{H2}
""",
    )
    result = parse_requirements_file(req)
    assert names(result) == [
        "Django==4.2",
        'requests[socks]==2.31.0; python_version >= "3.8"',
        "six==1.16.0",
        "attrs===23.1.0",
    ]
    assert result[0].hashes == (f"sha256:{H1}", f"sha256:{H2}")
    assert result[0].origin == f"{req}:3"
    assert result[1].hashes == (f"sha256:{H1}",)
    assert result[2].origin == f"{tmp_path / 'sub' / 'more.txt'}:1"
    assert result[3].hashes == (f"sha256:{H2}",)  # duplicates dropped
    assert result[3].origin == f"{req}:9"


def test_requirements_without_hashes(tmp_path: Path) -> None:
    req = write(tmp_path / "r.txt", "django>=4\nurl#not-a-comment\n# only a comment\n")
    with pytest.raises(ConfigError, match=r"r.txt:2: invalid requirement"):
        parse_requirements_file(req)
    req = write(tmp_path / "r.txt", "django>=4 # comment\n\nrequests\n")
    result = parse_requirements_file(req)
    assert names(result) == ["django>=4", "requests"]
    assert all(r.hashes == () for r in result)


def test_empty_file(tmp_path: Path) -> None:
    assert parse_requirements_file(write(tmp_path / "r.txt", "\n# nothing\n")) == []


def test_nested_file_is_relative_to_its_includer(tmp_path: Path) -> None:
    write(tmp_path / "a" / "b" / "c.txt", "attrs\n")
    write(tmp_path / "a" / "b.txt", "-r b/c.txt\n--requirement=b/c.txt\n-rb/c.txt\n")
    result = parse_requirements_file(write(tmp_path / "top.txt", "-r a/b.txt\n"))
    assert names(result) == ["attrs", "attrs", "attrs"]


def test_include_cycle(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", "-r a.txt\n")
    a = write(tmp_path / "a.txt", "attrs\n-r b.txt\n")
    with pytest.raises(ConfigError, match=r"b.txt:1: requirements file .*a.txt includes itself"):
        parse_requirements_file(a)


def test_missing_nested_file_names_the_line(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", "attrs\n\n-r nope.txt\n")
    with pytest.raises(ConfigError, match=r"nope.txt not found \(included from .*a.txt:3\)"):
        parse_requirements_file(a)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        parse_requirements_file(tmp_path / "absent.txt")


@pytest.mark.parametrize(
    "line",
    [
        "-c constraints.txt",
        "--constraint constraints.txt",
        "-e .",
        "--pre",
        "django==4.2 --global-option=--x",
        "--use-feature=fast-deps",
        "--what-is-this",
    ],
)
def test_unsupported_options(tmp_path: Path, line: str) -> None:
    req = write(tmp_path / "r.txt", f"attrs\n{line}\n")
    with pytest.raises(ConfigError, match=r"r.txt:2: "):
        parse_requirements_file(req)


@pytest.mark.parametrize(
    "line",
    [
        "-i https://internal/simple",
        "--index-url https://internal/simple",
        "--index-url=https://internal/simple",
        "--extra-index-url https://internal/simple",
        "--no-index",
        "-f ./wheels",
        "--find-links=./wheels",
        "--trusted-host internal",
    ],
)
def test_index_options_are_refused(tmp_path: Path, line: str) -> None:
    # ignoring them would take the same names from another index: dependency confusion
    req = write(tmp_path / "r.txt", f"{line}\nattrs\n")
    with pytest.raises(ConfigError, match=r"r.txt:1: index options") as info:
        parse_requirements_file(req)
    assert info.value.hint and "PIP_INDEX_URL" in info.value.hint


def test_binary_options_are_ignored_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    req = write(tmp_path / "r.txt", "--no-binary :all:\n--prefer-binary\n--only-binary=x\nattrs\n")
    assert names(parse_requirements_file(req)) == ["attrs"]
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "r.txt:1: ignoring --no-binary" in err and "r.txt:3: ignoring --only-binary" in err


@pytest.mark.parametrize(
    "line",
    [
        "./local/project",
        "/abs/project",
        "https://example.org/demo-1.0.tar.gz",
        "demo @ https://example.org/demo-1.0.tar.gz",
    ],
)
def test_paths_and_urls_are_refused(tmp_path: Path, line: str) -> None:
    req = write(tmp_path / "r.txt", f"{line}\n")
    with pytest.raises(ConfigError, match=r"r.txt:1: (local paths|direct URL)"):
        parse_requirements_file(req)


def test_bad_line_names_file_and_first_physical_line(tmp_path: Path) -> None:
    req = write(tmp_path / "r.txt", "attrs\n\ndjango >>= \\\n  4.2\n")
    with pytest.raises(ConfigError, match=r"r.txt:3: invalid requirement 'django >>= 4.2'"):
        parse_requirements_file(req)


def test_bad_hash_names_the_line(tmp_path: Path) -> None:
    req = write(tmp_path / "r.txt", "attrs==1 --hash=sha512:abc\n")
    with pytest.raises(ConfigError, match=r"r.txt:1: unsupported hash algorithm 'sha512'"):
        parse_requirements_file(req)
    req = write(tmp_path / "r.txt", "attrs==1 --hash\n")
    with pytest.raises(ConfigError, match=r"r.txt:1: option --hash needs a value"):
        parse_requirements_file(req)


def test_hash_needs_an_exact_pin(tmp_path: Path) -> None:
    for spec in (">=1", "==1.*", ""):
        req = write(tmp_path / "r.txt", f"attrs{spec} --hash=sha256:{H1}\n")
        with pytest.raises(ConfigError, match="pinned with =="):
            parse_requirements_file(req)


def test_hashes_are_all_or_nothing(tmp_path: Path) -> None:
    write(tmp_path / "more.txt", "six==1.16.0\n")
    req = write(tmp_path / "r.txt", f"attrs==23.1.0 --hash=sha256:{H1}\n-r more.txt\n")
    with pytest.raises(ConfigError, match=r"more.txt:1: six==1.16.0 has no --hash"):
        parse_requirements_file(req)


def test_require_hashes(tmp_path: Path) -> None:
    req = write(tmp_path / "r.txt", "--require-hashes\nattrs==23.1.0\n")
    with pytest.raises(ConfigError, match="--require-hashes is given"):
        parse_requirements_file(req)
    req = write(tmp_path / "r.txt", f"--require-hashes\nattrs==23.1.0 --hash=sha256:{H1}\n")
    assert parse_requirements_file(req)[0].hashes == (f"sha256:{H1}",)


def test_hash_on_its_own_line_is_refused(tmp_path: Path) -> None:
    req = write(tmp_path / "r.txt", f"attrs==1\n--hash=sha256:{H1}\n")
    with pytest.raises(ConfigError, match="r.txt:2: --hash must follow a requirement"):
        parse_requirements_file(req)


def test_continuation_ended_by_comment_and_at_eof(tmp_path: Path) -> None:
    req = write(tmp_path / "r.txt", "attrs \\\n# the comment ends it\nsix \\")
    assert names(parse_requirements_file(req)) == ["attrs", "six"]


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    req = tmp_path / "r.txt"
    req.write_bytes(b"\xef\xbb\xbfattrs==1 \\\r\n  --hash=sha256:" + H1.encode() + b"\r\n")
    assert parse_requirements_file(req) == [
        PinnedRequirement(
            req=parse_requirements_file(req)[0].req, hashes=(f"sha256:{H1}",), origin=f"{req}:1"
        )
    ]
