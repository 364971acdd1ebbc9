"""A unit test that starts a process without opting in fails (issue 12): tests/conftest.py
guards every test not marked `integration` or `process`, its fixtures included."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

INNER = """
import asyncio, os, subprocess
import pytest

def test_run():
    subprocess.run(["true"], check=True)

def test_swallowed():
    try:
        subprocess.run(["true"], check=True)
    except Exception:
        pass

def test_os_system():
    os.system("true")

def test_asyncio():
    async def go():
        await asyncio.create_subprocess_exec("true")
    asyncio.run(go())

@pytest.fixture
def spawned():
    subprocess.run(["true"], check=True)

def test_fixture(spawned):
    pass

def test_pure():
    assert sum(range(4)) == 6

@pytest.mark.process
def test_marked():
    assert subprocess.run(["true"]).returncode == 0

@pytest.mark.integration
def test_integration():
    assert subprocess.run(["true"]).returncode == 0
"""


@pytest.mark.process      # the inner tests marked process and integration run `true`
def test_unmarked_unit_tests_may_not_start_processes(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-W", "ignore")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("failed"), outcomes.get("errors")) == (3, 4, 1)
    failed = {r.nodeid.split("::")[-1] for r in result.reprec.getreports()  # type: ignore[attr-defined]
              if r.failed}
    assert failed == {"test_run", "test_swallowed", "test_os_system", "test_asyncio",
                      "test_fixture"}
    guard = "*a unit test may run a real local command only when marked @pytest.mark.process*"
    result.stdout.fnmatch_lines([guard])
