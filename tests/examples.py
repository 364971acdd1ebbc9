"""The examples the unit tests of both families share: Django 4.2 (tests/djangoproject.py) as
project, Debian 12 and its archive, EL9 and Fedora 42, the specs repack maps from them, and
a provenance record.

    from examples import ARCHIVE, TARGET, deb_spec, project   # tests/ is on sys.path

Test modules import these from here, never from each other: a test module's folder is on
sys.path only while pytest imports it.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

from djangoproject import DJANGO
from packaging.utils import canonicalize_name

from repack import targets
from repack.deb.naming import make_deb_spec
from repack.model import (
    Advisory,
    ArchiveIndex,
    ChangelogEntry,
    DebName,
    DebSpec,
    DebVersion,
    Project,
    Provenance,
    Relation,
    RpmSpec,
    Target,
)
from repack.rpm.naming import make_rpm_spec
from repack.rpm.render import render_spec

# --- Debian 12 ----------------------------------------------------------------------------

TARGET = targets.load("debian-12")
ARCHIVE = ArchiveIndex(
    packages={
        "python3-django": "3:3.2.25-0+deb12u7",
        "python3-asgiref": "3.6.0-1",
        "python3-sqlparse": "0.4.2-1",
        "python3-setuptools": "66.1.1-1+deb12u1",
        "python3-wheel": "0.38.4-2",
        "python3": "3.11.2-1+b1",
    },
    dist_map={
        "django": "python3-django",
        "asgiref": "python3-asgiref",
        "sqlparse": "python3-sqlparse",
        "pyyaml": "python3-yaml",
        "wheel": "python3-wheel",
        "setuptools": "python3-pkg-resources",
        "twoping": "2ping",
    },
)
BASE = DJANGO

# Debian 12's numpy, and two packages compiled against it (naming.compiled_on_index)
NUMPY_ARCHIVE = dataclasses.replace(
    ARCHIVE,
    packages={**ARCHIVE.packages, "python3-numpy": "1:1.24.2-1+deb12u1",
              "python3-scipy": "1.10.1-2", "python3-pythran": "0.11.0+ds-7"},
    dist_map={**ARCHIVE.dist_map, "numpy": "python3-numpy", "scipy": "python3-scipy",
              "pythran": "python3-pythran"},
    compiled_on={"python3-scipy": ["python3-numpy", "python3-pythran"],
                 "python3-pythran": ["python3-numpy"]})


def project(**changes: Any) -> Project:
    return dataclasses.replace(BASE, **changes)


def deb_spec(p: Project, archive: ArchiveIndex = ARCHIVE) -> DebSpec:
    return make_deb_spec(
        p, source_url="https://files.example/django-4.2.tar.gz", target=TARGET, archive=archive,
        maintainer="Repack <repack@example.org>", date="Mon, 01 Jan 2024 00:00:00 +0000",
    )


# A DebSpec written out field by field (not mapped by repack.deb.naming), for the templates.
VERSION = DebVersion("4.2.11-0repack1~deb12")
MAINTAINER = "Repack Builder <repack@example.org>"
README = """\
======
Django
======

Django is a high-level Python web framework that encourages rapid development
and clean, pragmatic design. Thanks for checking it out.

* First, read ``docs/intro/install.txt`` for instructions on installing Django.
* Next, work through the tutorials in order.

.. code-block:: python

\timport django
"""
BSD_TEXT = """\
Copyright (c) Django Software Foundation and individual contributors.
All rights reserved.

Redistribution and use in source and binary forms, with or without modification,
are permitted provided that the following conditions are met:
"""


def rel(name: str, op: str | None = None, version: str | None = None) -> Relation:
    return Relation(name=DebName(name), op=op, version=DebVersion(version) if version else None)


def make_spec(**overrides: object) -> DebSpec:
    fields: dict[str, object] = {
        "target_id": "debian-12",
        "source_name": DebName("python-django"),
        "binary_name": DebName("python3-django"),
        "upstream_version": "4.2.11",
        "version": VERSION,
        "epoch": 0,
        "architecture": "all",
        "depends": ((rel("python3-asgiref", ">=", "3.6.0"),),
                 (rel("python3-sqlparse", ">=", "0.3.1"), rel("python3-sqlparse-alt"))),
        "recommends": (),
        "suggests": ((rel("python3-argon2"),), (rel("python3-bcrypt"),)),
        "build_depends": ((rel("python3-setuptools", ">=", "40.8"),),
                          (rel("pybuild-plugin-pyproject"),)),
        "provides": (),
        "unsatisfied": (),
        "maintainer": MAINTAINER,
        "summary": "A high-level Python web framework that encourages rapid development and clean, "
                "pragmatic design.",
        "description": README,
        "homepage": "https://www.djangoproject.com/",
        "license": "BSD-3-Clause",
        "license_text": BSD_TEXT,
        "copyright": "Django Software Foundation and individual contributors",
        "upstream_name": "Django",
        "source_url": "https://files.pythonhosted.org/packages/source/D/Django/"
                      "Django-4.2.11.tar.gz",
        "changelog": ChangelogEntry(
            version=VERSION, distribution="bookworm", urgency="medium",
            changes=("Built from the PyPI sdist Django 4.2.11 by repack.",),
            maintainer=MAINTAINER, date="Mon, 4 Mar 2024 12:00:00 +0000",
        ),
    }
    fields.update(overrides)
    return DebSpec(**fields)  # type: ignore[arg-type]


# --- EL9 and Fedora 42 ----------------------------------------------------------------------

def _rpm_target(target_id: str, **fallback: Any) -> Target:
    if target_id in targets.available():
        return targets.load(target_id)
    return dataclasses.replace(TARGET, id=target_id, family="rpm", **fallback)  # pragma: no cover


EL9 = _rpm_target("el9", python_version="3.9", python_full_version="3.9.21",
                  site_packages="/usr/lib/python3.9/site-packages", version_suffix=".el9",
                  distribution="el9", codename="el9")
FEDORA = _rpm_target("fedora-42", python_version="3.13", python_full_version="3.13.5",
                     site_packages="/usr/lib/python3.13/site-packages", version_suffix=".fc42",
                     distribution="fc42", codename="fc42")
SECTIONS = ("%description", "%prep", "%build", "%install", "%files", "%changelog")
# rpmspec -P (rpm 4.18) prints the %build body without its header: the body is checked instead.
PARSED = ("%description", "%prep", "%install", "%files", "%changelog")


def rpm_spec(**changes: Any) -> RpmSpec:
    p = project(**changes)
    return make_rpm_spec(
        p, sdist_filename=f"Django-{p.version}.tar.gz",
        source_url=f"https://files.example/packages/Django-{p.version}.tar.gz", target=EL9,
        packager="Repack <repack@example.org>", date="Mon, 01 Jan 2024 00:00:00 +0000",
    )


def rpmspec(spec_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """rpmspec with Fedora's Python macros as harmless stand-ins (Debian's rpm lacks them)."""
    defines = {
        "_sourcedir": str(spec_file.parent), "_topdir": str(spec_file.parent),
        "pyproject_files": str(spec_file.parent / "files.list"),
        "pyproject_wheel": "echo REPACK-WHEEL", "pyproject_install": "echo REPACK-INSTALL",
        "pyproject_save_files": "echo REPACK-SAVE",
    }
    argv = ["rpmspec", *args]
    for name, value in defines.items():
        argv += ["--define", f"{name} {value}"]
    return subprocess.run([*argv, spec_file.name], capture_output=True, text=True, check=False,
                          cwd=spec_file.parent)


def parsed(tmp_path: Path, s: RpmSpec) -> str:
    path = render_spec(s, tmp_path)
    out = rpmspec(path, "-P")
    assert out.returncode == 0, out.stderr
    assert section_lines(path.read_text()) == list(SECTIONS)
    assert section_lines(out.stdout) in (list(PARSED), list(SECTIONS))  # rpm 4.16 shows %build
    body = out.stdout.split("\n%prep\n", 1)[1]
    assert [ln for ln in body.splitlines() if ln.startswith("echo REPACK-")] == [
        "echo REPACK-WHEEL", "echo REPACK-INSTALL", "echo REPACK-SAVE '*'"]
    return out.stdout


def section_lines(text: str) -> list[str]:
    return [ln.split()[0] for ln in text.splitlines()
            if re.match(r"%[a-z]", ln) and ln.split()[0] in (*SECTIONS, "%check", "%clean",
                                                             "%pre", "%post", "%preun",
                                                             "%postun", "%package")]


# --- a provenance record ------------------------------------------------------------------

GHSA = Advisory(id="GHSA-2hrw-hx67-34x6", aliases=("CVE-2023-31047",),
                summary="Potential bypass of validation\nwhen uploading multiple files",
                fixed_in=("4.2.1", "4.1.9"), link="https://osv.dev/vulnerability/GHSA-2hrw")
RECORD = Provenance(
    project=canonicalize_name("Django"), version="4.2", filename="Django-4.2.tar.gz",
    url="https://files.example/Django-4.2.tar.gz", sha256="c3" * 32,
    verified=("tls", "sha256:index", "attestation:github:django/django/release.yml"),
    vulnerabilities=(GHSA,), fixes=(),
)
