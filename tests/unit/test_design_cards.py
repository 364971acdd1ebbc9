"""The Vagrantfile and the CI template cannot run here; check what can be checked: they
parse, their shell scripts parse, and they agree with repack's targets and client files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from repack import targets
from repack.publish import clients

ROOT = Path(__file__).resolve().parents[2]

# Loads the Vagrantfile with a stand-in for Vagrant's configuration object and prints
# each machine's box and provisioning script as JSON.
VAGRANT_STUB = r"""
require "json"
module Vagrant
  def self.configure(_version)
    cfg = Cfg.new
    yield cfg
    puts JSON.generate(cfg.machines)
  end
end
class Cfg
  attr_reader :machines, :scripts, :box
  def initialize; @machines = {}; @scripts = []; end
  def vm; self; end
  def synced_folder(*_args, **_kw); end
  def box=(name); @box = name; end
  def provision(_kind, env:, inline:); @scripts << { "env" => env, "script" => inline }; end
  def define(name)
    machine = Cfg.new
    yield machine
    @machines[name] = { "box" => machine.box, "scripts" => machine.scripts }
  end
end
load ARGV[0]
"""


@pytest.mark.process
@pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby is not installed")
def test_vagrantfile_machines_and_scripts_parse() -> None:
    out = subprocess.run(["ruby", "-e", VAGRANT_STUB, str(ROOT / "Vagrantfile")],
                         capture_output=True, text=True, check=True).stdout
    machines = json.loads(out)
    assert {m: v["box"] for m, v in machines.items()} == {
        "debian12": "debian/bookworm64", "rocky9": "rockylinux/9"}
    for machine in machines.values():
        for item in machine["scripts"]:
            subprocess.run(["bash", "-n"], input=item["script"], text=True, check=True)
            assert item["env"]["NAME"] == "repack"
    debian = machines["debian12"]["scripts"][0]["script"]
    rocky = machines["rocky9"]["scripts"][0]["script"]
    # The paths the VMs fetch are the ones the client generator writes.
    sources = clients.sources_text("repack", "http://h", ["bookworm"],
                                   "/etc/apt/keyrings/repack.gpg")
    assert "Signed-By: /etc/apt/keyrings/repack.gpg" in sources
    assert '"/etc/apt/keyrings/$NAME.gpg" "$URL/keys/$NAME.gpg"' in debian
    assert "[repack-el9]" in clients.repo_text("repack", "http://h", ["el9"])
    assert '"$URL/client/$NAME-bookworm.sources"' in debian
    assert clients.sources_name("repack", "bookworm") == "repack-bookworm.sources"
    assert '"$URL/client/$NAME-el9.repo"' in rocky
    assert clients.repo_name("repack", "el9") == "repack-el9.repo"


def test_ci_template_builds_known_targets_and_keeps_secrets_in_publish() -> None:
    yaml = pytest.importorskip("yaml")
    text = (ROOT / "ci" / "github-actions.yml").read_text()
    workflow = yaml.safe_load(text)
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    matrix = [m["target"] for m in build["strategy"]["matrix"]["include"]]
    assert set(matrix) <= set(targets.available())
    assert "secrets." not in json.dumps(build)
    assert publish["needs"] == "build"
    runs = [step.get("run", "") for step in publish["steps"]]
    assert not any("set -x" in r or "secrets." in r for r in runs)   # only via env:
    assert any("repack publish" in r for r in runs) and any("repo verify" in r for r in runs)
    # a second run republishes: its builds pick their revision against what is served
    builds = [r for r in (step.get("run", "") for step in build["steps"]) if "repack build" in r]
    assert builds and all('--against "$REPO_URL"' in r for r in builds)
    assert "REPO_URL" in workflow["env"]


def test_ci_template_refreshes_the_signatures_on_a_schedule() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / "ci" / "github-actions.yml").read_text())
    on = workflow.get("on", workflow.get(True))       # YAML 1.1 reads a bare `on` as true
    (cron,) = [s["cron"] for s in on["schedule"]]
    assert len(cron.split()) == 5
    jobs = workflow["jobs"]
    assert jobs["build"]["if"] == "github.event_name != 'schedule'"   # no builds on a timer
    refresh = jobs["refresh"]
    assert refresh["if"] == "github.event_name == 'schedule'"
    assert "secrets." not in json.dumps([s.get("run", "") for s in refresh["steps"]])
    runs = " ".join(s.get("run", "") for s in refresh["steps"])
    assert "repack repo refresh --repo repo" in runs
    assert "repo verify repo --keyring keys/trusted.gpg --fail-within" in runs
    assert "repack publish" not in runs and "repack build" not in runs
