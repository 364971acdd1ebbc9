"""Django 4.2's core metadata as a Project: the mapping tests of every family start from it.

    from djangoproject import DJANGO, DJANGO_REQUIRES   # tests/ is on sys.path
"""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from repack.model import Project

# Requires-Dist of Django 4.2, as its METADATA says
DJANGO_REQUIRES = (
    'asgiref<4,>=3.6.0',
    'sqlparse>=0.3.1',
    'backports.zoneinfo; python_version < "3.9"',
    'tzdata; sys_platform == "win32"',
    'argon2-cffi>=19.1.0; extra == "argon2"',
    'bcrypt; extra == "bcrypt"',
)

DJANGO = Project(
    name=NormalizedName("django"), display_name="Django", version=Version("4.2"),
    summary="A high-level Python web framework", description="Long text",
    description_content_type="text/x-rst", license="BSD-3-Clause", license_expression=None,
    license_files=("LICENSE",), author="Django Software Foundation",
    author_email="foundation@djangoproject.com", home_page="https://www.djangoproject.com/",
    project_urls=(), requires_dist=tuple(Requirement(r) for r in DJANGO_REQUIRES),
    requires_python=SpecifierSet(">=3.8"), provides_extra=("argon2", "bcrypt"),
    console_scripts=("django-admin",), build_requires=(Requirement("setuptools>=40.8.0"),),
    build_backend="setuptools.build_meta", has_native_code=False, metadata_source="PKG-INFO",
)
