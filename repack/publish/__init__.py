"""Publishing signed repositories: one tree that serves apt and dnf clients.

Layout of REPO (what clients and web servers see)::

    REPO/apt     -> .repack/current/apt      dists/<codename>/..., pool/main/...
    REPO/yum     -> .repack/current/yum      <target_id>/{*.rpm, repodata/}
    REPO/keys    -> .repack/current/keys     <name>.asc, <name>.gpg (all published keys)
    REPO/client  -> .repack/current/client   <name>.sources, <name>.repo
    REPO/.repack/current -> gen-000042       swapped by one atomic symlink rename
    REPO/.repack/pool                        the apt pool, shared by every generation
                                             (gen-N/apt/pool -> ../../pool)
    REPO/.repack/lock                        fcntl lock: one publisher at a time

A publish (repack.publish.tree.transaction) takes the lock, hard-links the current
generation's metadata and rpms into a staging directory (the apt pool is shared, not
copied: see repack.publish.tree), lets each family's publisher update the staged copy,
writes keys/ and client/, then renames the staging directory to gen-N and swaps
``current``.  A reader sees the old tree or the new one; a publisher killed at any point
leaves ``current`` whole, and the next publish deletes the leftovers.

Contract for a family publisher (the "rpm" one lives in repack/publish/yum.py)::

    def publish_yum(stage_root: Path, target_id: str, rpms: Sequence[Path],
                    signer: Signer) -> list[str]
        Add `rpms` (already checked to exist; signing them with rpmsign is the yum
        side's job) to stage_root/"yum"/target_id/ in place and rewrite its signed
        repodata.  stage_root is the staged generation (not yet visible).  Returns the
        file names of the rpms that went into updateinfo.xml as security updates.
        RULE: files in the stage are HARD LINKS shared with the live generation: never
        modify an existing file in place (no open(..., "w"/"a"), no rpmsign --addsign
        on a staged file); write a new file and os.replace() it over the old name, or
        unlink first.  Raise repack.errors.IntegrityError for a different file under an
        existing name.
    def verify_yum(root: Path, keyring: Path | None = None) -> list[str]   (optional)
        root is REPO (the served tree); one problem per string, [] when clean.
    def remove_yum(stage_root: Path, target_id: str, package: str, version: str | None,
                   signer: Signer) -> int          (optional; `repack repo remove`)
    def prune_yum(stage_root: Path, target_id: str, keep: int, signer: Signer) -> int
        (optional; `repack repo prune`) both return how many packages went.
    def removal(repo: Path, package: str, version: str | None) -> list[Listed]
    def remove_listed(repo: Path, doomed: Sequence[Listed], signer: Signer) -> int
        (optional; `repo remove [-t TARGET] [--dry-run]`: what goes, binaries and the
        source rpms only they came from, then unlink it and re-sign; repo is
        stage_root/"yum"/target_id, or the live tree's for a dry run)

Publishers are found by family in PUBLISHERS (below); the yum module registers itself
when imported, or is imported lazily here.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from repack.gpg import Signer


class FamilyPublisher(Protocol):
    """Adds one target's artifacts of one family to the staged tree."""

    def __call__(self, stage_root: Path, target_id: str, files: Sequence[Path],
                 signer: Signer) -> list[str]: ...


PUBLISHERS: dict[str, FamilyPublisher] = {}


def register(family: str, publisher: FamilyPublisher) -> None:
    PUBLISHERS[family] = publisher


def publisher_for(family: str) -> FamilyPublisher | None:
    """The publisher of a family; "rpm" comes from repack.publish.yum when it exists."""
    if family not in PUBLISHERS:
        module = {"deb": "repack.publish.apt", "rpm": "repack.publish.yum"}.get(family)
        if module is None:
            return None
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            return None
        func = getattr(mod, "publish_apt" if family == "deb" else "publish_yum", None)
        if func is None:
            return None
        PUBLISHERS.setdefault(family, func)
    return PUBLISHERS[family]


def optional_hook(module: str, name: str) -> object | None:
    """A function of an optional module (e.g. repack.publish.yum.verify_yum), or None."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        return None
    return getattr(mod, name, None)
