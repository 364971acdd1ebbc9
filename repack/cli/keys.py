"""`repack key ...`: the repository signing keys in repack's own GnuPG home."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from repack import config, keys, log, publishing
from repack.cli.options import common, key_options, new_key_options
from repack.gpg import read_passphrase


@click.group()
def key() -> None:
    """Manage the repository signing keys (repack's own GnuPG home)."""


@key.command("generate")
@new_key_options
@key_options
@common
def key_generate(*, name: str, email: str, algorithm: keys.Algorithm, expire: str,
                 no_passphrase: bool, gnupghome: Path | None, passphrase_file: Path | None,
                 settings: config.Settings) -> None:
    """Create a signing key (published if it is the first), protected by the given
    passphrase unless --no-passphrase."""
    passphrase = publishing.new_key_passphrase(passphrase_file, no_passphrase)
    click.echo(keys.generate(publishing.home(gnupghome, settings.publish), name=name,
                             email=email, algorithm=algorithm, expire=expire,
                             passphrase=passphrase))


@key.command("rotate")
@new_key_options
@key_options
@common
def key_rotate(*, name: str, email: str, algorithm: keys.Algorithm, expire: str,
               no_passphrase: bool, gnupghome: Path | None, passphrase_file: Path | None,
               settings: config.Settings) -> None:
    """Add a new key beside the current ones: the next publish signs with both and
    ships both to clients; `repack key retire OLD` once clients have moved."""
    passphrase = publishing.new_key_passphrase(passphrase_file, no_passphrase)
    click.echo(keys.rotate(publishing.home(gnupghome, settings.publish), name=name,
                           email=email, algorithm=algorithm, expire=expire,
                           passphrase=passphrase))
    if settings.publish.keyring_packages:
        log.info("the next publish or `repack repo refresh` signs with both keys and ships "
                 "them in the keyring packages: clients get the new key with their next "
                 "upgrade; `repack key retire OLD` once they have")
    else:
        log.warn("clients do not get the new key by themselves: the next publish or `repack "
                 "repo refresh` puts both keys in keys/ and the client files, which clients "
                 "must fetch again before `repack key retire OLD`; with [publish] "
                 "keyring-packages = true they come as packages with the next upgrade")


@key.command("retire")
@click.argument("fingerprint")
@key_options
@common
def key_retire(fingerprint: str, gnupghome: Path | None, passphrase_file: Path | None,
               settings: config.Settings) -> None:
    """Stop publishing and signing with a key (after a rotation); the next publish or
    `repo refresh` re-signs with the current key what it alone signed."""
    keys.retire(publishing.home(gnupghome, settings.publish), fingerprint)
    log.info("retired; run `repack repo refresh --repo REPO` now: it drops the key "
             "from keys/ and re-signs the metadata and the rpms it signed")


@key.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@key_options
@common
def key_import(file: Path, gnupghome: Path | None, passphrase_file: Path | None,
               settings: config.Settings) -> None:
    """Import keys (e.g. the team key from a CI secret); secret keys become published."""
    for fpr in keys.import_key(publishing.home(gnupghome, settings.publish), file.read_bytes(),
                               passphrase=read_passphrase(passphrase_file)):
        click.echo(fpr)


@key.command("list")
@key_options
@common
def key_list(gnupghome: Path | None, passphrase_file: Path | None,
             settings: config.Settings) -> None:
    """List the keys: fingerprint, algorithm, expiry, secret?, published?"""
    for k in keys.list_keys(publishing.home(gnupghome, settings.publish)):
        flags = ",".join(f for f, on in (("secret", k.secret),
                                         ("published", k.published)) if on) or "-"
        expires = k.expires.date().isoformat() if k.expires else "never"
        click.echo(f"{k.fingerprint} {k.algorithm:8} expires {expires} {flags:16} {k.uid}")


@key.command("export")
@click.argument("fingerprints", nargs=-1)
@click.option("--binary", is_flag=True, help="A binary keyring instead of armored text.")
@key_options
@common
def key_export(fingerprints: tuple[str, ...], binary: bool, gnupghome: Path | None,
               passphrase_file: Path | None, settings: config.Settings) -> None:
    """Write the public keys (default: the published ones) to stdout; never a secret."""
    home = publishing.home(gnupghome, settings.publish)
    fprs = [keys.resolve(home, f) for f in fingerprints] or None
    sys.stdout.buffer.write(keys.export(home, fprs, armor=not binary))


COMMANDS = (key,)
