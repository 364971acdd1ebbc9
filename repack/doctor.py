"""`repack doctor`: every host tool repack drives, and what a missing one disables.

The builds themselves run in containers, so a host without rpm can still build rpms, but
cannot publish or inspect them.  The container engine is found as every build finds it
(repack.container.engine.probe).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from repack.container import engine
from repack.run import TOOL_PACKAGES

# Host tools and the commands each is needed for.
TOOLS: dict[str, str] = {
    "mmdebstrap": "build, render, lock, rebuild, image build (bootstrapping builder images)",
    "dpkg-deb": "build (checking the .debs), publish, explain, rebuild",
    "gpg": "key, sign, publish, repo refresh, trust add-key, build --sign",
    "gpgv": "publish, repo verify",
    "rpm": "publish and repo verify of yum repositories, rebuild of .rpm",
    "rpmsign": "sign and publish of .rpm",
    "rpm2archive": "explain of .rpm",
    "createrepo_c": "publish of .rpm (the yum metadata)",
}
ENGINE_USE = "build, render, lock, rebuild, image build (podman or docker)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkup:
    engine: str | None                    # the engine builds would use
    unanswered: tuple[str, ...]           # engine clients found whose engine does not answer
    tools: Mapping[str, str | None]       # each host tool of TOOLS -> its path, None: missing

    @property
    def missing(self) -> dict[str, str]:
        """Each missing tool (the engine as "podman") -> the commands it disables."""
        out = {"podman": ENGINE_USE} if self.engine is None else {}
        return out | {t: TOOLS[t] for t, path in self.tools.items() if path is None}

    @property
    def packages(self) -> list[str]:
        """The apt packages that install the missing tools."""
        return sorted({TOOL_PACKAGES.get(t, t) for t in self.missing})


def check() -> Checkup:
    found = engine.probe()
    return Checkup(engine=found.engine.name if found.engine else None,
                   unanswered=found.unanswered,
                   tools={tool: shutil.which(tool) for tool in TOOLS})
