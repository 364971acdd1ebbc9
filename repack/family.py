"""A package family: what repack needs of one kind of distribution, by target.family.

Each family's folder holds its mapping, rendering and build (repack.deb, repack.rpm); its
`family` module is this protocol, so that the pipeline (repack.pipeline) and the dependency
resolution (repack.plan) ask FAMILIES[target.family] and never one family by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from packaging.requirements import Requirement
from packaging.utils import NormalizedName

from repack.context import Context
from repack.deb import family as deb_family
from repack.gpg import Signer
from repack.model import Project, Sdist, Target
from repack.rpm import family as rpm_family

__all__ = ["FAMILIES", "Family"]


class Family(Protocol):
    def provided(self, target: Target, ctx: Context) -> Callable[[Requirement], bool]:
        """Whether the target distribution already satisfies a requirement (then it is
        not built with --with-deps)."""
        ...

    def read_metadata(self, sdist: Sdist, target: Target, ctx: Context) -> bytes:
        """METADATA of an sdist whose PKG-INFO is dynamic, from the PEP 517 hook run in the
        target's offline builder (the sdist is accepted by the trust policy first)."""
        ...

    def lacking_build_requires(self, projects: Sequence[Project], target: Target,
                               ctx: Context, trees: Mapping[NormalizedName, Path],
                               ) -> dict[NormalizedName, list[Requirement]]:
        """The build requirements each project's build would fetch from the index as
        build-tool wheels, found as its build finds them (`trees`: each project's unpacked
        sdist, upstream's files, which no code of them runs)."""
        ...

    def warm(self, target: Target, ctx: Context) -> AbstractContextManager[None]:
        """What every build of the target waits for, started in the background for the
        body (a run, while it resolves and fetches) and stopped at its end if no build
        needed it (Debian: refreshing apt's lists)."""
        ...

    def build(self, sdist: Sdist, target: Target, ctx: Context) -> Path:
        """Build an accepted sdist; returns the build cache entry holding the checked
        artifacts (repack.buildcache)."""
        ...

    def render(self, sdist: Sdist, target: Target, ctx: Context, dest: Path) -> Path:
        """Write the generated packaging files under dest for review, without building."""
        ...

    def sign(self, paths: Sequence[Path], signer: Signer, target: Target) -> list[Path]:
        """Sign, of a build's files for the target, those this family signs one by one
        (with the keys the target's clients verify); returns the files (re)signed."""
        ...


FAMILIES: Mapping[str, Family] = {"deb": deb_family, "rpm": rpm_family}
