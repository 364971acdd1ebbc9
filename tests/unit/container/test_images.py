"""Image recipes and the archive index read from a bootstrapped image's lists."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest

from repack import targets
from repack.container import images
from repack.errors import BuildError

PACKAGES = """\
Package: python3-django
Version: 3:3.2.19-1+deb12u1
Architecture: all

Package: python3-asgiref
Version: 3.6.0-1
Architecture: all
"""
SECURITY = """\
Package: python3-django
Version: 3:3.2.25-0+deb12u7
Architecture: all
"""
DIST_MAP = "Django python3-django\nPyYAML python3-yaml\ndjango_admin_sortable python3-x\n"


def test_read_archive_takes_highest_version_and_normalises_dist_names(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages").write_text(PACKAGES)
    (lists / "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages"
     ).write_text(SECURITY)
    (tmp_path / "map").write_text(DIST_MAP)
    index = images.read_archive(lists, tmp_path / "map")
    assert index.packages == {"python3-django": "3:3.2.25-0+deb12u7", "python3-asgiref": "3.6.0-1"}
    assert index.dist_map == {"django": "python3-django", "pyyaml": "python3-yaml",
                              "django-admin-sortable": "python3-x"}


COMPILED = """\
Package: python3-numpy
Version: 1:1.24.2-1+deb12u1
Architecture: amd64
Depends: libc6 (>= 2.34), python3 (<< 3.12), python3:any
Provides: dh-sequence-numpy3, python3-numpy-abi9, python3-numpy-api16

Package: python3-pythran
Version: 0.11.0+ds-7
Architecture: amd64
Depends: g++ | c++-compiler, python3-numpy, python3-ply (>= 0.34~), python3:any

Package: python3-scipy
Version: 1.10.1-2
Architecture: amd64
Depends: python3-decorator, python3-numpy (>= 1:1.22.0), python3-pythran, python3-numpy-abi9,
 python3 (<< 3.12), python3 (>= 3.11~)

Package: python3
Version: 3.11.2-1+b1
Architecture: amd64

Package: python3-ply
Version: 3.11-5
Architecture: all

Package: python3-setuptools-scm
Version: 7.1.0-3
Architecture: all
Depends: python3-packaging, python3-setuptools
"""


def test_read_archive_records_what_compiled_python_packages_are_built_on(
        tmp_path: Path) -> None:
    """Only compiled packages on compiled ones of dh-python's map (python3-scipy on
    python3-numpy): a dependency on a pure package (pythran on ply, setuptools-scm on
    setuptools) is on its Python API, and the interpreter (mapped for stdlib backports such
    as argparse) is the target's own."""
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "x_bookworm_main_binary-amd64_Packages").write_text(COMPILED)
    (tmp_path / "map").write_text("numpy python3-numpy\nscipy python3-scipy\n"
                                  "pythran python3-pythran\nply python3-ply\n"
                                  "setuptools_scm python3-setuptools-scm\n"
                                  "setuptools python3-setuptools\ndecorator python3-decorator\n"
                                  "argparse python3\n")
    index = images.read_archive(lists, tmp_path / "map")
    assert index.compiled_on == {"python3-pythran": ["python3-numpy"],
                                 "python3-scipy": ["python3-numpy", "python3-pythran"]}
    image = images.image_for(targets.load("debian-12"), "builder", tmp_path / "cache")
    image.state_dir.mkdir(parents=True)
    image.archive_file.write_text(json.dumps({"packages": index.packages,
                                              "dist_map": index.dist_map,
                                              "compiled_on": index.compiled_on,
                                              "provided": sorted(index.provided)}))
    loaded = images.load_archive(image)
    assert loaded.compiled_on == index.compiled_on
    # what dh_numpy3 makes a package depend on is the archive's, through python3-numpy
    assert loaded.provided == {"dh-sequence-numpy3", "python3-numpy-abi9", "python3-numpy-api16"}
    assert loaded.offers("python3-numpy-abi9") and loaded.offers("python3-numpy")
    assert not loaded.offers("python3-numpy2-abi0")


def test_the_images_installed_packages_travel_in_archive_json(tmp_path: Path) -> None:
    """read_archive reads dpkg's status file; archive.json as the bootstrap writes it gives
    them back (an older one without them: empty, and a container checks instead)."""
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "x_bookworm_main_binary-amd64_Packages").write_text(PACKAGES)
    (tmp_path / "map").write_text(DIST_MAP)
    (tmp_path / "status").write_text("Package: debhelper\nStatus: install ok installed\n"
                                     "Version: 13.11.4\nProvides: debhelper-compat (= 13)\n\n"
                                     "Package: gone\nStatus: purge ok not-installed\n"
                                     "Version: 1\n")
    index = images.read_archive(lists, tmp_path / "map", tmp_path / "status")
    assert index.installed == {"debhelper": "13.11.4"}
    assert index.installed_provides == {"debhelper-compat": ["13"]}
    record = {"packages": index.packages, "dist_map": index.dist_map, "installed":
              index.installed, "installed_provides": index.installed_provides}
    image = images.image_for(targets.load("debian-12"), "builder", tmp_path / "cache")
    image.state_dir.mkdir(parents=True)
    image.archive_file.write_text(json.dumps(record))
    loaded = images.load_archive(image)
    assert (loaded.installed, loaded.installed_provides) == (index.installed,
                                                             index.installed_provides)
    del record["installed"], record["installed_provides"]
    image.archive_file.write_text(json.dumps(record))
    assert images.load_archive(image).installed == {}


def test_no_lists_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "map").write_text(DIST_MAP)
    with pytest.raises(BuildError, match="no package lists"):
        images.read_archive(tmp_path, tmp_path / "map")


def test_tag_follows_the_recipe(tmp_path: Path) -> None:
    t = targets.load("debian-12")
    builder = images.image_for(t, "builder", tmp_path)
    base = images.image_for(t, "base", tmp_path)
    assert builder.tag.startswith("localhost/repack-builder-debian-12:")
    assert builder.tag != base.tag
    assert images.image_for(t, "builder", tmp_path) == builder  # stable
    changed = dataclasses.replace(t, toolchain=(*t.toolchain, "python3-hatchling"))
    assert images.image_for(changed, "builder", tmp_path).tag != builder.tag


def test_builders_record_the_files_the_system_owns() -> None:
    """Builder recipes (and so their tags) carry the owned-files step; base images do not."""
    for tid in ("debian-12", "el9"):
        t = targets.load(tid)
        assert images.recipe(t, "builder")["owned_files"] == images.OWNED_FILES_VERSION
        assert "owned_files" not in images.recipe(t, "base")


def test_two_runs_bootstrap_an_image_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of one cache that both lack the base image: the first bootstraps it, the
    second waits for it and finds it made, instead of downloading it again and replacing
    the first one's tag under its builds."""
    image = images.image_for(targets.load("debian-12"), "base", tmp_path)
    made: list[str] = []
    started, go_on = threading.Event(), threading.Event()

    class Engine:           # podman's answer to "is the tag there", as the bootstrap leaves it
        def image_exists(self, tag: str) -> bool:
            return tag in made

    def bootstrap(engine: object, img: images.Image) -> None:
        started.set()
        assert go_on.wait(10)
        made.append(img.tag)

    monkeypatch.setattr(images, "_bootstrap", bootstrap)
    first = threading.Thread(target=images.ensure, args=(Engine(), image))
    first.start()
    assert started.wait(10)
    waited = threading.Event()
    monkeypatch.setattr(images.log, "info", lambda message: waited.set())
    second = threading.Thread(target=images.ensure, args=(Engine(), image))
    second.start()
    assert waited.wait(10)          # "waiting for another repack run bootstrapping ..."
    go_on.set()
    first.join(10)
    second.join(10)
    assert made == [image.tag]
