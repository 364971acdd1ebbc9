"""The options of the key, sign and publish commands, resolved: each from the command line,
else the [publish] table of the config, else its default.

The command line (repack.cli) only parses and prints; which GnuPG home, key, passphrase and
repository a command uses is decided here, once for every command.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from repack import keys
from repack.config import PublishSettings, Settings
from repack.errors import ConfigError
from repack.gpg import Signer, default_gnupghome, read_passphrase

if TYPE_CHECKING:
    from repack.publish.outdated import Report
    from repack.publish.publisher import Options

DEFAULT_VALID_DAYS = 7
NO_REPO = "no repository: give --repo DIR or set [publish] repo in repack.toml"


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishArgs:
    """What the command line gave of the options every repository-changing command takes
    (None: not given)."""

    repo: Path | None = None
    url: str | None = None
    name: str | None = None
    valid_days: int | None = None
    key: str | None = None
    gnupghome: Path | None = None
    passphrase_file: Path | None = None


def home(gnupghome: Path | None, cfg: PublishSettings | None = None) -> Path:
    """repack's GnuPG home: --gnupghome, else [publish] gnupghome, else the default."""
    return gnupghome or (cfg.gnupghome if cfg else None) or default_gnupghome()


def repo(given: Path | None, cfg: PublishSettings, *, exists: bool = False) -> Path:
    """--repo, else [publish] repo; `exists`: the configured one must be a directory (as
    click checks a given --repo)."""
    if given is not None:
        return given
    if cfg.repo is None:
        raise ConfigError(NO_REPO)
    if exists and not cfg.repo.is_dir():
        raise ConfigError(f"{cfg.repo}: no such repository directory ([publish] repo)")
    return cfg.repo


def signer(gnupghome: Path | None, key: str | None, passphrase_file: Path | None,
           cfg: PublishSettings | None = None) -> Signer:
    return keys.signer(home(gnupghome, cfg), key or (cfg.key if cfg else None),
                       read_passphrase(passphrase_file))


def new_key_passphrase(passphrase_file: Path | None, no_passphrase: bool) -> str | None:
    """The passphrase for a new secret key: given, or explicitly none, never by default."""
    passphrase = read_passphrase(passphrase_file)
    if passphrase is not None and no_passphrase:
        raise ConfigError("--no-passphrase and a passphrase (--passphrase-file or "
                          "REPACK_PASSPHRASE) contradict each other")
    if passphrase is None and not no_passphrase:
        raise ConfigError("refusing to create a secret key without a passphrase",
                          hint="give --passphrase-file FILE or REPACK_PASSPHRASE, or "
                               "--no-passphrase for an unprotected key")
    return passphrase


def options(given: PublishArgs, cfg: PublishSettings, *,
            settings: Settings | None = None) -> Options:
    """The publisher's options: each from the command line, else [publish], else its
    default.  With [publish] keyring-packages, the engine and builder images of
    `settings` (the whole configuration) build the keyring packages."""
    from repack.publish.publisher import Options

    builder = None
    if cfg.keyring_packages and settings is not None:
        from repack.container import engine
        from repack.publish.keyring import Builder

        builder = Builder(engine=engine.detect(settings.engine, settings.limits),
                          cache_dir=settings.cache_dir)
    return Options(repo=repo(given.repo, cfg), keyring_builder=builder,
                   signer=signer(given.gnupghome, given.key, given.passphrase_file, cfg),
                   gnupghome=home(given.gnupghome, cfg), url=given.url or cfg.url,
                   name=given.name or cfg.name,
                   valid_days=given.valid_days or cfg.valid_days or DEFAULT_VALID_DAYS)


def remove(spec: str, target: str | None, given: PublishArgs, cfg: PublishSettings, *,
           dry_run: bool = False, settings: Settings | None = None,
           channel: str | None = None) -> list[str]:
    """`repo remove PACKAGE[=VERSION]`: what was (dry run: would be) removed, one line a
    package; a ConfigError when the repository has nothing that matches."""
    from repack.publish import publisher

    package, _, version = spec.partition("=")
    if dry_run:      # needs no key
        root = repo(given.repo, cfg)
        lines = publisher.removal(root, package, version or None, target, channel)
    else:
        opts = options(given, cfg, settings=settings)
        root = opts.repo
        lines = publisher.remove(opts, package, version or None, target, channel)
    if not lines:
        raise ConfigError(f"{spec}: not in {root}" + (f" for {target}" if target else "")
                          + (f" in channel {channel}" if channel else ""))
    return lines


def client_files(given_repo: Path | None, url: str | None,
                 cfg: PublishSettings) -> dict[str, bytes]:
    """`repo client-config`: the files clients need (file name -> content), for the base
    URL given, else [publish] url, else the one the repository was published with."""
    from repack.publish import clients

    return clients.client_files(repo(given_repo, cfg, exists=True), url or cfg.url)


def outdated(given_repo: Path | None, target: str | None, cfg: PublishSettings) -> Report:
    """`repack outdated`: what REPO publishes (--repo, else [publish] repo) compared with
    the index pip is configured with."""
    from repack import http, resolve
    from repack.publish.outdated import check

    root = repo(given_repo, cfg, exists=True)
    with http.session() as session:
        return check(root, index=resolve.index_url(), session=session, target=target)


def write_files(files: Mapping[str, bytes], output: Path) -> Iterator[Path]:
    """Write each file into output (made if missing); yields each path once written."""
    output.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (output / name).write_bytes(data)
        yield output / name

