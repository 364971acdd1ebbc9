"""The signing and publishing commands of the CLI: key, sign, publish, repo, serve.

Kept apart from repack.cli (which registers them) so that building and publishing can
change independently.  No logic here either: parse, call, report.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from repack import config, keys, log
from repack.config import PublishSettings
from repack.digest import sha256_file
from repack.errors import ConfigError, VerifyFailed
from repack.gpg import Signer, default_gnupghome, read_passphrase

F = TypeVar("F", bound=Callable[..., Any])


def key_options(f: F) -> F:
    """--gnupghome and --passphrase-file: the passphrase never travels in argv."""
    f = click.option("--passphrase-file", type=click.Path(path_type=Path, dir_okay=False),
                     help="File whose first line is the key's passphrase (else "
                          "REPACK_PASSPHRASE, else gpg-agent).")(f)
    f = click.option("--gnupghome", type=click.Path(path_type=Path, file_okay=False),
                     help="repack's GnuPG home (default: [publish] gnupghome, else "
                          "$XDG_DATA_HOME/repack/gnupg).")(f)
    return f


def new_key_options(f: F) -> F:
    """The user id, algorithm and expiry of a key that `generate` or `rotate` creates."""
    f = click.option("--expire", default=keys.DEFAULT_EXPIRY, show_default=True,
                     help="Expiry as gpg takes it: 2y, 18m, 365d, or 0 for never.")(f)
    f = click.option("--algorithm", type=click.Choice(["rsa4096", "ed25519"]),
                     default=keys.DEFAULT_ALGORITHM, show_default=True,
                     help="rsa4096 every target's clients verify; ed25519 is refused for "
                          "el9 (RHEL 9's rpm cannot verify EdDSA).")(f)
    f = click.option("--email", required=True, help="E-mail of the key's user id.")(f)
    f = click.option("--name", default="repack repository", show_default=True)(f)
    f = click.option("--no-passphrase", is_flag=True,
                     help="Create the secret key unprotected (e.g. for a CI secret store); "
                          "without it a passphrase (--passphrase-file or REPACK_PASSPHRASE) "
                          "is required.")(f)
    return f


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


DEFAULT_VALID_DAYS = 7
NO_REPO = "no repository: give --repo DIR or set [publish] repo in repack.toml"


def load_publish(config_file: Path | None) -> PublishSettings:
    """The [publish] defaults (loading, and so checking, every config file: a malformed
    or misspelled one is refused by every command, not silently ignored)."""
    return config.load(config_file).publish


def _home(gnupghome: Path | None, cfg: PublishSettings | None = None) -> Path:
    return gnupghome or (cfg.gnupghome if cfg else None) or default_gnupghome()


def _repo(repo: Path | None, cfg: PublishSettings, *, exists: bool = False) -> Path:
    """--repo, else [publish] repo; `exists`: the configured one must be a directory (as
    click checks a given --repo)."""
    if repo is not None:
        return repo
    if cfg.repo is None:
        raise ConfigError(NO_REPO)
    if exists and not cfg.repo.is_dir():
        raise ConfigError(f"{cfg.repo}: no such repository directory ([publish] repo)")
    return cfg.repo


def make_signer(gnupghome: Path | None, key: str | None,
                passphrase_file: Path | None, cfg: PublishSettings | None = None) -> Signer:
    return keys.signer(_home(gnupghome, cfg), key or (cfg.key if cfg else None),
                       read_passphrase(passphrase_file))


def sign_build_result(result: Any, signer: Signer) -> Any:
    """`repack build --sign`: sign the delivered files; the result carries the new sha256."""
    from repack.deb.sign import sign_files

    signable: dict[str, list[Path]] = {}
    for a in result.artifacts:
        if a.format in ("changes", "dsc", "rpm", "srpm"):
            signable.setdefault(a.target, []).append(a.path)
    signed = {p for tid, paths in signable.items() for p in sign_files(paths, signer, target=tid)}
    artifacts = tuple(dataclasses.replace(a, sha256=sha256_file(a.path)) if a.path in signed
                      else a for a in result.artifacts)
    return dataclasses.replace(result, artifacts=artifacts)


def register(cli: click.Group, common: Callable[[Callable[..., Any]], Callable[..., Any]],
             report: Callable[[bool, Callable[[], None]], None]) -> None:
    """Add the commands to the main group (common options and error reporting from it)."""

    @cli.group()
    def key() -> None:
        """Manage the repository signing keys (repack's own GnuPG home)."""

    @key.command("generate")
    @new_key_options
    @key_options
    @common
    def key_generate(name: str, email: str, algorithm: keys.Algorithm, expire: str,
                     no_passphrase: bool, gnupghome: Path | None, passphrase_file: Path | None,
                     verbose: bool, debug: bool, config_file: Path | None) -> None:
        """Create a signing key (published if it is the first), protected by the given
        passphrase unless --no-passphrase."""
        log.configure(verbose=verbose)

        def body() -> None:
            cfg = load_publish(config_file)
            passphrase = new_key_passphrase(passphrase_file, no_passphrase)
            fpr = keys.generate(_home(gnupghome, cfg), name=name, email=email, algorithm=algorithm,
                                expire=expire, passphrase=passphrase)
            click.echo(fpr)
        report(debug, body)

    @key.command("rotate")
    @new_key_options
    @key_options
    @common
    def key_rotate(name: str, email: str, algorithm: keys.Algorithm, expire: str,
                   no_passphrase: bool, gnupghome: Path | None, passphrase_file: Path | None,
                   verbose: bool, debug: bool, config_file: Path | None) -> None:
        """Add a new key beside the current ones: the next publish signs with both and
        ships both to clients; `repack key retire OLD` once clients have moved."""
        log.configure(verbose=verbose)

        def body() -> None:
            cfg = load_publish(config_file)
            passphrase = new_key_passphrase(passphrase_file, no_passphrase)
            fpr = keys.rotate(_home(gnupghome, cfg), name=name, email=email, algorithm=algorithm,
                              expire=expire, passphrase=passphrase)
            click.echo(fpr)
        report(debug, body)

    @key.command("retire")
    @click.argument("fingerprint")
    @key_options
    @common
    def key_retire(fingerprint: str, gnupghome: Path | None, passphrase_file: Path | None,
                   verbose: bool, debug: bool, config_file: Path | None) -> None:
        """Stop publishing and signing with a key (after a rotation); the next publish or
        `repo refresh` re-signs with the current key what it alone signed."""
        def body() -> None:
            keys.retire(_home(gnupghome, load_publish(config_file)), fingerprint)
            log.info("retired; run `repack repo refresh --repo REPO` now: it drops the key "
                     "from keys/ and re-signs the metadata and the rpms it signed")
        report(debug, body)

    @key.command("import")
    @click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
    @key_options
    @common
    def key_import(file: Path, gnupghome: Path | None, passphrase_file: Path | None,
                   verbose: bool, debug: bool, config_file: Path | None) -> None:
        """Import keys (e.g. the team key from a CI secret); secret keys become published."""
        def body() -> None:
            home = _home(gnupghome, load_publish(config_file))
            for fpr in keys.import_key(home, file.read_bytes(),
                                       passphrase=read_passphrase(passphrase_file)):
                click.echo(fpr)
        report(debug, body)

    @key.command("list")
    @key_options
    @common
    def key_list(gnupghome: Path | None, passphrase_file: Path | None, verbose: bool,
                 debug: bool, config_file: Path | None) -> None:
        """List the keys: fingerprint, algorithm, expiry, secret?, published?"""
        def body() -> None:
            for k in keys.list_keys(_home(gnupghome, load_publish(config_file))):
                flags = ",".join(f for f, on in (("secret", k.secret),
                                                 ("published", k.published)) if on) or "-"
                expires = k.expires.date().isoformat() if k.expires else "never"
                click.echo(f"{k.fingerprint} {k.algorithm:8} expires {expires} {flags:16} "
                           f"{k.uid}")
        report(debug, body)

    @key.command("export")
    @click.argument("fingerprints", nargs=-1)
    @click.option("--binary", is_flag=True, help="A binary keyring instead of armored text.")
    @key_options
    @common
    def key_export(fingerprints: tuple[str, ...], binary: bool, gnupghome: Path | None,
                   passphrase_file: Path | None, verbose: bool, debug: bool,
                   config_file: Path | None) -> None:
        """Write the public keys (default: the published ones) to stdout; never a secret."""
        def body() -> None:
            home = _home(gnupghome, load_publish(config_file))
            fprs = [keys.resolve(home, f) for f in fingerprints] or None
            sys.stdout.buffer.write(keys.export(home, fprs, armor=not binary))
        report(debug, body)

    @cli.command()
    @click.argument("files", nargs=-1, required=True,
                    type=click.Path(path_type=Path, exists=True, dir_okay=False))
    @click.option("--key", help="Fingerprint of the key to sign with (default: [publish] key, "
                                "else the published ones).")
    @click.option("-t", "--target", help="Target of the files (default: from the "
                                         "OUT/<target>/ directory or the version suffix); "
                                         "only keys its clients verify sign them.")
    @key_options
    @common
    def sign(files: tuple[Path, ...], key: str | None, target: str | None,
             gnupghome: Path | None, passphrase_file: Path | None, verbose: bool,
             debug: bool, config_file: Path | None) -> None:
        """Sign build artifacts: .changes (with its .dsc and .buildinfo, debsign style),
        .dsc, .buildinfo, .rpm."""
        log.configure(verbose=verbose)

        def body() -> None:
            from repack.deb.sign import sign_files

            signer = make_signer(gnupghome, key, passphrase_file, load_publish(config_file))
            for path in sign_files(list(files), signer, target=target):
                log.info(f"signed {path}")
        report(debug, body)

    def publish_options(f: F) -> F:
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

    def options(config_file: Path | None, repo: Path | None, url: str | None,
                name: str | None, valid_days: int | None, key: str | None,
                gnupghome: Path | None, passphrase_file: Path | None) -> Any:
        """The publisher's options: each from the command line, else [publish], else its
        default."""
        from repack.publish.publisher import Options

        cfg = load_publish(config_file)
        return Options(repo=_repo(repo, cfg),
                       signer=make_signer(gnupghome, key, passphrase_file, cfg),
                       gnupghome=_home(gnupghome, cfg), url=url or cfg.url,
                       name=name or cfg.name,
                       valid_days=valid_days or cfg.valid_days or DEFAULT_VALID_DAYS)

    @cli.command()
    @click.argument("artifacts", nargs=-1, required=True, type=click.Path(path_type=Path))
    @click.option("-t", "--target", help="Target of the given files (default: from the "
                                         "OUT/<target>/ directory or the version suffix).")
    @publish_options
    @common
    def publish(artifacts: tuple[Path, ...], target: str | None, repo: Path | None,
                url: str | None, name: str | None, valid_days: int | None, key: str | None, gnupghome: Path | None,
                passphrase_file: Path | None, verbose: bool, debug: bool,
                config_file: Path | None) -> None:
        """Add ARTIFACTS (files, or directories such as repack-out/) to the signed
        repository REPO, atomically."""
        log.configure(verbose=verbose)

        def body() -> None:
            from repack.publish import publisher

            opts = options(config_file, repo, url, name, valid_days, key, gnupghome,
                           passphrase_file)
            added = publisher.publish(list(artifacts), opts, target=target)
            for line in added:
                log.info(f"added {line}")
            if not added:
                log.info("nothing new: the repository is unchanged")
        report(debug, body)

    @cli.group()
    def repo() -> None:
        """Inspect and maintain a published repository."""

    @repo.command("verify")
    @click.argument("root", metavar="REPO", type=click.Path(path_type=Path, file_okay=False,
                                                          exists=True))
    @click.option("--keyring", type=click.Path(path_type=Path, dir_okay=False, exists=True),
                  help="Check against this keyring (as a client has it), not REPO/keys.")
    @common
    def repo_verify(root: Path, keyring: Path | None, verbose: bool, debug: bool,
                    config_file: Path | None) -> None:
        """Check REPO as a client would: signatures, hashes, expiry.  One problem a line."""
        log.configure(verbose=verbose)

        def body() -> None:
            from repack.publish.verify import verify

            load_publish(config_file)       # checked, though REPO is given

            problems = verify(root, keyring)
            for p in problems:
                click.echo(p)
            if problems:
                raise VerifyFailed(f"{len(problems)} problem(s) in {root}")
            log.info(f"{root}: signatures, hashes and expiry are good")
        report(debug, body)

    @repo.command("list")
    @click.option("--repo", type=click.Path(path_type=Path, file_okay=False, exists=True),
                  help="The repository directory (required unless [publish] repo is set).")
    @click.option("-t", "--target", help="Only this target's packages (e.g. debian-12).")
    @click.option("--json", "as_json", is_flag=True,
                  help="One JSON document on stdout (a list, one object per package).")
    @common
    def repo_list(repo: Path | None, target: str | None, as_json: bool, verbose: bool, debug: bool,
                  config_file: Path | None) -> None:
        """List what REPO publishes: one line per package, version and target, with its
        channel (apt suite or yum target; the -security suite or updateinfo too when it is
        a security update), when it was published, how its source was verified (from the
        package's provenance record) and its known advisories that no newer published
        version fixes (PENDING).  Changes nothing."""
        log.configure(verbose=verbose)

        def body() -> None:
            import json

            from repack.publish.listing import listing, text_lines

            entries = listing(_repo(repo, load_publish(config_file), exists=True), target)
            if as_json:
                click.echo(json.dumps([e.as_json() for e in entries], indent=2))
                return
            for line in text_lines(entries):
                click.echo(line)
        report(debug, body)

    @repo.command("remove")
    @click.argument("spec", metavar="PACKAGE[=VERSION]")
    @click.option("-t", "--target", help="Only from this target (e.g. debian-12, el9).")
    @click.option("--dry-run", is_flag=True,
                  help="Print what would be removed; change nothing (no key needed).")
    @publish_options
    @common
    def repo_remove(spec: str, target: str | None, dry_run: bool, repo: Path | None,
                    url: str | None, name: str | None, valid_days: int | None, key: str | None,
                    gnupghome: Path | None, passphrase_file: Path | None, verbose: bool,
                    debug: bool, config_file: Path | None) -> None:
        """Remove a package (all versions, or one; from every target, or -t TARGET) with
        the source packages (.dsc and its files, .src.rpm) only it came from, and re-sign.
        VERSION is the upstream version or the full distro version."""
        log.configure(verbose=verbose)

        def body() -> None:
            from repack.publish import publisher

            package, _, version = spec.partition("=")

            def nothing_in(root: Path) -> ConfigError:
                return ConfigError(f"{spec}: not in {root}" + (f" for {target}" if target else ""))

            if dry_run:
                root = _repo(repo, load_publish(config_file))
                planned = publisher.removal(root, package, version or None, target)
                if not planned:
                    raise nothing_in(root)
                for line in planned:
                    click.echo(f"would remove {line}")
                return
            opts = options(config_file, repo, url, name, valid_days, key, gnupghome,
                           passphrase_file)
            removed = publisher.remove(opts, package, version or None, target)
            if not removed:
                raise nothing_in(opts.repo)
            for line in removed:
                log.info(f"removed {line}")
        report(debug, body)

    @repo.command("prune")
    @click.option("--keep", type=int, required=True, help="Versions to keep per package.")
    @publish_options
    @common
    def repo_prune(keep: int, repo: Path | None, url: str | None, name: str | None,
                   valid_days: int | None,
                   key: str | None, gnupghome: Path | None, passphrase_file: Path | None,
                   verbose: bool, debug: bool, config_file: Path | None) -> None:
        """Keep only the newest N versions of each package."""
        log.configure(verbose=verbose)

        def body() -> None:
            from repack.publish import publisher

            opts = options(config_file, repo, url, name, valid_days, key, gnupghome,
                           passphrase_file)
            for line in publisher.prune(opts, keep):
                log.info(f"removed {line}")
        report(debug, body)

    @repo.command("refresh")
    @publish_options
    @common
    def repo_refresh(repo: Path | None, url: str | None, name: str | None,
                     valid_days: int | None,
                     key: str | None, gnupghome: Path | None, passphrase_file: Path | None,
                     verbose: bool, debug: bool, config_file: Path | None) -> None:
        """Re-sign with a fresh Valid-Until (run it regularly, e.g. daily from cron)."""
        log.configure(verbose=verbose)

        def body() -> None:
            from repack.publish import publisher

            publisher.refresh(options(config_file, repo, url, name, valid_days, key,
                                      gnupghome, passphrase_file))
        report(debug, body)

    @repo.command("client-config")
    @click.option("--repo", type=click.Path(path_type=Path, file_okay=False, exists=True),
                  help="The repository directory (required unless [publish] repo is set).")
    @click.option("--url", help="Base URL the clients use (default: [publish] url, else "
                                "the one REPO was published with).")
    @click.option("-o", "--output", type=click.Path(path_type=Path, file_okay=False),
                  help="Write the files into this directory (default: print the text ones).")
    @common
    def repo_client_config(repo: Path | None, url: str | None, output: Path | None, verbose: bool,
                           debug: bool, config_file: Path | None) -> None:
        """The files clients need, one per release: <name>-<codename>.sources (apt,
        Signed-By), <name>-<target>.repo (dnf, gpgcheck and repo_gpgcheck), and the public
        keys.  Changes nothing in REPO."""
        log.configure(verbose=verbose)

        def body() -> None:
            from repack.publish.clients import client_files

            cfg = load_publish(config_file)
            files = client_files(_repo(repo, cfg, exists=True), url or cfg.url)
            if output is None:
                texts = [(n, d) for n, d in files.items() if not n.endswith(".gpg")]
                for i, (fname, data) in enumerate(texts):
                    click.echo(f"{'' if i == 0 else chr(10)}# ==> {fname} <==")
                    click.echo(data.decode().rstrip("\n"))
                return
            output.mkdir(parents=True, exist_ok=True)
            for fname, data in files.items():
                (output / fname).write_bytes(data)
                log.info(f"wrote {output / fname}")
        report(debug, body)

    @cli.command()
    @click.argument("root", metavar="REPO", type=click.Path(path_type=Path, file_okay=False,
                                                          exists=True))
    @click.option("--port", type=int, default=8080, show_default=True,
                  help="Port on 127.0.0.1 (0: any free port, printed on stdout).")
    @common
    def serve(root: Path, port: int, verbose: bool, debug: bool,
              config_file: Path | None) -> None:
        """Serve REPO read-only over HTTP on 127.0.0.1 (tests, small teams)."""
        def body() -> None:
            from repack.publish.serve import server

            load_publish(config_file)       # checked, though REPO is given

            httpd = server(root, port)
            click.echo(f"http://127.0.0.1:{httpd.server_address[1]}/", nl=True)
            sys.stdout.flush()
            try:
                httpd.serve_forever()
            finally:
                httpd.server_close()
        report(debug, body)
