"""A build tool's dependency that PyPI offers only as binary wheels (issue 11, breadth: mcp's
build needs uv-dynamic-versioning, which needs Jinja2, which needs MarkupSafe, whose wheels
are all compiled) is resolved as the binary wheel the builder's CPython runs, against a real
loopback index with real wheels; a pure wheel is still preferred."""

from __future__ import annotations

from pathlib import Path

import pytest
from examples import TARGET
from localindex import LocalIndex
from packaging.requirements import Requirement
from packaging.tags import Tag
from wheels import make_wheel

from repack import buildreqs, http
from repack.errors import ResolveError
from repack.trust.policy import Policy

MANYLINUX = "manylinux_2_17_x86_64.manylinux2014_x86_64"


def serve(index: LocalIndex, tmp_path: Path, name: str, version: str, tag: str,
          requires: tuple[str, ...] = ()) -> None:
    dist = name.replace("-", "_")       # as a wheel's file name spells it
    whl = make_wheel(tmp_path / "wheels", dist, version, {f"{dist.lower()}/__init__.py": b""},
                     requires_dist=requires, tag=tag)
    index.add(name, whl.name, whl.read_bytes())


def resolve(index: LocalIndex, tmp_path: Path, req: str) -> list[str]:
    with http.session() as session:
        tools = buildreqs.resolve_wheels([Requirement(req)], TARGET, index=index.url,
                                         session=session, cache_dir=tmp_path / "cache",
                                         policy=Policy(), required_by="mcp")
    assert all("sha256:index" in t.file.verified for t in tools)
    return [t.file.path.name for t in tools]


def test_builder_tags_are_the_builders_cpython_on_manylinux() -> None:
    tags = buildreqs.builder_tags("3.11", "x86_64")
    assert Tag("cp311", "cp311", "manylinux_2_17_x86_64") in tags
    assert Tag("cp311", "cp311", "manylinux2014_x86_64") in tags
    assert Tag("cp39", "abi3", "manylinux_2_28_x86_64") in tags      # abi3 of an older CPython
    assert Tag("cp311", "cp311", "manylinux_2_31_x86_64") in tags    # Debian 11's glibc
    assert Tag("py3", "none", "manylinux_2_17_x86_64") in tags       # uv_build's Rust binary
    assert not any(tag.platform == "any" for tag in tags)            # pure ones are apart
    for other in (Tag("cp312", "cp312", "manylinux_2_17_x86_64"),     # another CPython
                  Tag("cp311", "cp311", "manylinux_2_34_x86_64"),     # a newer glibc
                  Tag("cp311", "cp311", "musllinux_1_2_x86_64"),      # another libc
                  Tag("cp311", "cp311", "manylinux_2_17_aarch64"),    # another machine
                  Tag("cp311", "cp311", "linux_x86_64"),              # not portable
                  Tag("py3", "none", "macosx_11_0_arm64"),
                  Tag("pp310", "pypy310_pp73", "manylinux_2_17_x86_64")):
        assert other not in tags


def test_a_dependency_with_only_binary_wheels_takes_the_builders(local_index: LocalIndex,
                                                                  tmp_path: Path) -> None:
    serve(local_index, tmp_path, "uv-dynamic-versioning", "0.8.2", "py3-none-any",
          ("jinja2>=3.0",))
    serve(local_index, tmp_path, "Jinja2", "3.1.6", "py3-none-any", ("MarkupSafe>=2.0",))
    # the newest release has no wheel for the builder's CPython 3.11: the one before
    serve(local_index, tmp_path, "MarkupSafe", "3.0.3", f"cp313-cp313-{MANYLINUX}")
    serve(local_index, tmp_path, "MarkupSafe", "3.0.3", "cp311-cp311-musllinux_1_2_x86_64")
    serve(local_index, tmp_path, "MarkupSafe", "3.0.2", f"cp311-cp311-{MANYLINUX}")
    serve(local_index, tmp_path, "MarkupSafe", "3.0.2", "cp311-cp311-manylinux_2_17_aarch64")
    assert resolve(local_index, tmp_path, "uv-dynamic-versioning") == [
        "uv_dynamic_versioning-0.8.2-py3-none-any.whl", "Jinja2-3.1.6-py3-none-any.whl",
        f"MarkupSafe-3.0.2-cp311-cp311-{MANYLINUX}.whl"]


def test_a_backend_shipped_as_a_program_takes_its_manylinux_wheel(
        local_index: LocalIndex, tmp_path: Path) -> None:
    """dnspython 2.8 on debian-13: its backend uv_build is a Rust program in py3-none
    wheels, one per platform."""
    for platform in ("macosx_10_12_x86_64", "musllinux_1_1_x86_64", MANYLINUX,
                     "manylinux_2_17_aarch64.manylinux2014_aarch64", "win_amd64"):
        serve(local_index, tmp_path, "uv-build", "0.8.22", f"py3-none-{platform}")
    assert resolve(local_index, tmp_path, "uv_build>=0.8.0,<0.9") == [
        f"uv_build-0.8.22-py3-none-{MANYLINUX}.whl"]


def test_a_pure_wheel_is_preferred(local_index: LocalIndex, tmp_path: Path) -> None:
    serve(local_index, tmp_path, "tool", "2.0", f"cp311-cp311-{MANYLINUX}")
    serve(local_index, tmp_path, "tool", "2.0", "py3-none-any")
    assert resolve(local_index, tmp_path, "tool") == ["tool-2.0-py3-none-any.whl"]


def test_no_wheel_the_builder_runs_is_an_error(local_index: LocalIndex,
                                               tmp_path: Path) -> None:
    serve(local_index, tmp_path, "tool", "2.0", "cp311-cp311-musllinux_1_2_x86_64")
    with pytest.raises(ResolveError, match=r"no wheel on the index \(pure-Python, or binary "
                                           r"for CPython 3.11 on manylinux x86_64\)"):
        resolve(local_index, tmp_path, "tool")
