"""The options several commands share, as decorators.

`common` gives every command -v, --debug and --config, and hands it the loaded config;
`grouped` hands a command many options as one frozen dataclass instead of one parameter
each.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from repack import config, keys, log
from repack.publishing import DEFAULT_VALID_DAYS, PublishArgs

Command = Callable[..., Any]
DEBUG = "repack.debug"      # ctx.meta key: --debug was given (read where errors are reported)


def common(f: Command) -> Command:
    """-v, --debug and --config on a command.  The command receives the config as
    `settings`, loaded (and so checked: a malformed or misspelled file is refused by every
    command) once its arguments are parsed and before it runs."""
    @functools.wraps(f)
    def run(*args: Any, verbose: bool, debug: bool, config_file: Path | None,
            **kwargs: Any) -> Any:
        click.get_current_context().meta[DEBUG] = debug
        log.configure(verbose=verbose)
        return f(*args, settings=config.load(config_file), **kwargs)

    run = click.option("-v", "--verbose", is_flag=True,
                       help="Show every command and its output.")(run)
    run = click.option("--debug", is_flag=True, help="Show tracebacks for errors.")(run)
    return click.option("--config", "config_file", type=click.Path(path_type=Path),
                        help="Project config: the trust policy, [publish] defaults... "
                             "(default: ./repack.toml; $XDG_CONFIG_HOME/repack/config.toml "
                             "is read first).")(run)


def grouped(cls: type[Any], name: str) -> Callable[[Command], Command]:
    """Hand the command the options named by the fields of the dataclass `cls` as one
    argument `name`."""
    fields = [f.name for f in dataclasses.fields(cls)]

    def decorate(f: Command) -> Command:
        @functools.wraps(f)
        def run(*args: Any, **kwargs: Any) -> Any:
            kwargs[name] = cls(**{n: kwargs.pop(n) for n in fields})
            return f(*args, **kwargs)
        return run
    return decorate


def key_options(f: Command) -> Command:
    """--gnupghome and --passphrase-file: the passphrase never travels in argv."""
    f = click.option("--passphrase-file", type=click.Path(path_type=Path, dir_okay=False),
                     help="File whose first line is the key's passphrase (else "
                          "REPACK_PASSPHRASE, else gpg-agent).")(f)
    return click.option("--gnupghome", type=click.Path(path_type=Path, file_okay=False),
                        help="repack's GnuPG home (default: [publish] gnupghome, else "
                             "$XDG_DATA_HOME/repack/gnupg).")(f)


def new_key_options(f: Command) -> Command:
    """The user id, algorithm and expiry of a key that `generate` or `rotate` creates."""
    f = click.option("--expire", default=keys.DEFAULT_EXPIRY, show_default=True,
                     help="Expiry as gpg takes it: 2y, 18m, 365d, or 0 for never.")(f)
    f = click.option("--algorithm", type=click.Choice(["rsa4096", "ed25519"]),
                     default=keys.DEFAULT_ALGORITHM, show_default=True,
                     help="rsa4096 every target's clients verify; ed25519 is refused for "
                          "el9 (RHEL 9's rpm cannot verify EdDSA).")(f)
    f = click.option("--email", required=True, help="E-mail of the key's user id.")(f)
    f = click.option("--name", default="repack repository", show_default=True)(f)
    return click.option("--no-passphrase", is_flag=True,
                        help="Create the secret key unprotected (e.g. for a CI secret store); "
                             "without it a passphrase (--passphrase-file or REPACK_PASSPHRASE) "
                             "is required.")(f)


def publish_options(f: Command) -> Command:
    """--repo, --url, --name, --valid-days, --key and the key options of every command that
    changes a repository; the command receives them as `given` (publishing.PublishArgs)."""
    f = grouped(PublishArgs, "given")(f)
    f = click.option("--repo", type=click.Path(path_type=Path, file_okay=False),
                     help="The repository directory (required unless [publish] repo "
                          "is set).")(f)
    f = click.option("--url", help="Base URL clients use (default: [publish] url, else "
                                   "the stored one, else file:// of REPO).")(f)
    f = click.option("--name", help="Repository name for keys/ and client/ files "
                                    "(default: [publish] name, else repack).")(f)
    f = click.option("--valid-days", type=click.IntRange(min=1),
                     help="Release Valid-Until, days from now (at least 1: clients refuse "
                          "the repository after it; default: [publish] valid-days, "
                          f"else {DEFAULT_VALID_DAYS}).")(f)
    f = click.option("--key", help="Sign with this key only (default: [publish] key, "
                                   "else every published key).")(f)
    return key_options(f)
