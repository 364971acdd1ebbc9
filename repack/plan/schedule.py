"""Run jobs of a dependency graph in order, a few at a time, stopping at the first failure.

A job starts once every job it depends on has succeeded.  After a failure no new job
starts; the running ones finish (a build is never killed half-way), and the outcome says
what succeeded and what did not run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

from repack import log
from repack.errors import PlanFailed

__all__ = ["Outcome", "PlanFailed", "run_graph"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome(Generic[T]):
    done: dict[str, T]                               # in the order the jobs finished
    failed: tuple[tuple[str, BaseException], ...]     # (job, its error), first failure first
    not_run: tuple[str, ...]                         # never started, in the given order


def run_graph(order: Sequence[str], depends: Mapping[str, Sequence[str]],
              job: Callable[[str], T], *, jobs: int = 2) -> Outcome[T]:
    """Run `job(name)` for every name of `order` (dependencies first), at most `jobs` at
    once, each in a thread whose log lines start with ``[name]``."""
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    position = {name: i for i, name in enumerate(order)}
    waiting = {name: {d for d in depends.get(name, ()) if d in position} for name in order}
    ready = [n for n in order if not waiting[n]]
    done: dict[str, T] = {}
    failed: list[tuple[str, BaseException]] = []
    running: dict[Future[T], str] = {}

    def labelled(name: str) -> T:
        with log.prefix(name):
            return job(name)

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="repack-build") as pool:
        while True:
            while ready and not failed and len(running) < jobs:
                name = ready.pop(0)
                running[pool.submit(labelled, name)] = name
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: position[running[f]]):
                name = running.pop(future)
                error = future.exception()
                if error is not None:
                    failed.append((name, error))
                    continue
                done[name] = future.result()
                for other in order:
                    if name in waiting[other]:
                        waiting[other].discard(name)
                        if not waiting[other]:
                            ready.append(other)
                ready.sort(key=position.__getitem__)
    started = set(done) | {name for name, _ in failed}
    return Outcome(done=done, failed=tuple(failed),
                   not_run=tuple(n for n in order if n not in started))
