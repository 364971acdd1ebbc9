"""What a client needs: the public keys (keys/) and ready source files (client/).

apt gets a deb822 .sources with Signed-By (a keyring path, and a variant with the armored
keys inline), dnf a .repo with gpgcheck and repo_gpgcheck.  Both name every published
key, so a key rotation reaches clients before the old key is retired; except where a yum
target's clients cannot verify one of them (el9 and ed25519): its .repo then names
keys/<name>-<target>.asc, holding only the keys they can import.
"""

from __future__ import annotations

import json
from pathlib import Path

from repack.errors import ConfigError
from repack.publish import apt, security
from repack.publish.tree import current, write_file


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


def sources_text(name: str, url: str, codenames: list[str], signed_by: str) -> str:
    """One stanza per codename; an item may name several suites ("bookworm
    bookworm-security", see repack.publish.security)."""
    stanzas = [f"Types: deb\nURIs: {url}/apt\nSuites: {c}\nComponents: {apt.COMPONENT}\n"
               f"Signed-By: {signed_by}\n" for c in codenames]
    head = f"# {name}: signed packages built by repack.\n"
    if signed_by.startswith("/"):
        head += (f"# Install the keyring first:\n"
                 f"#   curl -fsSLo {signed_by} {url}/keys/{name}.gpg\n")
    return head + "\n".join(stanzas)


def inline_key(armored: bytes) -> str:
    """The armored keys as a deb822 multi-line value (blank lines become ' .')."""
    lines = armored.decode().strip().splitlines()
    return "\n" + "\n".join(f" {line}" if line.strip() else " ." for line in lines)


def repo_text(name: str, url: str, yum_targets: list[str],
              key_files: dict[str, str] | None = None) -> str:
    key_files = key_files or {}
    sections = [f"[{name}-{t}]\nname={name} ({t})\nbaseurl={url}/yum/{t}/\nenabled=1\n"
                f"gpgcheck=1\nrepo_gpgcheck=1\ngpgkey={url}/keys/{key_files.get(t, name + '.asc')}\n"
                for t in yum_targets]
    return f"# {name}: signed packages built by repack\n" + "\n".join(sections)


def write_clients(stage: Path, name: str, url: str, armored: bytes) -> None:
    client = stage / "client"
    codenames = [" ".join(security.apt_suites(stage, c)) for c in apt.codenames(stage)]
    yum_dir = stage / "yum"
    yum_targets = sorted(p.name for p in yum_dir.iterdir() if p.is_dir()) if yum_dir.is_dir() \
        else []
    for old in client.glob("*"):
        old.unlink()
    url = url.rstrip("/")
    if codenames:
        write_file(client / f"{name}.sources",
                   sources_text(name, url, codenames, f"/etc/apt/keyrings/{name}.gpg").encode())
        write_file(client / f"{name}-inline.sources",
                   sources_text(name, url, codenames, inline_key(armored)).encode())
    if yum_targets:
        write_file(client / f"{name}.repo", repo_text(
            name, url, yum_targets, _key_files(stage, name, yum_targets)).encode())


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
    codenames = [" ".join(security.apt_suites(live, c)) for c in apt.codenames(live)]
    if codenames:
        files[f"{name}.sources"] = sources_text(
            name, base, codenames, f"/etc/apt/keyrings/{name}.gpg").encode()
        files[f"{name}-inline.sources"] = sources_text(
            name, base, codenames, inline_key(armored)).encode()
    yum_dir = live / "yum"
    yum_targets = sorted(p.name for p in yum_dir.iterdir() if p.is_dir()) \
        if yum_dir.is_dir() else []
    if yum_targets:
        key_files = _key_files(live, name, yum_targets)
        for key_file in key_files.values():
            files[key_file] = (live / "keys" / key_file).read_bytes()
        files[f"{name}.repo"] = repo_text(name, base, yum_targets, key_files).encode()
    return files
