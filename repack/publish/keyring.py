"""Keyring packages: the repository's keys and client file, delivered by apt and dnf.

Each transaction that signs (`publish`, `repo refresh|remove|prune`) renders, per apt
codename and per yum target of the tree, what a client of it needs, and when that changed
since the package last built (a key rotated or retired, another URL or name) builds it
anew, with the next version, and adds it to the same generation:

- Debian: `<name>-archive-keyring` (Architecture: all) with
  /usr/share/keyrings/<name>-archive-keyring.pgp (the binary keys the codename's clients
  verify) and /etc/apt/sources.list.d/<name>.sources (Signed-By that keyring).  The .sources
  is a conffile (DEBIAN/conffiles; dpkg-deb marks nothing by itself, debhelper would): dpkg
  replaces an unmodified conffile on upgrade and keeps (asks about) one the admin edited,
  and on a first install it does not overwrite a file already there (Debian Policy appendix
  "conffiles"): so the bootstrap source file must have another name (README).
- RPM: `<name>-release` (noarch) with one /etc/pki/rpm-gpg/RPM-GPG-KEY-<name>-<keyid> per
  key (rpm's parser reads one armored block per file: rpm issue #2041 and the --import
  loop "band-aid" for several keys in one file, so one key a file) and
  /etc/yum.repos.d/<name>.repo, `%config(noreplace)`, whose `gpgkey=` lists them all as
  file:// URLs (dnf's gpgkey is a list of URLs, separated by spaces; dnf imports a key
  from it when a package or repomd.xml.asc is signed by a key not yet imported).

The rpm is signed with the *oldest* key its target's clients verify: during a rotation
clients only hold the old key, and the package that brings them the new one must verify
with what they have (rpm v4 headers carry one signature).  Once the old key is retired,
repack.publish.yum.resign_yum re-signs it with the current one like every other rpm.

Versions are a counter per package (db/keyring.json), with the target's suffix:
`3~deb12`, `3-1.el9`: a changed key set is always an upgrade.  The packages are built
with the distributions' own tools, dpkg-deb and rpmbuild, in the target's builder image,
offline; everything in them is rendered here (no upstream input).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from repack import keys, log
from repack import targets as target_files
from repack.container import images
from repack.container.engine import Engine, Mount
from repack.errors import BuildError, ConfigError
from repack.files import write_file
from repack.gpg import Signer
from repack.model import Target
from repack.publish import apt, clients, security, yum
from repack.publish.tree import Stage
from repack.rpm.query import query

STATE = ("db", "keyring.json")
DEFAULT_MAINTAINER = "repack <repack@example.invalid>"
# a plain `Name <email>`: no control characters (a field of its own), no % (an rpm macro)
_UID = re.compile(r"[^<>\x00-\x1f\x7f,;%\"\\]+ <[^<>\s%\"\\,;]+@[^<>\s%\"\\,;]+>")
SOURCE_DATE_EPOCH = "1700000000"     # fixed file times: the same content, the same package


@dataclass(frozen=True, slots=True, kw_only=True)
class Builder:
    """Where keyring packages are built: the engine and the cache of builder images."""

    engine: Engine
    cache_dir: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    """One keyring package's content, before it has a version."""

    family: str                     # "deb" | "rpm"
    target: Target
    package: str
    files: Mapping[str, bytes]      # path without the leading / -> content
    config: tuple[str, ...]         # paths (with /) that are configuration files

    @property
    def key(self) -> str:
        """Its entry in db/keyring.json: one package per codename / yum target."""
        return f"{self.family}:{self.target.codename if self.family == 'deb' else self.target.id}"

    @property
    def digest(self) -> str:
        h = hashlib.sha256(self.package.encode() + b"\0")
        for path in sorted(self.files):
            h.update(path.encode() + b"\0" + hashlib.sha256(self.files[path]).digest())
        return h.hexdigest()


# -- rendering (pure) ----------------------------------------------------------------------

def deb_package_name(name: str) -> str:
    return f"{name}-archive-keyring"


def rpm_package_name(name: str) -> str:
    return f"{name}-release"


def keyring_path(name: str) -> str:
    return f"/usr/share/keyrings/{deb_package_name(name)}.pgp"


def rpm_key_path(name: str, fingerprint: str) -> str:
    return f"/etc/pki/rpm-gpg/RPM-GPG-KEY-{name}-{fingerprint[-16:].lower()}"


def render_deb(target: Target, *, name: str, url: str, suites: str,
               binary_keys: bytes) -> Rendered:
    """The archive-keyring package of one codename: the keyring and its .sources."""
    sources = clients.sources_text(name, url, [suites], keyring_path(name), hint=False)
    return Rendered(family="deb", target=target, package=deb_package_name(name),
                    files={keyring_path(name)[1:]: binary_keys,
                           f"etc/apt/sources.list.d/{name}.sources": sources.encode()},
                    config=(f"/etc/apt/sources.list.d/{name}.sources",))


def render_rpm(target: Target, *, name: str, url: str,
               armored: Sequence[tuple[str, bytes]]) -> Rendered:
    """The release package of one yum target: one key file per (fingerprint, armored key)
    and the .repo naming them all."""
    paths = [rpm_key_path(name, fpr) for fpr, _ in armored]
    repo = clients.repo_text(name, url, [target.id],
                             gpgkeys={target.id: " ".join(f"file://{p}" for p in paths)})
    files = {p[1:]: key for p, (_, key) in zip(paths, armored, strict=True)}
    files[f"etc/yum.repos.d/{name}.repo"] = repo.encode()
    return Rendered(family="rpm", target=target, package=rpm_package_name(name), files=files,
                    config=(f"/etc/yum.repos.d/{name}.repo",))


def deb_version(counter: int, target: Target) -> str:
    return f"{counter}{target.version_suffix}"


def rpm_release(target: Target) -> str:
    return f"1{target.version_suffix}"


def control_text(r: Rendered, version: str, maintainer: str, name: str) -> str:
    return (f"Package: {r.package}\nVersion: {version}\nArchitecture: all\n"
            f"Maintainer: {maintainer}\nSection: misc\nPriority: optional\n"
            "Multi-Arch: foreign\n"
            f"Description: {name} repository keys and apt source ({r.target.codename})\n"
            f" The OpenPGP keys that sign the {name} repository, in\n"
            f" {keyring_path(name)}, and the apt source that uses them.\n"
            " Upgrading it brings a rotated signing key before the old one is retired.\n")


def spec_text(r: Rendered, counter: int, maintainer: str, name: str) -> str:
    """A spec whose %install copies the rendered files from /build/src.  Nothing of the
    URL goes into it (rpm would expand a % in it as a macro): only into the .repo file."""
    install = "\n".join(f"install -D -m 0644 /build/src/{p} %{{buildroot}}/{p}"
                        for p in sorted(r.files))
    listed = "\n".join(f"%config(noreplace) /{p}" if f"/{p}" in r.config else f"/{p}"
                       for p in sorted(r.files))
    return (f"Name: {r.package}\nVersion: {counter}\nRelease: {rpm_release(r.target)}\n"
            f"Summary: {name} repository keys and dnf configuration\n"
            f"License: CC0-1.0\nBuildArch: noarch\nPackager: {maintainer}\n\n"
            f"%description\nThe OpenPGP keys that sign the {name} repository, under\n"
            f"/etc/pki/rpm-gpg, and the repository definition that uses them.\n"
            "Upgrading it brings a rotated signing key before the old one is retired.\n\n"
            "%prep\n\n%build\n\n"
            f"%install\n{install}\n\n%files\n{listed}\n")


def maintainer_of(uid: str) -> str:
    """The signing key's user id when it is a plain `Name <email>`, else repack's default."""
    return uid if _UID.fullmatch(uid) else DEFAULT_MAINTAINER


def bump(state: Mapping[str, object], r: Rendered) -> int | None:
    """The counter of the package to build now, None when its content did not change."""
    entry = state.get(r.key)
    if isinstance(entry, dict) and entry.get("digest") == r.digest:
        return None
    old = entry.get("version", 0) if isinstance(entry, dict) else 0
    return (old if isinstance(old, int) else 0) + 1


# -- building (in the builder image, offline) ----------------------------------------------

def _write_tree(root: Path, files: Mapping[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def build_deb(builder: Builder, r: Rendered, control: str, work: Path) -> Path:
    """dpkg-deb --build of the rendered tree; the .deb is checked to be what was asked."""
    tree = work / "pkg"
    _write_tree(tree, r.files)
    (tree / "DEBIAN").mkdir()
    (tree / "DEBIAN" / "control").write_text(control)
    (tree / "DEBIAN" / "conffiles").write_text("".join(f"{p}\n" for p in r.config))
    version = control.split("Version: ", 1)[1].split("\n", 1)[0]
    out = work / "out"
    out.mkdir()
    name = f"{r.package}_{version}_all.deb"
    image = images.ensure(builder.engine, images.image_for(r.target, "builder",
                                                           builder.cache_dir))
    with builder.engine.container(image.tag, mounts=[Mount(source=work, target="/work")]) as c:
        c.exec(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", "/work/pkg",
                f"/work/out/{name}"], env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
    deb = out / name
    rec = apt.deb_record(deb) if deb.is_file() else {}
    if (rec.get("Package"), rec.get("Version")) != (r.package, version):
        raise BuildError(f"dpkg-deb did not make {name}", project=r.package)
    return deb


def build_rpm(builder: Builder, r: Rendered, spec: str, work: Path, counter: int) -> Path:
    """rpmbuild -bb of the spec; the .rpm is checked to be what was asked."""
    _write_tree(work / "src", r.files)
    for d in ("BUILD", "RPMS", "SOURCES", "SPECS", "SRPMS"):
        (work / "rpmbuild" / d).mkdir(parents=True, exist_ok=True)
    (work / "keyring.spec").write_text(spec)
    image = images.ensure(builder.engine, images.image_for(r.target, "builder",
                                                           builder.cache_dir))
    with builder.engine.container(image.tag, mounts=[Mount(source=work, target="/build")]) as c:
        c.exec(["rpmbuild", "-bb", "--nodeps", "--define", "_topdir /build/rpmbuild",
                "--define", f"_buildhost {r.target.builder or r.target.id}",
                "--define", "use_source_date_epoch_as_buildtime 1",
                "--define", "clamp_mtime_to_source_date_epoch 1",
                "--define", "debug_package %{nil}", "/build/keyring.spec"],
               env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
    name = f"{r.package}-{counter}-{rpm_release(r.target)}.noarch.rpm"
    rpm = work / "rpmbuild" / "RPMS" / "noarch" / name
    found = query([rpm], "%{NAME} %{VERSION}\\n") if rpm.is_file() else []
    if found != [f"{r.package} {counter}"]:
        raise BuildError(f"rpmbuild did not make {name}", project=r.package)
    return rpm


# -- the transaction's step ----------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Inputs:
    """What the keyring packages are made of, from the transaction (publisher._finish)."""

    name: str
    url: str
    gnupghome: Path
    trusted_for: Callable[[str], list[str]]      # target id -> fingerprints, oldest first
    signer_for: Callable[[str], Signer]


def rendered(root: Path, inputs: Inputs) -> list[Rendered]:
    """The keyring packages the tree at root calls for: one per apt codename that a known
    deb target has, one per yum target."""
    known = {t: target_files.load(t) for t in target_files.available()}
    debs: dict[str, Target] = {}
    for t in known.values():
        if t.family == "deb":
            debs.setdefault(t.codename, t)
    url = inputs.url.rstrip("/")
    if not url or any(c.isspace() or not c.isprintable() for c in url):
        raise ConfigError(f"repository URL {url[:80]!r} must be one word without spaces or "
                          "control characters: it is written into the client files")
    out = []
    for codename in apt.codenames(root):
        if (target := debs.get(codename)) is None:
            continue
        fprs = inputs.trusted_for(target.id)
        # the transaction signs a -security suite for every codename (AptPublisher.sign)
        # after this step: the client lists it from the first generation on
        out.append(render_deb(target, name=inputs.name, url=url,
                              suites=f"{codename} {security.suite(codename)}",
                              binary_keys=keys.export(inputs.gnupghome, fprs, armor=False)))
    yum_dir = root / "yum"
    for tid in sorted(p.name for p in yum_dir.iterdir()) if yum_dir.is_dir() else []:
        if tid in known and known[tid].family == "rpm":
            armored = [(f, keys.export(inputs.gnupghome, [f])) for f in inputs.trusted_for(tid)]
            out.append(render_rpm(known[tid], name=inputs.name, url=url, armored=armored))
    return out


def _maintainer(inputs: Inputs, fprs: Sequence[str]) -> str:
    uids = {k.fingerprint: k.uid for k in keys.list_keys(inputs.gnupghome)}
    return maintainer_of(uids.get(fprs[-1], "") if fprs else "")


def update(stage: Stage, builder: Builder, inputs: Inputs) -> list[str]:
    """Build and add the keyring packages whose content changed; one line for each."""
    path = stage.root.joinpath(*STATE)
    state: dict[str, object] = json.loads(path.read_text()) if path.is_file() else {}
    added = []
    for r in rendered(stage.root, inputs):
        counter = bump(state, r)
        if counter is None:
            continue
        fprs = inputs.trusted_for(r.target.id)
        maintainer = _maintainer(inputs, fprs)
        with tempfile.TemporaryDirectory(prefix="repack-keyring-") as tmp:
            work = Path(tmp)
            if r.family == "deb":
                version = deb_version(counter, r.target)
                with log.step(f"{r.target.codename}: building {r.package} {version}"):
                    deb = build_deb(builder, r, control_text(r, version, maintainer,
                                                             inputs.name), work)
                    added += apt.add(stage, r.target.id, [deb])
            else:
                with log.step(f"{r.target.id}: building {r.package} {counter}"):
                    rpm = build_rpm(builder, r, spec_text(r, counter, maintainer,
                                                          inputs.name), work, counter)
                    added += _add_rpm(stage, r.target.id, rpm, inputs.signer_for(r.target.id),
                                      fprs)
        state[r.key] = {"digest": r.digest, "version": counter}
    if added:
        write_file(path, json.dumps(state, indent=2, sort_keys=True).encode())
        stage.changed = True
    return added


def _add_rpm(stage: Stage, target_id: str, rpm: Path, signer: Signer,
             trusted: Sequence[str]) -> list[str]:
    """Publish the release rpm signed by the oldest key its clients verify (see above);
    the metadata is then signed by every key that signs for the target."""
    oldest = signer.only([f for f in trusted if f in signer.fingerprints][:1] or
                         [signer.fingerprint])
    yum.publish_yum(stage.root, target_id, [rpm], oldest)
    repodata = stage.root / "yum" / target_id / "repodata"
    signer.detach_sign(repodata / "repomd.xml", repodata / "repomd.xml.asc", armor=True)
    return [f"{target_id}: {rpm.name}"]
