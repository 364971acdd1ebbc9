"""`repack publish` starts a Python of its own on every run: what it imports is part of its
time.  Its command module and the publisher load no build code (pipeline, builder images,
containers, the package builders, the keyring packages' builder) and no network client."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

BUILD_CODE = ("repack.pipeline", "repack.buildrun", "repack.container.images",
              "repack.deb.build", "repack.rpm.build", "repack.clibs", "repack.publish.keyring",
              "repack.resolve", "repack.fetch", "repack.http", "requests")


@pytest.mark.process       # a fresh interpreter: this one has imported everything
def test_publish_loads_no_build_code() -> None:
    code = ("import json, sys\n"
            "from repack.cli import Repack\n"
            "import repack.cli.publish, repack.publish.publisher\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    loaded = set(json.loads(out))
    assert "repack.publish.publisher" in loaded
    assert all(importlib.util.find_spec(m) for m in BUILD_CODE)     # no name misspelt
    assert sorted(m for m in BUILD_CODE if m in loaded) == []
