"""The yum side of a repository: REPO/yum/<target>/{*.rpm, repodata/}.

publish_yum copies rpms into a staged target directory (signing the copies our key has
not signed; a different package under a published name is refused) and adds them to the
metadata: spliced into the old primary/filelists/other (repack.publish.repodata), so
only the new rpms are read, else `createrepo_c --update --skip-stat`, which reuses the
old metadata of every file still there (repack never replaces a published file, so names
are enough).  The previous generation's metadata stays in repodata/ (its file names carry
their checksums), so a client that fetched the old repomd.xml still finds what it names.
repomd.xml.asc is an armored detached signature, checked by dnf with repo_gpgcheck=1.
verify_yum checks a tree as dnf would; remove_yum and prune_yum drop packages.

Files in a stage are hard links shared with the live generation: nothing here writes an
existing file in place; new files are written beside and renamed, old ones unlinked.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from repack import log, run
from repack.digest import file_digest
from repack.errors import ConfigError, IntegrityError, SpliceUnsupported
from repack.gpg import Signer
from repack.publish import channels, security
from repack.publish import repodata as repodata_splice
from repack.revision import next_free_hint
from repack.rpm.query import query
from repack.rpm.sign import (
    armored_keys,
    check_rpms,
    check_signed,
    rpm_check_armored,
    sign_rpm,
)
from repack.rpm.vercmp import EVR

REPO_NS = "{http://linux.duke.edu/metadata/repo}"
COMMON_NS = "{http://linux.duke.edu/metadata/common}"
RPM_NS = "{http://linux.duke.edu/metadata/rpm}"
_TARGET = re.compile(r"[a-z0-9][a-z0-9.+_-]*")
_RPM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~^-]*\.rpm")
# the header digest and signatures, then what repack.publish.security reads of a package
_QUERY = "%{SHA256HEADER}|%{RSAHEADER:pgpsig}|%{DSAHEADER:pgpsig}|" + security.ID_QUERY


@dataclass(frozen=True, slots=True, kw_only=True)
class RpmHead:
    """What identifies a package regardless of its signature, and who signed it."""

    header_sha256: str
    key_id: str | None   # the signer's 64-bit key id, lower case
    ident: security.RpmId | None = None    # name, EVR, arch, source rpm


def _key_id(sig: str) -> str | None:
    match = re.search(r"Key ID ([0-9a-fA-F]{16})", sig)
    return match.group(1).lower() if match else None


def read_heads(paths: Sequence[Path]) -> list[RpmHead]:
    """Header digest, signer and RpmId of each file; remembered by file identity (publish
    reads the new rpms' heads in its checks, the yum add looks them up: one rpm run)."""
    keys = [_identity(p) for p in paths]
    known = [None if k is None else _HEADS.get(k) for k in keys]
    unread = [p for p, h in zip(paths, known, strict=True) if h is None]
    fresh = dict(zip(unread, _query_heads(unread), strict=True))
    heads = [h if h is not None else fresh[p] for p, h in zip(paths, known, strict=True)]
    if len(_HEADS) > _HEADS_MAX:
        _HEADS.clear()
    _HEADS.update({k: h for k, h in zip(keys, heads, strict=True) if k is not None})
    return heads


_HEADS: dict[tuple[str, int, int, int, int], RpmHead] = {}
_HEADS_MAX = 100_000


def _identity(path: Path) -> tuple[str, int, int, int, int] | None:
    """A file as it is now: files are replaced, never modified, so a new content is a new
    inode (and a different size or time)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _query_heads(paths: Sequence[Path]) -> list[RpmHead]:
    lines = query(paths, _QUERY)
    heads = []
    for line, path in zip(lines, paths, strict=True):
        digest, rsa, dsa, ident = line.split("|", 3)
        heads.append(RpmHead(header_sha256=digest, key_id=_key_id(rsa) or _key_id(dsa),
                             ident=security.rpm_id(ident, path.name)))
    return heads


def _check_names(target_id: str, rpms: Sequence[Path]) -> None:
    if not _TARGET.fullmatch(target_id):
        raise ConfigError(f"{target_id!r} is not a valid target id for a yum repository")
    for rpm in rpms:
        if not _RPM_NAME.fullmatch(rpm.name):
            raise ConfigError(f"{rpm.name}: not a publishable .rpm file name")


def _place(repo: Path, rpms: Sequence[Path], signer: Signer,
           verified: Collection[Path] | None) -> tuple[list[Path], dict[str, security.RpmId]]:
    """Copy new rpms in (signing copies that our key has not signed); refuse a different
    package under a published name; return the files added, and the RpmId of each by file
    name (read with the rest of its header)."""
    heads = dict(zip(rpms, read_heads(rpms), strict=True))
    published = [repo / p.name for p in dict.fromkeys(rpms) if (repo / p.name).is_file()]
    known = {p.name: h for p, h in zip(published, read_heads(published), strict=True)}
    key_id = signer.fingerprint[-16:].lower()
    claimed = [p for p, h in heads.items() if h.key_id == key_id and p.name not in known]
    # a key id alone can be forged; rpm checks the key (here, or before the transaction)
    ours = verified_by(claimed, signer) if verified is None else \
        {p for p in claimed if p in verified}
    added: list[Path] = []
    unsigned: list[tuple[Path, Path]] = []       # (copied in under a temporary name, dest)
    try:
        for src, head in heads.items():
            old = known.get(src.name)
            if old is not None:
                if old.header_sha256 != head.header_sha256:
                    raise IntegrityError(f"{src.name}: a different package is already "
                                         "published under this name",
                                         hint=next_free_hint(src.name, os.listdir(repo)))
                log.debug(f"{src.name}: already published")
                continue
            dest = repo / src.name
            tmp = repo / f".{src.name}.tmp-{os.getpid()}"
            shutil.copyfile(src, tmp)     # not copy2: the mtime is when it was published
            if src in ours:
                os.replace(tmp, dest)
            else:
                unsigned.append((tmp, dest))
            known[src.name] = head
            added.append(dest)
        # one rpmsign (and gpg) per file, so they run side by side
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for _ in pool.map(lambda t: sign_rpm(t, signer, check=False),
                              [tmp for tmp, _ in unsigned]):
                pass
        for tmp, dest in unsigned:
            os.replace(tmp, dest)
    finally:
        for tmp, _ in unsigned:
            tmp.unlink(missing_ok=True)
    signed = [dest for _, dest in unsigned]
    check_signed(signed, signer)     # in the stage, not live: a bad one fails the publish
    return added, {p.name: h.ident for p, h in heads.items() if h.ident is not None}


def verified_by(rpms: Sequence[Path], signer: Signer) -> set[Path]:
    """The rpms whose signature rpm verifies with the signer's public key (rpm -K)."""
    if not rpms:
        return set()
    checked = rpm_check_armored(rpms, signer.export_public(armor=True))
    return {p for p, why in checked.items() if why is None}


def _referenced(repodata: Path) -> set[str]:
    """The file names repodata/repomd.xml points at (empty when there is none)."""
    repomd = repodata / "repomd.xml"
    if not repomd.is_file():
        return set()
    root = ET.parse(repomd).getroot()
    return {Path(loc.attrib["href"]).name for loc in root.iter(f"{REPO_NS}location")}


def write_repodata(repo: Path, signer: Signer, added: Sequence[Path] = (), *,
                   reread: bool = False) -> list[str]:
    """Rewrite repo/repodata and sign it; returns the rpms that were read.

    Added packages are spliced into the old metadata (repack.publish.repodata); otherwise
    `createrepo_c --update --skip-stat` reuses the old metadata of every file still there;
    reread=True (rpms re-signed in place: new checksums and header ranges) reads them all.
    """
    repodata = repo / "repodata"
    shutil.rmtree(repo / ".repodata", ignore_errors=True)   # a killed createrepo_c's work dir
    previous = _referenced(repodata)
    read: list[str] | None = None
    if added and previous and not reread:
        try:
            read = repodata_splice.append(repo, added)
        except SpliceUnsupported as e:
            log.debug(f"{repo.name}: createrepo_c --update, since {e}")
    if read is None:
        with tempfile.TemporaryDirectory(prefix="repack-createrepo-") as tmp:
            read_list = Path(tmp) / "read"
            update = [] if reread else ["--update", "--skip-stat"]
            run.run(["createrepo_c", *update, "--no-database",
                     "--general-compress-type", "gz", "--retain-old-md", "1",
                     "--read-pkgs-list", read_list, repo])
            read = read_list.read_text().split() if read_list.is_file() else []
    security.write_updateinfo(repo)          # updateinfo.xml of the security updates
    keep = _referenced(repodata) | previous | {"repomd.xml"}
    for f in repodata.iterdir():
        if f.name not in keep:
            f.unlink()
    signer.detach_sign(repodata / "repomd.xml", repodata / "repomd.xml.asc", armor=True)
    return read


def publish_yum(stage_root: Path, target_id: str, rpms: Sequence[Path],
                signer: Signer, channel: str | None = None, *,
                verified: Collection[Path] | None = None) -> list[str]:
    """Add rpms to stage_root/yum/<target_id>/ (another channel: yum/<target>_<channel>/,
    repack.publish.channels; several versions side by side); the names of those that are
    security updates (repack.publish.security).  verified: the rpms verified_by(signer)
    already (the caller ran rpm -K beside its other checks); None: check them here."""
    return add_rpms(stage_root, target_id, rpms, signer, channel, verified=verified).updates


@dataclass(frozen=True, slots=True, kw_only=True)
class Added:
    """What add_rpms did: the security updates among the rpms, and whether the target
    directory changed at all (a file added or its metadata written)."""

    updates: list[str]
    changed: bool


def add_rpms(stage_root: Path, target_id: str, rpms: Sequence[Path],
             signer: Signer, channel: str | None = None, *,
             verified: Collection[Path] | None = None) -> Added:
    """publish_yum, telling whether anything changed (without a scan of 10,000 files
    before and after)."""
    _check_names(target_id, rpms)
    dirname = channels.yum_dir(target_id, channel)
    repo = stage_root / "yum" / dirname
    repo.mkdir(parents=True, exist_ok=True)
    added, ids = _place(repo, rpms, signer, verified)
    updates = security.note_yum(stage_root, dirname, added, ids=ids)
    changed = bool(added) or not (repo / "repodata" / "repomd.xml.asc").is_file()
    if changed:
        write_repodata(repo, signer, added)
    return Added(updates=updates, changed=changed)


def promote_yum(stage_root: Path, source: str, dest: str, picked: Sequence[Listed],
                signer: Signer) -> list[str]:
    """Hard-link the rpms `picked` from yum/<source>/ into yum/<dest>/ (the very files,
    signatures and all) and rewrite dest's signed metadata; the names of those that were
    new.  The same name with other content in dest is an IntegrityError."""
    src, repo = stage_root / "yum" / source, stage_root / "yum" / dest
    repo.mkdir(parents=True, exist_ok=True)
    added = []
    for pkg in picked:
        there = _inside(src, pkg.href)
        here = repo / there.name
        if here.exists():
            if file_digest(here, "sha256") != file_digest(there, "sha256"):
                raise IntegrityError(f"{dest}: {there.name} is already published with "
                                     "different content; refusing to overwrite it")
            continue
        os.link(there, here)      # a new name for the same file: nothing is modified
        added.append(here)
    if added:
        security.note_yum(stage_root, dest, added)
        write_repodata(repo, signer, added)
    return [p.name for p in added]


def resign_yum(stage_root: Path, target_id: str, signer: Signer,
               trusted: Sequence[str]) -> list[str]:
    """After the published keys changed (a key rotated or retired): re-sign, with the
    signer's first key, every rpm of the target not signed by one of the `trusted`
    fingerprints (the keys its clients are given), then rewrite and re-sign the metadata,
    so that no signature in the tree needs a key clients no longer get.  Returns the names
    of the re-signed rpms."""
    repo = stage_root / "yum" / target_id
    if not (repo / "repodata" / "repomd.xml").is_file():
        return []
    rpms = sorted(repo.glob("*.rpm"))
    ids = {f[-16:].lower() for f in trusted}
    stale = [p for p, h in zip(rpms, read_heads(rpms), strict=True) if h.key_id not in ids]
    for path in stale:
        tmp = repo / f".{path.name}.tmp-{os.getpid()}"
        try:
            shutil.copy2(path, tmp)        # a copy: the staged file is shared with live
            sign_rpm(tmp, signer, check=False, replace=True)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    check_signed(stale, signer)      # in the stage, not live: a bad one fails the command
    if stale:
        write_repodata(repo, signer, reread=True)
    else:
        signer.detach_sign(repo / "repodata" / "repomd.xml",
                           repo / "repodata" / "repomd.xml.asc", armor=True)
    return [p.name for p in stale]


@dataclass(frozen=True, slots=True, kw_only=True)
class Listed:
    """One package as the primary metadata lists it."""

    name: str
    arch: str
    epoch: str
    ver: str
    rel: str
    href: str
    checksum_type: str
    checksum: str
    sourcerpm: str = ""          # the .src.rpm file name a binary came from ("" for a source)

    def matches(self, package: str, version: str | None) -> bool:
        evrs = (self.ver, f"{self.ver}-{self.rel}", f"{self.epoch}:{self.ver}-{self.rel}")
        return self.name == package and (version is None or version in evrs)


def _listed(pkg: ET.Element) -> Listed:
    ver = pkg.find(f"{COMMON_NS}version")
    loc = pkg.find(f"{COMMON_NS}location")
    checksum = pkg.find(f"{COMMON_NS}checksum")
    attrs = ver.attrib if ver is not None else {}
    return Listed(name=pkg.findtext(f"{COMMON_NS}name", ""),
                  arch=pkg.findtext(f"{COMMON_NS}arch", ""),
                  epoch=attrs.get("epoch", "0"), ver=attrs.get("ver", ""),
                  rel=attrs.get("rel", ""),
                  href=loc.attrib.get("href", "") if loc is not None else "",
                  checksum_type=checksum.attrib.get("type", "") if checksum is not None else "",
                  checksum=(checksum.text or "") if checksum is not None else "",
                  sourcerpm=pkg.findtext(f"{COMMON_NS}format/{RPM_NS}sourcerpm", "") or "")


def packages(repo: Path) -> Iterator[Listed]:
    """The packages of repo's primary metadata, streamed."""
    repomd = ET.parse(repo / "repodata" / "repomd.xml").getroot()
    for data in repomd.iter(f"{REPO_NS}data"):
        href = data.find(f"{REPO_NS}location")
        if data.attrib.get("type") == "primary" and href is not None:
            with _open_metadata(_inside(repo, href.attrib["href"])) as fh:
                for _, elem in ET.iterparse(fh):
                    if elem.tag == f"{COMMON_NS}package":
                        yield _listed(elem)
                        elem.clear()
            return


def _unlink_and_rewrite(repo: Path, doomed: Sequence[Listed], signer: Signer) -> int:
    for pkg in doomed:
        _inside(repo, pkg.href).unlink(missing_ok=True)
    if doomed:
        write_repodata(repo, signer)
    return len(doomed)


def removal(repo: Path, package: str, version: str | None) -> list[Listed]:
    """What `repo remove PACKAGE[=VERSION]` drops from one target (REPO/yum/<target>):
    the matching rpms (VER, VER-REL or EPOCH:VER-REL), and the source rpms that only they
    came from.  Reads, changes nothing."""
    if not (repo / "repodata" / "repomd.xml").is_file():
        return []
    listed = list(packages(repo))
    binaries = [p for p in listed if p.arch != "src" and p.matches(package, version)]
    still = {p.sourcerpm for p in listed if p.arch != "src" and p not in binaries}
    wanted = {p.sourcerpm for p in binaries} - still
    sources = [p for p in listed if p.arch == "src"
               and (p.matches(package, version) or Path(p.href).name in wanted)]
    return binaries + sources


def remove_listed(repo: Path, doomed: Sequence[Listed], signer: Signer) -> int:
    """Unlink `doomed` (from `removal`) and rewrite and re-sign the metadata."""
    return _unlink_and_rewrite(repo, doomed, signer)


def remove_yum(stage_root: Path, target_id: str, package: str, version: str | None,
               signer: Signer | None = None) -> int:
    """Drop a package (all versions, or VER, VER-REL or EPOCH:VER-REL) and the source rpms
    only it came from from a target and re-sign its metadata; returns how many rpms went."""
    repo = stage_root / "yum" / target_id
    doomed = removal(repo, package, version)
    if not doomed:
        return 0
    if signer is None:
        raise ConfigError(f"{package}: removing it from {target_id} needs the signing key")
    return _unlink_and_rewrite(repo, doomed, signer)


def prune_yum(stage_root: Path, target_id: str, keep: int, signer: Signer) -> int:
    """Keep the newest `keep` versions of each package name and arch (rpm's ordering)."""
    repo = stage_root / "yum" / target_id
    if keep < 1 or not (repo / "repodata" / "repomd.xml").is_file():
        return 0
    groups: dict[tuple[str, str], list[Listed]] = {}
    for pkg in packages(repo):
        groups.setdefault((pkg.name, pkg.arch), []).append(pkg)
    doomed = []
    for pkgs in groups.values():
        pkgs.sort(key=lambda p: EVR(epoch=p.epoch, version=p.ver, release=p.rel),
                  reverse=True)
        doomed += pkgs[keep:]
    return _unlink_and_rewrite(repo, doomed, signer)


# ---- verification, as a client sees the tree ---------------------------------------------

def _inside(repo: Path, href: str) -> Path:
    """repo/href, refused (IntegrityError) when href is absolute, has a `..` or leads out."""
    path = (repo / href).resolve()
    if href.startswith("/") or ".." in href.split("/") or not path.is_relative_to(repo.resolve()):
        raise IntegrityError(f"{repo.name}: metadata points outside the repository: {href}")
    return path


def _open_metadata(path: Path) -> gzip.GzipFile | lzma.LZMAFile | bz2.BZ2File:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.name.endswith(".xz"):
        return lzma.open(path, "rb")
    if path.name.endswith(".bz2"):
        return bz2.open(path, "rb")
    raise IntegrityError(f"{path.name}: metadata compression not supported by repack verify")


def _digest(path: Path, algo: str) -> str:
    """A file's digest by the algorithm its metadata names ("sha" is rpm's sha1)."""
    return file_digest(path, {"sha": "sha1"}.get(algo, algo))


def _gpgv(repodata: Path, binary_keyring: Path) -> list[str]:
    where = f"{repodata.parent.name}/repodata/repomd.xml"
    sig = repodata / "repomd.xml.asc"
    if not sig.is_file():
        return [f"{where}: not signed (no repomd.xml.asc)"]
    with tempfile.TemporaryDirectory(prefix="repack-gpgv-") as home:
        out = run.run(["gpgv", "--homedir", home, "--status-fd", "1", "--keyring",
                       binary_keyring, sig, repodata / "repomd.xml"], check=False)
    status = [line.split()[1] for line in out.stdout.decode(errors="replace").splitlines()
              if line.startswith("[GNUPG:] ") and len(line.split()) > 1]
    bad = [s for s in status if s in ("BADSIG", "EXPKEYSIG", "EXPSIG", "REVKEYSIG")]
    if bad or "VALIDSIG" not in status:
        why = ", ".join(bad) or ("no signature by a known key" if "ERRSIG" in status
                                 else "no valid signature")
        return [f"{where}: signature check failed ({why})"]
    return []


def _verify_repodata(repo: Path) -> list[str]:
    problems = []
    try:
        repomd = ET.parse(repo / "repodata" / "repomd.xml").getroot()
    except ET.ParseError as e:
        return [f"{repo.name}/repodata/repomd.xml: not valid XML ({e})"]
    for data in repomd.iter(f"{REPO_NS}data"):
        loc, checksum = data.find(f"{REPO_NS}location"), data.find(f"{REPO_NS}checksum")
        if loc is None or checksum is None:
            problems.append(f"{repo.name}: repomd.xml entry {data.attrib.get('type')} "
                            f"lacks a location or checksum")
            continue
        path = _inside(repo, loc.attrib["href"])
        if not path.is_file():
            problems.append(f"{repo.name}/{loc.attrib['href']}: missing")
        elif _digest(path, checksum.attrib.get("type", "sha256")) != (checksum.text or ""):
            problems.append(f"{repo.name}/{loc.attrib['href']}: checksum does not match "
                            f"repomd.xml")
    return problems


def _verify_packages(repo: Path) -> tuple[list[str], list[Path]]:
    problems, listed = [], []
    for pkg in packages(repo):
        if not pkg.href or not pkg.checksum:
            problems.append(f"{repo.name}: primary entry {pkg.name} lacks a location or "
                            f"checksum")
            continue
        path = _inside(repo, pkg.href)
        listed.append(path)
        if not path.is_file():
            problems.append(f"{repo.name}/{pkg.href}: listed in primary but missing")
        elif _digest(path, pkg.checksum_type or "sha256") != pkg.checksum:
            problems.append(f"{repo.name}/{pkg.href}: checksum does not match primary")
    stray = sorted({p.resolve() for p in repo.rglob("*.rpm")} - set(listed))
    problems += [f"{repo.name}/{p.name}: not in the metadata" for p in stray]
    return problems, [p for p in listed if p.is_file()]


def verify_target(repo: Path, keyring: Path) -> list[str]:
    """Every check a dnf client makes on one target directory, plus stray files."""
    if not (repo / "repodata" / "repomd.xml").is_file():
        return [f"{repo.name}: no repodata/repomd.xml"]
    with tempfile.TemporaryDirectory(prefix="repack-verify-") as tmp:
        binary = Path(tmp) / "keyring.gpg"
        armored = Path(tmp) / "keys.asc"
        armored.write_bytes(armored_keys(keyring))
        run.run(["gpg", "--homedir", tmp, "--batch", "--quiet", "--no-default-keyring",
                 "--keyring", binary, "--import", armored])
        problems = _gpgv(repo / "repodata", binary)
        try:
            problems += _verify_repodata(repo)
            more, rpms = _verify_packages(repo)
        except IntegrityError as e:
            return [*problems, str(e)]
        except (ET.ParseError, OSError, EOFError, lzma.LZMAError) as e:
            return [*problems, f"{repo.name}: cannot read the primary metadata ({e})"]
        problems += more
        problems += [f"{repo.name}/{p}" for p in check_rpms(rpms, armored)]
    return problems


def verify_yum(repo_root: Path, keyring: Path | None = None) -> list[str]:
    """Check every REPO/yum/<target>/; keyring defaults to the keys REPO/keys/ publishes
    (give the key you trust from elsewhere to check the tree's own keys too)."""
    yum = repo_root / "yum"
    if not yum.is_dir():
        return []
    with tempfile.TemporaryDirectory(prefix="repack-keys-") as tmp:
        if keyring is None:
            found = sorted((repo_root / "keys").glob("*.asc"))
            if not found:
                return [f"{repo_root / 'keys'}: no public key to check the yum metadata with"]
            keyring = Path(tmp) / "keys.asc"
            keyring.write_bytes(b"\n".join(p.read_bytes() for p in found))
        problems = []
        for repo in sorted(p for p in yum.iterdir() if p.is_dir()):
            problems += [f"yum/{p}" for p in verify_target(repo, keyring)]
    return problems
