"""A strict subset of pip's requirements-file format.

Understood, as pip reads them:

* one PEP 508 requirement per line, ``# comments`` (at line start or after whitespace),
  blank lines, and lines continued with a trailing backslash;
* ``--hash=sha256:HEX`` / ``--hash sha256:HEX`` after a requirement, any number of them:
  the file must then match one (pip's hash-checking mode).  As in pip, hashes are
  all-or-nothing: once any requirement (or ``--require-hashes``) asks for them, every
  requirement must carry them, and each hashed requirement must pin its version with
  ``==`` or ``===``;
* ``-r other.txt`` / ``--requirement other.txt``: nested, relative to the including file.

Refused with a ConfigError naming ``file:line``:

* index options (``-i/--index-url``, ``--extra-index-url``, ``--no-index``,
  ``-f/--find-links``, ``--trusted-host``): silently ignoring an index a file asks for
  would fetch the same names from another index -- the dependency-confusion risk -- so
  the user must choose the index on repack's side (PIP_INDEX_URL or pip.conf);
* ``-c/--constraint``, ``-e/--editable``, ``--pre``, local paths, URLs and
  ``name @ url`` direct references, and any other option.

``--no-binary``, ``--only-binary`` and ``--prefer-binary`` are ignored with a warning:
repack always builds from the sdist.  ``${VAR}`` environment expansion is not done.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from repack import log
from repack.errors import ConfigError
from repack.resolve import is_exact_pin

__all__ = ["PinnedRequirement", "parse_hash_option", "parse_requirements_file"]

_COMMENT_RE = re.compile(r"(^|\s+)#.*$")
_HEX64_RE = re.compile(r"[0-9a-fA-F]{64}")

_INDEX_OPTIONS = {
    "-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links",
    "--trusted-host",
}
_IGNORED_OPTIONS = {"--no-binary": True, "--only-binary": True, "--prefer-binary": False}
"""option -> whether it takes a value."""
_REFUSED_OPTIONS = {
    "-c": "constraints files (-c) are not supported",
    "--constraint": "constraints files (-c) are not supported",
    "-e": "editable requirements (-e) are not supported; repack builds released sdists",
    "--editable": "editable requirements (-e) are not supported; repack builds released sdists",
    "--pre": "--pre is not supported",
    "--global-option": "--global-option is not supported",
    "--config-settings": "--config-settings is not supported",
    "--install-option": "--install-option is not supported",
    "--use-feature": "--use-feature is not supported",
}
_REFUSED_HINTS = {
    "--pre": "ask for a pre-release in the specifier itself, e.g. name==2.0b1 or name>=2.0b1",
}


@dataclass(frozen=True, slots=True)
class PinnedRequirement:
    """One requirement of a requirements file and the hashes its file may have.

    hashes: normalised "sha256:<64 lowercase hex>" strings; empty when the file gives none.
    origin: "path:line" where it was written, for messages.
    """

    req: Requirement
    hashes: tuple[str, ...] = ()
    origin: str = ""


def parse_hash_option(text: str) -> str:
    """Validate one ``--hash`` value; return it as "sha256:<64 lowercase hex>".

    Only sha256 is accepted: it is the digest package indexes publish, so it is the one
    repack can compare a pin with.
    """
    value = text.strip()
    algo, sep, digest = value.partition(":")
    algo = algo.strip().lower()
    if not sep or not algo:
        raise ConfigError(
            f"malformed hash {text!r}: expected sha256:<64 hex digits>",
            hint="write --hash=sha256:<digest>, as `pip hash` prints it",
        )
    if algo != "sha256":
        known = algo in hashlib.algorithms_available
        raise ConfigError(
            f"{'unsupported' if known else 'unknown'} hash algorithm {algo!r} in {text!r}: "
            "only sha256 is accepted",
            hint="the index publishes sha256 digests; regenerate the pins with "
            "`pip hash --algorithm sha256` or `pip-compile --generate-hashes`",
        )
    digest = digest.strip()
    if not _HEX64_RE.fullmatch(digest):
        raise ConfigError(
            f"malformed sha256 digest in {text!r}: expected 64 hexadecimal digits, "
            f"got {len(digest)} characters",
        )
    return f"sha256:{digest.lower()}"


def parse_requirements_file(path: Path) -> list[PinnedRequirement]:
    """The requirements of a pip requirements file (and of the files it includes with
    -r), in order.  Raises ConfigError, naming file:line, for anything not understood."""
    state = _State()
    result = _parse_file(Path(path), state, stack=(), included_from=None)
    if state.require_hashes or any(r.hashes for r in result):
        for item in result:
            if not item.hashes:
                why = ("--require-hashes is given" if state.require_hashes
                       else "other requirements carry --hash")
                raise ConfigError(
                    f"{item.origin}: {item.req} has no --hash, but {why}: hashes are "
                    "all-or-nothing, as in pip",
                    hint="add --hash=sha256:... to every requirement "
                    "(`pip-compile --generate-hashes` does)",
                )
    return result


@dataclass
class _State:
    require_hashes: bool = False


def _parse_file(
    path: Path,
    state: _State,
    *,
    stack: tuple[Path, ...],
    included_from: str | None,
) -> list[PinnedRequirement]:
    """The requirements of one file, in order; the files it includes (-r) in their place.
    `stack` holds the files including this one (a file may not include itself)."""
    resolved, text = _read(path, included_from)
    if resolved in stack:
        raise ConfigError(f"{included_from}: requirements file {path} includes itself")
    stack = stack + (resolved,)
    result: list[PinnedRequirement] = []
    for lineno, line in _logical_lines(text):
        origin = f"{path}:{lineno}"
        req_text, options = _tokenize(line, origin)
        if req_text:
            result.append(_requirement_line(req_text, options, origin))
        else:
            result += _options_line(options, path, state, stack, origin)
    return result


def _read(path: Path, included_from: str | None) -> tuple[Path, str]:
    """The file's resolved path (to find include loops) and its text."""
    where = f" (included from {included_from})" if included_from else ""
    try:
        return path.resolve(), path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ConfigError(f"requirements file {path} not found{where}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read requirements file {path}{where}: {exc}") from exc


def _tokenize(line: str, origin: str) -> tuple[str, list[tuple[str, str]]]:
    """A logical line's requirement text (empty when there is none) and its options."""
    req_text, option_text = _split_line(line)
    try:
        tokens = shlex.split(option_text)
    except ValueError as exc:
        raise ConfigError(f"{origin}: cannot parse options {option_text!r}: {exc}") from exc
    return req_text, _parse_options(tokens, origin)


def _options_line(options: list[tuple[str, str]], path: Path, state: _State,
                  stack: tuple[Path, ...], origin: str) -> list[PinnedRequirement]:
    """A line of options alone: -r includes a file (its requirements are returned),
    --require-hashes turns hash-checking on; a --hash here belongs to no requirement."""
    result: list[PinnedRequirement] = []
    for opt, value in options:
        if opt == "--requirement":
            result += _include(value, path, state, stack, origin)
        elif opt == "--require-hashes":
            state.require_hashes = True
        elif opt == "--hash":
            raise ConfigError(f"{origin}: --hash must follow a requirement on its line")
    return result


def _requirement_line(req_text: str, options: list[tuple[str, str]],
                      origin: str) -> PinnedRequirement:
    """A requirement with its --hash options; hashed requirements must be pinned."""
    hashes: list[str] = []
    for opt, value in options:
        if opt == "--hash":
            try:
                normalised = parse_hash_option(value)
            except ConfigError as exc:
                raise ConfigError(f"{origin}: {exc}", hint=exc.hint) from exc
            if normalised not in hashes:
                hashes.append(normalised)
        elif opt in ("--requirement", "--require-hashes"):
            raise ConfigError(f"{origin}: {opt} must be on a line of its own")
    req = _parse_requirement(req_text, origin)
    if hashes and not is_exact_pin(req.specifier):
        raise ConfigError(
            f"{origin}: {req} has --hash but no exact version: hashed requirements must "
            "be pinned with == (as in pip)",
            hint=f"pin it, e.g. {req.name}==<version>",
        )
    return PinnedRequirement(req=req, hashes=tuple(hashes), origin=origin)


def _include(
    value: str, parent: Path, state: _State, stack: tuple[Path, ...], origin: str
) -> list[PinnedRequirement]:
    if "://" in value:
        raise ConfigError(f"{origin}: including a requirements file by URL is not supported")
    child = Path(value)
    if not child.is_absolute():
        child = parent.parent / child
    return _parse_file(child, state, stack=stack, included_from=origin)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line number, text) of each non-blank logical line, comments
    removed.  A trailing backslash joins the next line (as pip does, without a
    separator); a comment ends the logical line."""
    parts: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = lineno
        line = _COMMENT_RE.sub("", raw)
        if line == raw and line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        joined = "".join(parts).strip()
        parts = []
        if joined:
            yield start, joined
    if parts:
        joined = "".join(parts).strip()
        if joined:
            yield start, joined


def _split_line(line: str) -> tuple[str, str]:
    """pip's break_args_options: the requirement is everything before the first token
    that starts with '-'."""
    tokens = line.split(" ")
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]).strip(), " ".join(tokens[i:])
    return line.strip(), ""


def _parse_options(tokens: list[str], origin: str) -> list[tuple[str, str]]:
    """(canonical option, value) pairs; refuses everything outside the subset."""
    out: list[tuple[str, str]] = []
    pending = list(reversed(tokens))
    while pending:
        token = pending.pop()
        inline: str | None = None
        if token.startswith("--"):
            name, eq, rest = token.partition("=")
            inline = rest if eq else None
        elif len(token) > 2 and token[:2] in ("-r", "-c", "-i", "-f", "-e"):
            name, inline = token[:2], token[2:]   # -rfile, as optparse allows
        else:
            name = token

        def value(name: str = name, inline: str | None = inline) -> str:
            if inline is not None:
                return inline
            if not pending:
                raise ConfigError(f"{origin}: option {name} needs a value")
            return pending.pop()

        if name == "--hash":
            out.append(("--hash", value()))
        elif name in ("-r", "--requirement"):
            out.append(("--requirement", value()))
        elif name == "--require-hashes":
            out.append(("--require-hashes", ""))
        elif name in _INDEX_OPTIONS:
            raise ConfigError(
                f"{origin}: index options ({name}) are not supported in requirements files",
                hint="repack uses one index: set it with PIP_INDEX_URL or index-url in "
                "pip.conf; extra indexes are refused (dependency confusion)",
            )
        elif name in _IGNORED_OPTIONS:
            if _IGNORED_OPTIONS[name]:
                value()
            log.warn(f"{origin}: ignoring {name}: repack always builds from the sdist")
        elif name in _REFUSED_OPTIONS:
            raise ConfigError(f"{origin}: {_REFUSED_OPTIONS[name]}", hint=_REFUSED_HINTS.get(name))
        else:
            raise ConfigError(f"{origin}: unknown or unsupported option {token!r}")
    return out


def _parse_requirement(text: str, origin: str) -> Requirement:
    if text.startswith((".", "/", "~")) or "://" in text and "@" not in text:
        raise ConfigError(
            f"{origin}: local paths and URLs are not supported: {text!r}",
            hint="name a release on the index instead, e.g. name==1.0",
        )
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise ConfigError(f"{origin}: invalid requirement {text!r}: {detail}") from exc
    if req.url:
        raise ConfigError(
            f"{origin}: direct URL requirements are not supported: {text!r}",
            hint=f"name a release on the index instead, e.g. {req.name}==<version>",
        )
    return req

