"""`repack plan`: a lock file as independent build jobs for a CI matrix.

Each target's locked packages fall into dependency waves (wave 0: no locked dependency;
wave k: every dependency in an earlier wave), and each (wave, target) into at most N
shards.  The jobs of one wave do not depend on each other, so a CI system runs them all at
once, wave after wave; each job is one `repack build --lock FILE -t TARGET --only NAME...`.
Everything here is pure: the same lock and options give the same plan, byte for byte.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.utils import NormalizedName, canonicalize_name

from repack.errors import ConfigError, CycleError
from repack.plan.lockfile import LockedPackage, LockedTarget, Lockfile

__all__ = ["Job", "jobs", "plan_json", "restrict", "waves"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One CI job: the packages of one shard of one (wave, target)."""

    wave: int
    target: str
    shard: int                                  # 1-based
    packages: tuple[LockedPackage, ...]         # sorted by name

    @property
    def id(self) -> str:
        return f"w{self.wave}-{self.target}-s{self.shard}"

    def build(self, lock_path: str) -> list[str]:
        """The command that builds exactly this job's packages (an argv, never a shell line)."""
        only = [arg for p in self.packages for arg in ("--only", str(p.name))]
        return ["repack", "build", "--lock", lock_path, "-t", self.target, *only]


def waves(target: LockedTarget) -> list[list[LockedPackage]]:
    """The target's packages by dependency wave, each wave sorted by name.  CycleError names
    a cycle; ConfigError a dependency the lock does not lock."""
    by_name = {p.name: p for p in target.packages}
    for p in target.packages:
        missing = sorted(set(p.depends) - set(by_name))
        if missing:
            raise ConfigError(f"lock file target {target.id}: {p.name} depends on "
                              f"{', '.join(missing)}, which it does not lock",
                              hint="write it again with `repack lock`")
    level: dict[NormalizedName, int] = {}
    remaining = dict(by_name)
    while remaining:
        ready = [n for n, p in remaining.items() if all(d in level for d in p.depends)]
        if not ready:
            raise CycleError(f"dependency cycle in lock file target {target.id}: "
                             f"{_cycle(remaining)}", project=min(remaining),
                             hint="a cycle cannot be built in waves")
        for n in ready:
            level[n] = max((level[d] + 1 for d in remaining[n].depends), default=0)
            del remaining[n]
    out: list[list[LockedPackage]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for name in sorted(level):
        out[level[name]].append(by_name[name])
    return out


def _cycle(remaining: dict[NormalizedName, LockedPackage]) -> str:
    """One cycle among packages none of which is ready (each has a dependency left)."""
    path: list[NormalizedName] = [min(remaining)]
    while True:
        nxt = min(d for d in remaining[path[-1]].depends if d in remaining)
        if nxt in path:
            return " -> ".join([*path[path.index(nxt):], nxt])
        path.append(nxt)


def _select(lock: Lockfile, target_ids: Sequence[str]) -> list[LockedTarget]:
    by_id = {t.id: t for t in lock.targets}
    missing = [t for t in target_ids if t not in by_id]
    if missing:
        raise ConfigError(f"the lock file has no target {', '.join(missing)}",
                          hint=f"it locks: {', '.join(by_id) or 'nothing'}")
    return [by_id[t] for t in dict.fromkeys(target_ids)] if target_ids else list(lock.targets)


def jobs(lock: Lockfile, *, target_ids: Sequence[str] = (), shards: int = 1) -> list[list[Job]]:
    """The jobs of each wave (waves of all selected targets aligned by number): each
    (wave, target) split into at most `shards` jobs, its packages dealt round-robin in name
    order, so shard sizes differ by at most one."""
    if shards < 1:
        raise ConfigError(f"--shards must be at least 1, not {shards}")
    per_target = [(t.id, waves(t)) for t in _select(lock, target_ids)]
    count = max((len(w) for _, w in per_target), default=0)
    out: list[list[Job]] = [[] for _ in range(count)]
    for target_id, target_waves in per_target:
        for k, packages in enumerate(target_waves):
            n = min(shards, len(packages))
            out[k] += [Job(wave=k, target=target_id, shard=s + 1,
                           packages=tuple(packages[s::n])) for s in range(n)]
    return out


def plan_json(plan: Sequence[Sequence[Job]], *, lock_path: str,
              lock_sha256: str) -> dict[str, object]:
    """`repack plan`'s output: the lock's sha256 (a CI job can check it builds the same file)
    and the jobs, wave by wave."""
    return {"lock": lock_sha256, "waves": [
        [{"id": j.id, "wave": j.wave, "target": j.target, "shard": j.shard,
          "projects": [f"{p.name}=={p.version}" for p in j.packages],
          "build": j.build(lock_path)} for j in wave] for wave in plan]}


def restrict(lock: Lockfile, only: Sequence[str]) -> Lockfile:
    """`build --lock --only NAME...`: the lock with only those packages in each target, their
    dependencies on the others dropped (built by earlier jobs).  ConfigError when a name is
    locked in no target."""
    wanted = {canonicalize_name(n) for n in only}
    locked = {p.name for t in lock.targets for p in t.packages}
    unknown = sorted(wanted - locked)
    if unknown:
        raise ConfigError(f"--only {', '.join(unknown)}: not in the lock file",
                          hint="`repack plan` lists the projects of each target")
    targets = tuple(dataclasses.replace(t, packages=tuple(
        dataclasses.replace(p, depends=tuple(d for d in p.depends if d in wanted))
        for p in t.packages if p.name in wanted)) for t in lock.targets)
    return dataclasses.replace(lock, targets=targets)
