"""Lint and type checks are tests too: ruff over the tree (the rules in pyproject.toml keep
issue 12's shape: line length, complexity, argument count, no private access across modules),
mypy --strict over repack/."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.process
def test_ruff() -> None:
    # beside the interpreter first: `python -m pytest` from a venv does not put its bin on PATH
    beside = Path(sys.executable).parent / "ruff"
    ruff = str(beside) if beside.is_file() else shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install .[test])")
    # templates/rpm/*.py run inside the rpm builder: the same rules hold there
    paths = ["repack", "tests", "benchmarks", "x.py", *sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "templates" / "rpm").glob("*.py"))]
    proc = subprocess.run([ruff, "check", *paths], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.process
def test_mypy_strict() -> None:
    pytest.importorskip("mypy")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "repack"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_test_module_basenames_are_unique() -> None:
    """tests/ has no __init__.py, so pytest imports test modules by basename: two files of
    the same name in different folders stop the whole collection."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


def test_unit_tests_import_no_test_module() -> None:
    """tests/unit/<package>/ mirrors repack/<package>/: a test module's folder is on sys.path
    only while pytest imports it, so what tests share lives in a helper module of tests/
    (examples.py, closureindex.py, ...), never in another test module."""
    importing = re.compile(r"^\s*(from|import)\s+test_\w+", re.MULTILINE)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "unit").rglob("test_*.py")
                 if importing.search(p.read_text())]
    assert offenders == []


def test_unit_tests_mirror_the_packages() -> None:
    """Each folder of tests/unit is a package of repack/."""
    folders = {p.name for p in (ROOT / "tests" / "unit").iterdir()
               if p.is_dir() and p.name != "__pycache__"}
    assert folders and folders <= {p.name for p in (ROOT / "repack").iterdir() if p.is_dir()}
