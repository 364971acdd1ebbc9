"""Which failures of a PEP 517 step send a build back to the index for a newer backend
(issue 11: the archive's packages where they satisfy the requirement AND build)."""

from __future__ import annotations

import dataclasses

import pytest
from examples import BASE, TARGET
from packaging.requirements import Requirement
from packaging.version import Version

from repack import buildreqs
from repack.deb.build import METADATA_SCRIPT as DEB_METADATA_SCRIPT
from repack.deb.family import pep517_step as deb_step
from repack.fallback import lock_requirement, replaced
from repack.rpm.build import DEFAULT_BACKEND, METADATA_SCRIPT
from repack.rpm.family import pep517_step

# rpmbuild's %build (pip 20.3 wheel --verbose) when setup.py needs a newer setuptools
PIP_HOOK_TRACEBACK = """\
  Running command /usr/bin/python3 /tmp/_in_process.py build_wheel /tmp/tmpx
  Traceback (most recent call last):
    File "/usr/lib/python3/dist-packages/pip/_vendor/pep517/_in_process.py", line 280, in <module>
      main()
    File "/usr/lib/python3/dist-packages/pip/_vendor/pep517/_in_process.py", line 263, in main
      json_out['return_val'] = hook(**hook_input['kwargs'])
    File "/usr/lib/python3/dist-packages/setuptools/build_meta.py", line 145, in run_setup
      exec(compile(code, __file__, 'exec'), locals())
    File "setup.py", line 2, in <module>
      from setuptools.errors import CCompilerError
  ImportError: cannot import name 'CCompilerError' from 'setuptools.errors' (/usr/lib/py)
  ERROR: Failed building wheel for newapi-app
ERROR: Failed to build one or more wheels
error: Bad exit status from /var/tmp/rpm-tmp.Ab12 (%build)
"""
COMPILE_FAILED = """\
  foo.c:1:10: fatal error: zlib.h: No such file or directory
  compilation terminated.
  error: command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1
  ERROR: Failed building wheel for native-app
error: Bad exit status from /var/tmp/rpm-tmp.Ab12 (%build)
"""
# pip itself crashing (no hook runner in the traceback): not the backend's failure
PIP_CRASH = """\
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/pip/_internal/cli/base_command.py", line 224, in _main
    status = self.run(options, args)
  File "/usr/lib/python3/dist-packages/pip/_vendor/toml/decoder.py", line 511, in loads
    raise TomlDecodeError("Not a homogeneous array", original, pos)
pip._vendor.toml.decoder.TomlDecodeError: Not a homogeneous array (line 6 column 1 char 96)
"""
METADATA_HOOK = """\
Traceback (most recent call last):
  File "<string>", line 11, in <module>
  File "/usr/lib/python3/dist-packages/hatchling/build.py", line 60, in prepare_metadata
AttributeError: module 'hatchling.metadata' has no attribute 'spdx'
"""


def test_an_api_error_through_the_hook_runner_qualifies() -> None:
    why = buildreqs.backend_failure(PIP_HOOK_TRACEBACK, "wheel")
    assert why == ("ImportError: cannot import name 'CCompilerError' from 'setuptools.errors' "
                   "(/usr/lib/py)")


def test_repacks_own_hook_scripts_qualify_without_pip() -> None:
    assert buildreqs.backend_failure(METADATA_HOOK, "hook") == (
        "AttributeError: module 'hatchling.metadata' has no attribute 'spdx'")
    assert buildreqs.backend_failure(METADATA_HOOK, "wheel") is None     # no hook runner


@pytest.mark.parametrize("output", [
    COMPILE_FAILED,                                       # a C header missing
    PIP_CRASH,                                            # the frontend, not the backend
    "error: Bad exit status from /var/tmp/rpm-tmp.Ab12 (%build)\n",   # no traceback
    PIP_HOOK_TRACEBACK.replace("ImportError: cannot import name",
                               "OSError: [Errno 28] No space left on device"),
    PIP_HOOK_TRACEBACK.replace("ImportError: cannot import name",
                               "distutils.errors.CompileError: command failed"),
    "Traceback (most recent call last):\n" + COMPILE_FAILED,
])
def test_what_a_newer_backend_does_not_fix_does_not_qualify(output: str) -> None:
    assert buildreqs.backend_failure(output, "wheel") is None
    assert output is PIP_CRASH or buildreqs.backend_failure(output, "hook") is None


def test_the_last_traceback_is_the_one_that_counts() -> None:
    earlier = "Traceback (most recent call last):\nValueError: a warning handled earlier\n"
    assert buildreqs.backend_failure(earlier + PIP_HOOK_TRACEBACK, "wheel", ).startswith(
        "ImportError: cannot import name 'CCompilerError'")


# el9 (setuptools 52): `version = attr: email_validator.version.__version__` imports the
# package, which imports idna; the traceback is longer than the 40 lines of output a failed
# command keeps, so its "Traceback" line is lost (setuptools 61 reads the attribute statically)
TRUNCATED_HOOK = """\
  File "/usr/lib/python3/dist-packages/setuptools/config.py", line 552, in _parse_version
    version = self._parse_attr(value, self.package_dir)
  File "/usr/lib/python3/dist-packages/setuptools/config.py", line 390, in _parse_attr
    module = importlib.import_module(module_name)
  File "<frozen importlib._bootstrap>", line 228, in _call_with_frames_removed
  File "/tmp/requires-src/email_validator/syntax.py", line 9, in <module>
    import idna  # implements IDNA 2008; Python's codec is only IDNA 2003
ModuleNotFoundError: No module named 'idna'
"""


def test_a_traceback_longer_than_the_tail_still_counts() -> None:
    assert buildreqs.backend_failure(TRUNCATED_HOOK, "hook") == (
        "ModuleNotFoundError: No module named 'idna'")
    # pip's hook runner was in the lines lost: not known to be the backend's
    assert buildreqs.backend_failure(TRUNCATED_HOOK, "wheel") is None
    assert buildreqs.backend_failure("gcc: exit 1\nValueError: no frame\n", "hook") is None


def test_a_backend_object_names_its_project() -> None:
    assert buildreqs.backend_project("setuptools.build_meta") == "setuptools"
    assert buildreqs.backend_project(DEFAULT_BACKEND) == "setuptools"
    assert buildreqs.backend_project("flit_core.buildapi") == "flit-core"
    assert buildreqs.backend_project("poetry.core.masonry.api") == "poetry-core"
    assert buildreqs.backend_project("pdm.backend") == "pdm-backend"
    assert buildreqs.backend_project("hatchling.build") == "hatchling"
    assert buildreqs.backend_project("whey") == "whey"


def test_a_classifier_newer_than_the_list_is_the_lists_failure() -> None:
    """hatchling's and setuptools' (validate-pyproject's) words for a classifier the
    installed trove-classifiers lacks: the data is raised, not the backend."""
    hatchling = ("ValueError: Unknown classifier in field `project.classifiers`: "
                 "Programming Language :: Python :: 3.15")
    setuptools = ("ValueError: invalid pyproject.toml config: `project.classifiers[2]`. "
                  "configuration error: `project.classifiers[2]` must be trove-classifier")
    assert buildreqs.stale_data(hatchling) == "trove-classifiers"
    assert buildreqs.stale_data(setuptools) == "trove-classifiers"
    assert buildreqs.stale_data("AttributeError: module 'setuptools' has no attribute "
                                "'errors'") is None


def test_the_fallback_is_above_the_archives_version_within_the_projects_range() -> None:
    raised = buildreqs.fallback_requirement(Requirement("setuptools<70"), Version("52.0"))
    assert raised.specifier.contains("69.5") and not raised.specifier.contains("52.0")
    assert not raised.specifier.contains("70")
    plain = buildreqs.fallback_requirement(Requirement("setuptools"), Version("52.0"))
    assert str(plain) == "setuptools>52.0"


ENGINE = ["/usr/bin/podman", "exec", "repack-0123"]
LEGACY = dataclasses.replace(BASE, license_expression=None, classifiers=False, pep621=False)


def test_only_the_pep517_steps_of_an_rpm_build_are_the_backends() -> None:
    assert pep517_step([*ENGINE, "python3", "-c", buildreqs.REQUIRES_SCRIPT, "/build/src/x"],
                       "") == "hook"
    assert pep517_step([*ENGINE, "python3", "-c", METADATA_SCRIPT, "/build/src/x"], "") == "hook"
    assert pep517_step([*ENGINE, "rpmbuild", "-ba", "x.spec"], PIP_HOOK_TRACEBACK) == "wheel"
    install_failed = "error: Bad exit status from /var/tmp/rpm-tmp.Ab12 (%install)\n"
    assert pep517_step([*ENGINE, "rpmbuild", "-ba", "x.spec"], install_failed) is None
    pip_install = buildreqs.pip_install_argv([], "/wheels")
    assert pep517_step([*ENGINE, *pip_install], PIP_HOOK_TRACEBACK) is None
    assert pep517_step([*ENGINE, "python3", "-c", buildreqs.CHECK_SCRIPT], "") is None


def test_the_exception_line_is_one_clean_line() -> None:
    """It is printed and put in a hint: upstream's escape sequences (a cursor moved up to
    overwrite a line) do not reach the terminal."""
    forged = ("Traceback (most recent call last):\n  File \"x\"\n"
              "AttributeError: no\x1b[1A\x1b[2Kok\n")
    why = buildreqs.backend_failure(forged, "hook")
    assert why is not None and "\x1b" not in why and why.startswith("AttributeError: no")


# debian-12: dpkg-buildpackage's tail when setup.py needs setuptools.modified (69) and the
# archive's setuptools 66.1.1 runs it, in pybuild's build step (pypa/build's hook runner)
PYBUILD_BUILD_STEP = """\
I: pybuild base:240: python3.11 -m build --skip-dependency-check --no-isolation --wheel \
--outdir /build/python-newapi-app-1.0/.pybuild/cpython3_3.11
* Building wheel...
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/pep517/in_process/_in_process.py", line 351, in <module>
    main()
  File "/usr/lib/python3/dist-packages/pep517/in_process/_in_process.py", line 333, in main
    json_out['return_val'] = hook(**hook_input['kwargs'])
                             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3/dist-packages/setuptools/build_meta.py", line 413, in build_wheel
    return self._build_with_temp_dir(['bdist_wheel'], '.whl',
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3/dist-packages/setuptools/build_meta.py", line 335, in run_setup
    exec(code, locals())
  File "<string>", line 2, in <module>
ModuleNotFoundError: No module named 'setuptools.modified'

ERROR Backend subprocess exited when trying to invoke build_wheel
E: pybuild pybuild:388: build: plugin pyproject failed with: exit code=1: python3.11 -m build \
--skip-dependency-check --no-isolation --wheel --outdir /build/python-newapi-app-1.0/.pybuild/c
dh_auto_build: error: pybuild --build -i python{version} -p 3.11 returned exit code 13
make: *** [debian/rules:10: binary] Error 25
dpkg-buildpackage: error: debian/rules binary subprocess returned exit status 2
"""
# repack's metadata script (repack.deb.build.METADATA_SCRIPT) with the same setup.py
DEB_METADATA_HOOK = PYBUILD_BUILD_STEP[PYBUILD_BUILD_STEP.index("Traceback"):
                                       PYBUILD_BUILD_STEP.index("\nERROR")].replace(
    "build_wheel", "prepare_metadata_for_build_wheel") + \
    "ERROR Backend subprocess exited when trying to invoke prepare_metadata_for_build_wheel\n"
DPKG = [*ENGINE, "dpkg-buildpackage", "-us", "-uc", "-sa"]


def test_pybuilds_build_step_and_the_metadata_script_are_the_debian_backends() -> None:
    assert deb_step(DPKG, PYBUILD_BUILD_STEP) == "wheel"
    assert buildreqs.backend_failure(PYBUILD_BUILD_STEP, "wheel") == (
        "ModuleNotFoundError: No module named 'setuptools.modified'")
    argv = [*ENGINE, "python3", "-c", DEB_METADATA_SCRIPT, "/build/x", "/tmp/m", "/build/m"]
    assert deb_step(argv, DEB_METADATA_HOOK) == "wheel"
    assert buildreqs.backend_failure(DEB_METADATA_HOOK, "wheel") == (
        "ModuleNotFoundError: No module named 'setuptools.modified'")


@pytest.mark.parametrize("output", [
    # pybuild's install step (it copies the unpacked wheel: no backend runs)
    PYBUILD_BUILD_STEP.replace("388: build: plugin", "388: install: plugin"),
    # the distutils plugin (no build-backend): `setup.py build`, not a PEP 517 step
    PYBUILD_BUILD_STEP.replace("plugin pyproject", "plugin distutils"),
    # dpkg-source refusing the tree, before any build step
    ("dpkg-source: error: aborting due to unexpected upstream changes\n"
     "dpkg-buildpackage: error: dpkg-source -b . subprocess returned exit status 2\n"),
])
def test_other_failures_of_a_debian_build_are_not_the_backends(output: str) -> None:
    assert deb_step(DPKG, output) is None


def test_a_debian_step_the_backend_fails_for_another_reason_does_not_fall_back() -> None:
    compiled = PYBUILD_BUILD_STEP.replace("* Building wheel...\n", "* Building wheel...\n"
                                          + COMPILE_FAILED)
    assert deb_step(DPKG, compiled) == "wheel"
    assert buildreqs.backend_failure(compiled, "wheel") is None
    no_hook_runner = PYBUILD_BUILD_STEP.replace("pep517/in_process/_in_process.py",
                                                "build/__main__.py")
    assert buildreqs.backend_failure(no_hook_runner, "wheel") is None


def test_the_rpm_familys_steps_are_not_debians() -> None:
    assert deb_step([*ENGINE, "python3", "-c", METADATA_SCRIPT, "/build/src/x"], "") is None
    assert deb_step([*ENGINE, "rpmbuild", "-ba", "x.spec"], PIP_HOOK_TRACEBACK) is None
    assert deb_step([*ENGINE, *buildreqs.pip_install_argv([], "/wheels")],
                    PYBUILD_BUILD_STEP) is None


def test_a_fallback_requirement_takes_the_place_of_the_projects_own() -> None:
    reqs = [Requirement("setuptools>=40"), Requirement("wheel")]
    out = replaced(reqs, [Requirement("setuptools>66.1.1")])
    assert [str(r) for r in out] == ["wheel", "setuptools>66.1.1"]
    assert replaced(reqs, []) == reqs


@pytest.mark.parametrize(("changes", "from_index", "expected"), [
    ({"build_backend": "setuptools.build_meta",
      "build_requires": (Requirement("setuptools>=40"),)}, (), "setuptools>=40"),
    ({"build_backend": None,                       # the legacy backend: PEP 518's default
      "build_requires": (Requirement("setuptools>=40.8.0"), Requirement("wheel"))}, (),
     "setuptools>=40.8.0"),
    ({"build_backend": "flit_core.buildapi", "build_requires": (Requirement("flit_core<4"),)},
     ("flit-core",), None),                        # a wheel from the index already
    ({"build_backend": "setuptools.build_meta",   # setuptools building itself: in-tree
      "build_requires": ()}, (), None),
    ({"build_backend": "backend", "build_requires": (Requirement("setuptools"),)}, (), None),
])
def test_what_a_lock_pins_for_a_fallback(changes: dict[str, object],
                                         from_index: tuple[str, ...],
                                         expected: str | None) -> None:
    project = dataclasses.replace(LEGACY, **changes)      # type: ignore[arg-type]
    found = lock_requirement(project, TARGET, from_index)
    assert (None if found is None else str(found)) == expected
