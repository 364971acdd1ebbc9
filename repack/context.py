"""The per-run context every stage of a build gets: the settings, the container engine, the
HTTP session and index, where artifacts go, and what this run already learnt (its caches).

A leaf: it imports no stage, family or pipeline code, so that any of them can take a Context.
The caches live here rather than in module globals, so that one run (and one test) never sees
what another accepted or read: `repack build --with-deps` reads an sdist's dependencies and
accepts it under the trust policy once for the resolution and the build of every target.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from packaging.requirements import Requirement

from repack.buildreqs import ToolPin
from repack.config import Settings
from repack.container.engine import Engine
from repack.model import Sdist
from repack.trust.accept import AcceptKey

if TYPE_CHECKING:
    from repack.republish import Published

__all__ = ["Context"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    settings: Settings
    engine: Engine
    session: requests.Session
    index: str
    output_dir: Path
    planned: frozenset[str] = frozenset()   # projects this run builds too (--with-deps, --lock)
    fresh: bool = False                     # build again, never from the build cache (rebuild)
    # --lock: the build tools each (target id, project) may use; None: resolve freely
    tool_pins: Mapping[tuple[str, str], Sequence[ToolPin]] | None = None
    revision: int | None = None             # --revision N: every package is 0repackN
    against: Published | None = None        # --against REPO: the revision REPO calls for
    # What the trust policy accepted (repack.trust.accept), by file, verification and policy.
    accepted: MutableMapping[AcceptKey, Sdist] = field(default_factory=dict, compare=False,
                                                       repr=False)
    # Requires-Dist of each sdist by its sha256 (repack.plan.closure), for every target.
    requires: MutableMapping[str, tuple[Requirement, ...]] = field(
        default_factory=dict, compare=False, repr=False)
