"""What a client needs: the public keys (keys/) and ready source files (client/).

One file per release, so a client only ever sees the packages built for it: apt gets
client/<name>-<codename>.sources (deb822, Signed-By a keyring path; -inline.sources carries
the armored keys) with that codename's suites alone, dnf client/<name>-<target>.repo with
that target's baseurl alone (gpgcheck and repo_gpgcheck).  A combined file let a Debian 12
client install the trixie build, and dnf (best=True) fail on fedora-42 packages beside el9.
Each names every published key, so a key rotation reaches clients before the old key is
retired; except where a yum target's clients cannot verify one of them (el9 and ed25519):
its .repo then names keys/<name>-<target>.asc, holding only the keys they can import.
"""

from __future__ import annotations

import json
from pathlib import Path

from repack.errors import ConfigError
from repack.files import write_file
from repack.publish import apt, security
from repack.publish.tree import current


def target_key_name(name: str, target_id: str) -> str:
    return f"{name}-{target_id}.asc"


def write_keys(stage: Path, name: str, armored: bytes, binary: bytes,
               per_target: dict[str, bytes] | None = None) -> None:
    """keys/<name>.{asc,gpg}: every published key; keys/<name>-<target>.asc: the subset a
    yum target's clients verify, for the targets where that is not all of them."""
    per_target = per_target or {}
    wanted = {f"{name}.asc", f"{name}.gpg", *(target_key_name(name, t) for t in per_target)}
    keys = stage / "keys"
    for old in keys.glob("*"):
        if old.name not in wanted:
            old.unlink()
    write_file(keys / f"{name}.asc", armored)
    write_file(keys / f"{name}.gpg", binary)
    for t, data in per_target.items():
        write_file(keys / target_key_name(name, t), data)


def _key_files(root: Path, name: str, yum_targets: list[str]) -> dict[str, str]:
    return {t: target_key_name(name, t) for t in yum_targets
            if (root / "keys" / target_key_name(name, t)).is_file()}


def sources_text(name: str, url: str, codenames: list[str], signed_by: str, *,
                 hint: bool = True) -> str:
    """One stanza per codename; an item may name several suites ("bookworm
    bookworm-security", see repack.publish.security).  hint: say how to install the
    keyring file (not in the keyring package, which ships it)."""
    stanzas = [f"Types: deb\nURIs: {url}/apt\nSuites: {c}\nComponents: {apt.COMPONENT}\n"
               f"Signed-By: {signed_by}\n" for c in codenames]
    only = f" for {codenames[0].split()[0]} only" if len(codenames) == 1 else ""
    head = f"# {name}: signed packages built by repack{only}.\n"
    if signed_by.startswith("/") and hint:
        head += (f"# Install the keyring first:\n"
                 f"#   curl -fsSLo {signed_by} {url}/keys/{name}.gpg\n")
    return head + "\n".join(stanzas)


def inline_key(armored: bytes) -> str:
    """The armored keys as a deb822 multi-line value (blank lines become ' .')."""
    lines = armored.decode().strip().splitlines()
    return "\n" + "\n".join(f" {line}" if line.strip() else " ." for line in lines)


def repo_text(name: str, url: str, yum_targets: list[str],
              key_files: dict[str, str] | None = None, *,
              gpgkeys: dict[str, str] | None = None) -> str:
    """gpgkeys: a target's gpgkey= value instead of the served keys file (the release
    package's file:// URLs)."""
    key_files, gpgkeys = key_files or {}, gpgkeys or {}
    sections = [f"[{name}-{t}]\nname={name} ({t})\nbaseurl={url}/yum/{t}/\nenabled=1\n"
                f"gpgcheck=1\nrepo_gpgcheck=1\n"
                f"gpgkey={gpgkeys.get(t) or url + '/keys/' + key_files.get(t, name + '.asc')}\n"
                for t in yum_targets]
    only = f" for {yum_targets[0]} only" if len(yum_targets) == 1 else ""
    return f"# {name}: signed packages built by repack{only}\n" + "\n".join(sections)


def _yum_targets(root: Path) -> list[str]:
    yum = root / "yum"
    return sorted(p.name for p in yum.iterdir() if p.is_dir()) if yum.is_dir() else []


def sources_name(name: str, codename: str, *, inline: bool = False) -> str:
    return f"{name}-{codename}{'-inline' if inline else ''}.sources"


def repo_name(name: str, target_id: str) -> str:
    return f"{name}-{target_id}.repo"


def client_texts(root: Path, name: str, url: str, armored: bytes) -> dict[str, bytes]:
    """The source files of the tree at root for base URL url: one per apt codename (its
    suites only) and one per yum target (its baseurl only)."""
    url = url.rstrip("/")
    files: dict[str, bytes] = {}
    packaged = (root / "db" / "keyring.json").is_file()      # repack.publish.keyring
    for codename in apt.codenames(root):
        suites = [" ".join(security.apt_suites(root, codename))]
        files[sources_name(name, codename)] = sources_text(
            name, url, suites, f"/etc/apt/keyrings/{name}.gpg").encode()
        files[sources_name(name, codename, inline=True)] = (
            (bootstrap_note(name, "apt") if packaged else "")
            + sources_text(name, url, suites, inline_key(armored))).encode()
    yum_targets = _yum_targets(root)
    key_files = _key_files(root, name, yum_targets)
    for t in yum_targets:
        files[repo_name(name, t)] = ((bootstrap_note(name, "dnf") if packaged else "")
                                     + repo_text(name, url, [t], key_files)).encode()
    return files


def bootstrap_note(name: str, client: str) -> str:
    """The first lines of a client file when the repository publishes keyring packages:
    it only bootstraps them (the package ships the lasting one under another name)."""
    if client == "apt":
        return (f"# Bootstrap: save as /etc/apt/sources.list.d/{name}-bootstrap.sources,\n"
                f"# apt-get update && apt-get install {name}-archive-keyring, then delete it:\n"
                f"# the package's {name}.sources keeps the keys current.\n")
    return (f"# Bootstrap: dnf install {name}-release, then delete this file: the\n"
            f"# package's /etc/yum.repos.d/{name}.repo keeps the keys current.\n")


def write_clients(stage: Path, name: str, url: str, armored: bytes) -> None:
    client = stage / "client"
    for old in client.glob("*"):
        old.unlink()
    for fname, data in client_texts(stage, name, url, armored).items():
        write_file(client / fname, data)


def client_files(repo: Path, url: str | None = None) -> dict[str, bytes]:
    """The files a client needs (`repack repo client-config`), read from the live tree of
    REPO: source files for its base URL (default: the one it was published with) and the
    public keys.  Needs no signing key: nothing in the repository changes."""
    live = current(repo)
    if live is None:
        raise ConfigError(f"{repo}: not a repack repository (nothing published yet)",
                          hint="run `repack publish ARTIFACTS --repo REPO` first")
    stored = live / "db" / "repo.json"
    settings = json.loads(stored.read_text()) if stored.is_file() else {}
    name = str(settings.get("name") or "repack")
    base = (url or str(settings.get("url") or repo.resolve().as_uri())).rstrip("/")
    armored_path = live / "keys" / f"{name}.asc"
    if not armored_path.is_file():
        raise ConfigError(f"{repo}: keys/{name}.asc is missing",
                          hint="re-publish (e.g. `repack repo refresh`) to rewrite keys/")
    armored = armored_path.read_bytes()
    files = {f"{name}.asc": armored}
    if (live / "keys" / f"{name}.gpg").is_file():
        files[f"{name}.gpg"] = (live / "keys" / f"{name}.gpg").read_bytes()
    for key_file in _key_files(live, name, _yum_targets(live)).values():
        files[key_file] = (live / "keys" / key_file).read_bytes()
    files.update(client_texts(live, name, base, armored))
    return files
