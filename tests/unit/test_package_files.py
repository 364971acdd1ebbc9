"""What the install steps add to or leave out of a package (issue 11, breadth), run as make
and rpm + sh run them: Windows executables are left out of every package (distlib's
launchers t32.exe ... w64-arm.exe beside its modules), and a Debian package carries the
NOTICE file of its source (coverage); documents a wheel puts at the top of site-packages are
left out of a Debian package (databricks-sql-connector's CHANGELOG.md), and so is a
namespace package's declaration (backports.tarfile's backports/__init__.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from examples import make_spec, rpm_spec

from repack.deb import render
from repack.rpm import render as rpm_render

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
KEPT = ["distlib/__init__.py", "distlib/scripts.py", "distlib/exe/readme.txt",
        "distlib/t64.exe.txt", "distlib-0.4.4.dist-info/RECORD"]
LEFT_OUT = ["distlib/t32.exe", "distlib/w64-arm.exe", "distlib/CLI.EXE", "pip/_vendor/x/t.exe"]


NAMESPACE = b"__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"


def installed_tree(root: Path) -> Path:
    site = root / "usr" / "lib" / "python3" / "dist-packages"
    for rel in KEPT + LEFT_OUT:
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(b"MZ\x90\x00" if rel.lower().endswith(".exe") else b"x\n")
    return site


def debian_install_step(tmp_path: Path) -> Path:
    """The rendered rules' execute_after_dh_auto_install as a Makefile in `tmp_path`, with
    the debian/ files it runs; the installed tree comes from the caller."""
    files = render.render_files(make_spec())
    target = files["rules"].split("\nexecute_after_dh_auto_install:\n", 1)[1].split("\n\n", 1)[0]
    (tmp_path / "debian").mkdir(exist_ok=True)
    (tmp_path / "debian" / "namespaces.py").write_text(files["namespaces.py"])
    makefile = tmp_path / "Makefile"
    makefile.write_text(f"all:\n{target}\n")
    return makefile


def remaining(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())


@pytest.mark.process
def test_debian_rules_leave_windows_executables_out(tmp_path: Path) -> None:
    makefile = debian_install_step(tmp_path)
    site = installed_tree(tmp_path / "debian" / "python3-django")
    subprocess.run(["make", "-s", "-f", str(makefile)], cwd=tmp_path, env=ENV, check=True)
    assert remaining(site) == sorted(KEPT)


@pytest.mark.process
def test_debian_rules_leave_a_namespace_declaration_out(tmp_path: Path) -> None:
    makefile = debian_install_step(tmp_path)
    site = installed_tree(tmp_path / "debian" / "python3-django")
    for rel, text in (("backports/__init__.py", NAMESPACE),
                      ("backports/tarfile/__init__.py", NAMESPACE + b"VERSION = 1\n")):
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(text)
    out = subprocess.run(["make", "-s", "-f", str(makefile)], cwd=tmp_path, env=ENV,
                         check=True, capture_output=True, text=True).stdout
    assert remaining(site) == sorted([*KEPT, "backports/tarfile/__init__.py"])
    assert "backports/__init__.py: a namespace declaration, left out" in out


@pytest.mark.process
def test_debian_rules_leave_documents_at_the_top_of_site_packages_out(tmp_path: Path) -> None:
    debian_install_step(tmp_path)
    site = installed_tree(tmp_path / "debian" / "python3-django")
    kept = ["six.py", "news.py", "history.json", "distutils-precedence.pth", "readme_tool.py",
            "_speed.cpython-311-x86_64-linux-gnu.so", "docs/README.md", "pkg/CHANGES.rst"]
    left_out = ["CHANGELOG.md", "LICENSE", "License.txt", "README.rst", "NOTICE", "AUTHORS",
                "notes.md", "COPYING"]
    for rel in kept + left_out:
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(b"x\n")
    subprocess.run(["make", "-s", "-f", "Makefile"], cwd=tmp_path, env=ENV, check=True)
    assert remaining(site) == sorted(KEPT + kept)


@pytest.mark.process
def test_the_spec_leaves_windows_executables_out(tmp_path: Path) -> None:
    text = rpm_render.render_text(rpm_spec())
    install = text.split("\n%install\n", 1)[1].split("\n%pyproject_save_files", 1)[0]
    lines = [ln for ln in install.splitlines() if ln.startswith("find ")]
    assert lines, install
    root = tmp_path / "buildroot"
    site = installed_tree(root)
    for line in lines:
        expanded = subprocess.run(["rpm", "--define", f"buildroot {root}", "--eval", line],
                                  capture_output=True, text=True, check=True, env=ENV)
        subprocess.run(["sh", "-c", expanded.stdout.strip()], env=ENV, check=True)
    assert remaining(site) == sorted(KEPT)


@pytest.mark.process
def test_debian_rules_install_the_notice_file(tmp_path: Path) -> None:
    """coverage on debian-13: an Apache-2.0 project's NOTICE.txt, which its wheel leaves out,
    goes to /usr/share/doc (lintian: missing-notice-file-for-apache-license); a NOTICE that
    the build turned into a symlink does not."""
    rules = render.render_files(make_spec())["rules"]
    target = rules.split("\nexecute_after_dh_installdocs:\n", 1)[1].split("\n\n", 1)[0]
    (tmp_path / "Makefile").write_text(f"all:\n{target}\n")
    (tmp_path / "NOTICE.txt").write_text("Apache Software Foundation notice\n")
    (tmp_path / "NOTICE").symlink_to("/etc/hostname")
    subprocess.run(["make", "-s", "-f", "Makefile"], cwd=tmp_path, env=ENV, check=True)
    doc = tmp_path / "debian" / "python3-django" / "usr" / "share" / "doc" / "python3-django"
    assert sorted(p.name for p in doc.iterdir()) == ["NOTICE.txt"]
    assert (doc / "NOTICE.txt").read_text() == "Apache Software Foundation notice\n"
    # without a NOTICE the step does nothing
    (tmp_path / "NOTICE.txt").unlink()
    (tmp_path / "NOTICE").unlink()
    (doc / "NOTICE.txt").unlink()
    subprocess.run(["make", "-s", "-f", "Makefile"], cwd=tmp_path, env=ENV, check=True)
    assert list(doc.iterdir()) == []
