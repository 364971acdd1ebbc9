"""The Vagrantfile and the CI template cannot run here; check what can be checked: they
parse, their shell scripts parse, and they agree with repack's targets and client files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

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
    jobs = workflow["jobs"]
    waves = sorted(j for j in jobs if j.startswith("wave-"))
    assert waves == [f"wave-{n}" for n in range(len(waves))] and len(waves) >= 2
    publish = jobs["publish"]
    for n, wave in enumerate(waves):
        build = jobs[wave]
        # a dynamic matrix: wave N's jobs from `repack plan`, after wave N-1
        assert build["strategy"]["matrix"] == f"${{{{ fromJSON(needs.plan.outputs.{wave}) }}}}"
        assert "plan" in build["needs"] and (n == 0 or f"wave-{n - 1}" in build["needs"])
        assert f"needs.plan.outputs.waves > {n}" in build["if"]
        assert "secrets." not in json.dumps(build)
        assert wave in publish["needs"]
        assert build["steps"] == jobs["wave-0"]["steps"]          # one YAML anchor
    plan_runs = " ".join(s.get("run", "") for s in jobs["plan"]["steps"])
    assert 'repack plan --lock repack.lock --shards "$SHARDS"' in plan_runs
    assert int(jobs["plan"]["env"]["WAVE_JOBS"]) == len(waves)
    assert set(jobs["plan"]["outputs"]) == {"waves", *waves}
    build = jobs["wave-0"]
    runs = [step.get("run", "") for step in publish["steps"]]
    assert not any("set -x" in r or "secrets." in r for r in runs)   # only via env:
    assert any("repack publish" in r for r in runs) and any("repo verify" in r for r in runs)
    # a second run republishes: its builds pick their revision against what is served
    builds = [r for r in (step.get("run", "") for step in build["steps"]) if '"${argv[@]}"' in r]
    assert builds and all('--against "$REPO_URL"' in r for r in builds)
    assert all("jq -r '.build[]'" in r and 'test "${argv[0]}" = repack' in r for r in builds)
    assert "REPO_URL" in workflow["env"]


def requirement_entries(path: Path) -> list[str]:
    """The entries of a pip requirements file: continuation lines joined, comments gone."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = (re.sub(r"(^|\s)#.*", "", line).strip() for line in text.splitlines())
    return [line for line in lines if line]


def pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version or wheel path, sha256 digests) of each entry; every entry must be
    pinned (== or a wheel file) and carry at least one sha256."""
    found = {}
    for entry in requirement_entries(path):
        what, *options = entry.split()
        digests = [o.removeprefix("--hash=sha256:") for o in options]
        assert digests and all(re.fullmatch(r"[0-9a-f]{64}", d) for d in digests), entry
        assert len(digests) == len(options), entry         # nothing but --hash options
        if what.endswith(".whl"):
            name = parse_wheel_filename(Path(what).name)[0]
            found[str(name)] = (what, digests)
        else:
            name_text, _, version_text = what.partition("==")
            assert version_text and Version(version_text), f"not pinned: {entry}"
            found[str(canonicalize_name(name_text))] = (version_text, digests)
    return found


def test_ci_installs_repack_by_hash_never_by_the_strangers_name() -> None:
    """The PyPI name "repack" is an unrelated project: the CI template installs repack-native
    from the wheel of a pinned commit, every file hash-checked, in every job that runs it."""
    yaml = pytest.importorskip("yaml")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    name = canonicalize_name(project["project"]["name"])
    assert name != "repack" and project["project"]["scripts"]["repack"] == "repack.cli:main"
    workflow = yaml.safe_load((ROOT / "ci" / "github-actions.yml").read_text())
    jobs = workflow["jobs"]
    scripts = "\n".join(step.get("run", "") for job in jobs.values() for step in job["steps"])
    by_name = re.compile(r"\binstall\b[^\n]*[\s\"'=]repack(?![-_.\w/])")
    for bad in ('pipx install "repack==${REPACK_VERSION}"', "pip install -U repack",
                "uv pip install repack[extra]"):
        assert by_name.search(bad), bad                 # the guard is not vacuous
    assert not by_name.search("pip install ./repack-wheel/repack_native-0.1.0-py3-none-any.whl")
    assert not by_name.search(scripts)
    assert "pipx" not in scripts and "podman pull" not in scripts
    installs = [step["run"] for job in jobs.values() for step in job["steps"]
                if "pip" in step.get("run", "") and " install" in step.get("run", "")]
    assert installs and all("--require-hashes" in r and "--only-binary :all:" in r
                            and "--no-deps" in r for r in installs)
    for job in ("plan", "wave-0", "wave-3", "publish", "refresh"):   # every job running repack
        runs = [step.get("run", "") for step in jobs[job]["steps"]]
        assert any("-r ci/requirements.txt" in r for r in runs), job
        assert "repack" in jobs[job]["needs"]
    # the wheel: built from a full commit id, which the job checks it checked out
    assert re.fullmatch(r"[0-9a-f]{40}", workflow["env"]["REPACK_COMMIT"])
    wheel_job = "\n".join(step.get("run", "") for step in jobs["repack"]["steps"])
    assert 'test "$(git rev-parse HEAD)" = "$REPACK_COMMIT"' in wheel_job
    assert "--no-build-isolation" in wheel_job and "SOURCE_DATE_EPOCH" in wheel_job
    assert "-w ../repack-wheel" in wheel_job
    # ... and installed by its sha256 from where the jobs download it
    locked = pins(ROOT / "ci" / "requirements.txt")
    assert "repack" not in locked
    wheel, _ = locked[name]
    assert wheel.startswith("./repack-wheel/")
    assert parse_wheel_filename(Path(wheel).name)[1] == Version(project["project"]["version"])
    for job in ("plan", "wave-1", "publish", "refresh"):
        downloads = [step["with"] for step in jobs[job]["steps"]
                     if step.get("uses", "").startswith("actions/download-artifact")]
        assert {"name": "repack-wheel", "path": "repack-wheel/"} in downloads
    # every dependency of pyproject.toml is pinned, to a version it admits
    for dep in map(Requirement, project["project"]["dependencies"]):
        version, _ = locked[canonicalize_name(dep.name)]
        assert dep.specifier.contains(version), (dep, version)
    # the build backend too
    backend = pins(ROOT / "ci" / "build-requirements.txt")
    for req in map(Requirement, project["build-system"]["requires"]):
        assert req.specifier.contains(backend[canonicalize_name(req.name)][0]), req


def test_ci_template_refreshes_the_signatures_on_a_schedule() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / "ci" / "github-actions.yml").read_text())
    on = workflow.get("on", workflow.get(True))       # YAML 1.1 reads a bare `on` as true
    (cron,) = [s["cron"] for s in on["schedule"]]
    assert len(cron.split()) == 5
    jobs = workflow["jobs"]
    assert jobs["plan"]["if"] == "github.event_name != 'schedule'"    # no builds on a timer
    refresh = jobs["refresh"]
    assert refresh["if"] == "github.event_name == 'schedule'"
    assert "secrets." not in json.dumps([s.get("run", "") for s in refresh["steps"]])
    runs = " ".join(s.get("run", "") for s in refresh["steps"])
    assert "repack repo refresh --repo repo" in runs
    assert "repo verify repo --keyring keys/trusted.gpg --fail-within" in runs
    assert "repack publish" not in runs and "repack build" not in runs


def test_gitlab_template_builds_the_plan_in_waves_and_publishes_once() -> None:
    yaml = pytest.importorskip("yaml")
    pipeline = yaml.safe_load((ROOT / "ci" / "gitlab-ci.yml").read_text())
    waves = [s for s in pipeline["stages"] if s.startswith("wave-")]
    assert pipeline["stages"] == ["repack", "plan", *waves, "publish"] and len(waves) >= 2
    template = pipeline[".wave"]
    (matrix,) = template["parallel"]["matrix"]
    assert set(matrix["TARGET"]) <= set(targets.available())
    assert len(matrix["SHARD"]) == int(pipeline["variables"]["SHARDS"])
    for n, wave in enumerate(waves):
        job = pipeline[wave]
        assert job == {"extends": ".wave", "stage": wave, "variables": {"WAVE": str(n)}}
    script = "\n".join(line for item in template["script"]
                       for line in (item if isinstance(item, list) else [item]))
    # the job picks its own entry and runs its argv as an array, never through eval
    assert "select(.target == $t and .shard == $s)" in script
    assert "mapfile -t argv < <(jq -r '.build[]'" in script and '"${argv[@]}" -o out/' in script
    assert "eval" not in script and "REPACK_SIGNING_KEY" not in json.dumps(template)
    assert 'repack plan --lock repack.lock --shards "$SHARDS"' in " ".join(
        map(str, pipeline["plan"]["script"]))
    publish = " ".join(str(line) for line in pipeline["publish"]["script"])
    assert "repack publish out/" in publish and "repo verify repo --keyring" in publish
    # repack itself: from the pinned commit's wheel, by hash, in every job that runs it
    install = " ".join(pipeline[".install-repack"])
    assert "--require-hashes --only-binary :all: --no-deps -r ci/requirements.txt" in install
    for job in ("plan", ".wave", "publish", "refresh"):
        assert pipeline[".install-repack"] == pipeline[job]["script"][0], job
    assert re.fullmatch(r"[0-9a-f]{40}", pipeline["variables"]["REPACK_COMMIT"])
