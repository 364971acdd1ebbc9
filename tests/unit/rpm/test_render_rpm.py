"""repack.rpm.render: the .spec template and the filters that make upstream text safe.

The hostile-metadata tests parse the rendered spec with the real `rpmspec` (Debian's rpm):
nothing may be expanded or executed, no section or changelog entry may appear, and the
hostile text must come out literally.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
from examples import (
    FEDORA,
    parsed,
    project,
    rpm_spec,
    rpmspec,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.version import Version

from repack.errors import ConfigError, MetadataError, RepackError
from repack.model import RpmSpec
from repack.rpm.naming import make_rpm_spec
from repack.rpm.render import (
    render_spec,
    render_text,
    rpm_dependency,
    rpm_description,
    rpm_license,
    rpm_summary,
    rpm_text,
    rpm_url,
)

needs_rpmspec = pytest.mark.skipif(shutil.which("rpmspec") is None,
                                   reason="needs rpmspec (apt install rpm)")
NBSP = "\u00a0"


# --- the Django spec ---------------------------------------------------------------------

def test_django_spec_text(tmp_path: Path) -> None:
    path = render_spec(rpm_spec(), tmp_path)
    assert path == tmp_path / "python3-django.spec"
    text = path.read_text()
    for line in [
        "Name:           python3-django", "Version:        4.2",
        "Release:        0.repack1.el9", "Summary:        A high-level Python web framework",
        "License:        BSD-3-Clause", "URL:            https://www.djangoproject.com/",
        "Source0:        https://files.example/packages/Django-4.2.tar.gz",
        "BuildArch:      noarch", "BuildRequires:  python3-devel",
        "BuildRequires:  python3dist(setuptools) >= 40.8",
        "Requires:       python(abi) = 3.9",
        "Requires:       (python3dist(asgiref) >= 3.6 with python3dist(asgiref) < 4~~)",
        "Requires:       python3dist(sqlparse) >= 0.3.1",
        "Provides:       python3dist(django) = 4.2", "Provides:       python3.9dist(django) = 4.2",
        "Suggests:       python3dist(argon2-cffi) >= 19.1", "Suggests:       python3dist(bcrypt)",
        "%autosetup -p1 -n Django-4.2", "%pyproject_wheel", "%pyproject_install",
        "%pyproject_save_files '*'", "%files -f %{pyproject_files}",
        "* Mon Jan 01 2024 Repack <repack@example.org> - 4.2-0.repack1.el9",
        "- Repackaged django 4.2 from the upstream sdist by repack.",
    ]:
        assert line in text.splitlines(), line
    assert "Epoch:" not in text
    # %{pyproject_files} lists what the wheel installed to /usr/bin (not named twice)
    assert "%{_bindir}" not in text


@pytest.mark.process
@needs_rpmspec
def test_django_spec_parses_with_rpmspec(tmp_path: Path) -> None:
    parsed(tmp_path, rpm_spec())
    query = rpmspec(tmp_path / "python3-django.spec", "-q", "--qf",
                    "%{name}|%{epochnum}|%{version}|%{release}|%{arch}|%{license}|%{url}\n")
    assert query.stdout.strip() == (
        "python3-django|0|4.2|0.repack1.el9|noarch|BSD-3-Clause|https://www.djangoproject.com/")
    requires = rpmspec(tmp_path / "python3-django.spec", "-q", "--requires").stdout.splitlines()
    assert requires == ["(python3dist(asgiref) >= 3.6 with python3dist(asgiref) < 4~~)",
                        "python(abi) = 3.9", "python3dist(sqlparse) >= 0.3.1"]
    provides = rpmspec(tmp_path / "python3-django.spec", "-q", "--provides").stdout.splitlines()
    assert provides == ["python3-django = 4.2-0.repack1.el9", "python3.9dist(django) = 4.2",
                        "python3dist(django) = 4.2"]


@pytest.mark.process
@needs_rpmspec
def test_epoch_native_and_fedora(tmp_path: Path) -> None:
    p = project(version=Version("1!2.0.post1"), has_native_code=True,
                requires_dist=(Requirement("foo>1.0,!=1.5"),))
    s = make_rpm_spec(p, sdist_filename="django-1!2.0.post1.tar.gz", source_url="",
                      target=FEDORA, packager="Repack <repack@example.org>",
                      date="Tue, 02 Jan 2024 10:00:00 +0100")
    text = render_text(s)
    assert "Epoch:          1\n" in text and "BuildArch" not in text
    assert "Source0:        django-1!2.0.post1.tar.gz\n" in text
    assert "* Tue Jan 02 2024 Repack <repack@example.org> - 1:2.0^post1-0.repack1.fc42" in text
    path = render_spec(s, tmp_path)
    q = rpmspec(path, "-q", "--qf", "%{epoch}:%{version}-%{release}\n")
    assert q.returncode == 0 and q.stdout.strip() == "1:2.0^post1-0.repack1.fc42", q.stderr
    assert rpmspec(path, "-q", "--requires").stdout.splitlines() == [
        "(python3dist(foo) > 1^0 with (python3dist(foo) < 1.5 or python3dist(foo) > 1.5))",
        "python(abi) = 3.13"]


# --- hostile metadata --------------------------------------------------------------------

def _hostile(tmp_path: Path) -> tuple[RpmSpec, dict[str, Path]]:
    # rpmspec runs in tmp_path: a %(touch x) that ran would leave tmp_path/x behind
    marks = {k: tmp_path / k for k in ("p1", "p2", "p3", "p4", "p5")}
    s = rpm_spec(
        summary="Evil\n%{_bindir} %(touch p1) %build\n* Mon Jan 01 2024 e - 6\nRequires: evil\\",
        description=(
            "First line %{?_bindir} %%{x}\n"
            "%prep\n"
            "%(touch p2)\n"
            "  %if 0\n"
            "%changelog\n"
            "* Mon Jan 01 2024 evil <e@x> - 6.6\n"
            "- injected\n"
            "# a markdown heading\n"
            "#!/bin/sh\n"
            "# %build heading\n"
            "C:\\%{ unbalanced \\\n"
            "%files\n"
            "/etc/shadow\n"
            "%endif\n"
            "Last line"
        ),
        home_page="https://example.org/%(touch p4)",
        display_name="Evil%(touch p5)",
    )
    # naming gives "UNKNOWN" for a multi-line License field: put it into the spec directly
    return dataclasses.replace(s, license="MIT\n%build\n%(touch p3)"), marks


@pytest.mark.process
@needs_rpmspec
def test_hostile_metadata_is_inert_under_rpmspec(tmp_path: Path) -> None:
    s, marks = _hostile(tmp_path)
    out = parsed(tmp_path, s)
    q = rpmspec(tmp_path / "python3-django.spec", "-q", "--qf",
                "%{summary}\n---\n%{description}\n---\n%{license}\n---\n%{url}\n")
    assert q.returncode == 0, q.stderr
    assert not [m for m in marks.values() if m.exists()], "a %(...) ran"
    changelog = out.split("\n%changelog\n", 1)[1]
    assert [ln for ln in changelog.splitlines() if ln.startswith("*")] == [
        "* Mon Jan 01 2024 Repack <repack@example.org> - 4.2-0.repack1.el9"]
    summary, description, license_, _ = q.stdout.split("\n---\n")
    assert summary == "Evil %{_bindir} %(touch p1) %build * Mon Jan 01 2024 e - 6 Requires: evil\\"
    lines = description.splitlines()
    assert lines[0] == "First line %{?_bindir} %%{x}"
    for hostile in ("%prep", "%(touch p2)", "  %if 0", "%changelog",
                    "* Mon Jan 01 2024 evil <e@x> - 6.6", "#!/bin/sh", "%build heading",
                    "%files", "%endif"):
        assert NBSP + hostile.lstrip() in [ln.lstrip(" ") for ln in lines], (hostile, lines)
    assert "C:\\%{ unbalanced \\" in lines and "/etc/shadow" in lines
    assert "a markdown heading" in lines
    assert lines[-1] == "Last line"
    assert license_ == "MIT %build %(touch p3)"
    requires = rpmspec(tmp_path / "python3-django.spec", "-q", "--requires").stdout
    assert "evil" not in requires
    assert "URL:" not in out  # a URL with '(' and a space is no plain URL: left out


@pytest.mark.process
@needs_rpmspec
def test_percent_url_and_packager_are_escaped(tmp_path: Path) -> None:
    s = dataclasses.replace(rpm_spec(), url="https://example.org/a%2Fb%(id)",
                            packager="R%{x} <r@example.org>")
    s = dataclasses.replace(s, changelog=dataclasses.replace(s.changelog,
                                                             packager="R%(id) <r@example.org>"))
    out = parsed(tmp_path, s)
    assert "URL:            https://example.org/a%2Fb%(id)" in out.splitlines()
    assert "* Mon Jan 01 2024 R%(id) <r@example.org> - 4.2-0.repack1.el9" in out.splitlines()


# --- filters -----------------------------------------------------------------------------

def test_rpm_text() -> None:
    assert rpm_text("a\nb\t%{x}\x00 \u2028c") == "a b %%{x} c"
    assert rpm_text("", "fallback %") == "fallback %%"
    assert rpm_text("back\\%{x}") == "back\\%{nil}%%{x}"
    with pytest.raises(MetadataError):
        rpm_text(" \n ")


def test_rpm_summary() -> None:
    assert rpm_summary("A framework.") == "A framework"
    long = rpm_summary("word " * 40)
    assert len(long) <= 79 and not long.endswith(" ")
    assert rpm_summary("", "Python 3 module x") == "Python 3 module x"


def test_rpm_description_neutralises_line_starts() -> None:
    out = rpm_description("%prep\n  %if 1\n* Mon Jan 01 2024 x\n#h\n## Usage\nplain 100%\n"
                          "* an item\n\n\n\nnext")
    assert out.splitlines() == [NBSP + "%%prep", "  " + NBSP + "%%if 1",
                                " " + NBSP + "* Mon Jan 01 2024 x", NBSP + "#h", "Usage",
                                "plain 100%%", " * an item", "", "next"]
    assert rpm_description("", "fallback") == "fallback"
    with pytest.raises(MetadataError):
        rpm_description("\n\n", "")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*"%#*\\{}()[] \n\tab-.:\u2028\x0b", "Mon", "* Tue"]),
                max_size=120).map("".join))
@example("# %prep")
@example("## * Mon Jan 01 2024 x")
def test_description_never_starts_a_line_with_rpm_syntax(text: str) -> None:
    try:
        out = rpm_description(text)
    except MetadataError:
        return
    for line in out.splitlines():
        shown = line.replace("\\%{nil}", "\\").replace("%%", "%")  # what rpm makes of it
        assert line == line.rstrip() and len(shown) <= 79
        assert line.lstrip(" \t")[:1] not in ("%", "#")
        assert not re.match(r"[ \t]*\*\s*(mon|tue|wed|thu|fri|sat|sun)", line, re.IGNORECASE)
        assert re.search(r"(?<!%)(%%)*%(?!%)", line.replace("%{nil}", "")) is None, line
        assert re.search(r"\\(?!%\{nil\})", line) is None, line


def test_rpm_license_and_url() -> None:
    assert rpm_license("MIT OR Apache-2.0") == "MIT OR Apache-2.0"
    assert rpm_license("x" * 201) == "LicenseRef-Unknown"
    assert rpm_license("100% free") == "100%% free"
    assert rpm_url("https://example.org/a%20b") == "https://example.org/a%%20b"
    assert rpm_url("javascript:alert(1)") is None and rpm_url("https://a b") is None


@pytest.mark.parametrize("bad", ["python3dist(x) >= 1\nRequires: y", "x %{y}", "(a", "a)(",
                                 "%build", "x >= 1 "])
def test_rpm_dependency_refuses_junk(bad: str) -> None:
    with pytest.raises(RepackError):
        rpm_dependency(bad)


def test_override_template_cannot_print_raw_upstream_text(tmp_path: Path) -> None:
    (tmp_path / "rpm").mkdir()
    (tmp_path / "rpm" / "python-package.spec.j2").write_text("Summary: {{ spec.summary }}\n")
    with pytest.raises(ConfigError, match="unfiltered"):
        render_text(rpm_spec(), template_dirs=[tmp_path])
    (tmp_path / "rpm" / "python-package.spec.j2").write_text(
        "Summary: {{ spec.summary | rpm_summary }}\n")
    assert render_text(rpm_spec(summary="50% off"),
                       template_dirs=[tmp_path]) == "Summary: 50%% off\n"
