"""The mapping of Python packaging metadata (PEP 440 versions, PEP 508 markers, core
metadata fields) that both package families share; each family's naming module
(repack.deb.naming, repack.rpm.naming) turns the results into its own syntax."""

from __future__ import annotations

import re

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from repack.errors import MappingError
from repack.model import Project, Target

__all__ = ["HOMEPAGE_LABELS", "active", "check_requires_python", "homepage", "license_field",
           "strip_zeros"]

HOMEPAGE_LABELS = (("homepage", "home"), ("source", "sourcecode"))


def strip_zeros(release: tuple[int, ...]) -> str:
    """A release segment without its trailing zeros ("2.0.0" as "2"; one part stays)."""
    parts = list(release)
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return ".".join(map(str, parts))


def check_requires_python(requires_python: SpecifierSet | None, target: Target, *,
                          project: str | None = None) -> None:
    """MappingError unless Requires-Python admits the target's Python (python_full_version)
    and can be expressed as package relations (no arbitrary equality)."""
    if requires_python is None or not requires_python:
        return
    if any(s.operator == "===" for s in requires_python):
        raise MappingError(
            f"Requires-Python {str(requires_python)!r} uses arbitrary equality (===), which "
            f"cannot be mapped to {target.name} package relations",
            project=project,
        )
    if not requires_python.contains(target.python_full_version, prereleases=True):
        raise MappingError(
            f"Requires-Python {str(requires_python)!r} excludes Python "
            f"{target.python_full_version} of {target.name}",
            project=project,
            hint="choose an older release of the project or a newer target",
        )


def active(req: Requirement, target: Target, extra: str, project: str) -> bool:
    """Whether `req` applies on `target` with `extra` ("" for none); MappingError when its
    marker cannot be evaluated."""
    if req.marker is None:
        return True
    env = {**target.marker_environment, "extra": extra}
    try:
        return req.marker.evaluate(env)
    except (UndefinedComparison, UndefinedEnvironmentName, ValueError) as exc:
        msg = f"cannot evaluate marker of {str(req)!r}: {exc}"
        raise MappingError(msg, project=project) from exc


def homepage(project: Project) -> str | None:
    """The project's home page: Home-page, else a Project-URL labelled home or source."""
    def ok(url: str | None) -> bool:
        return url is not None and re.fullmatch(r"https?://\S+", url.strip()) is not None

    if project.home_page is not None and ok(project.home_page):
        return project.home_page.strip()
    for labels in HOMEPAGE_LABELS:
        for label, url in project.project_urls:
            if "".join(c for c in label.lower() if c.isalnum()) in labels and ok(url):
                return url.strip()
    return None


def license_field(project: Project) -> str:
    """A one-line license (expression or short text) for the package's license field."""
    for text in (project.license_expression, project.license):
        text = (text or "").strip()
        if text and "\n" not in text and len(text) <= 200:
            return text
    return "UNKNOWN"
