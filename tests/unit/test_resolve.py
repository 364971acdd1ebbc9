"""resolve() against a real HTTP index on loopback; index_url() against temp pip configs."""

from __future__ import annotations

import hashlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from localindex import LocalIndex  # tests/ is on sys.path (see conftest.py)
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from repack import http
from repack.errors import ConfigError, RequiresPythonError, ResolveError
from repack.model import Release
from repack.resolve import DEFAULT_INDEX_URL, index_url, is_exact_pin, pip_config_files, resolve

PY = "3.11.2"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    s = http.session(retries=0, timeout=(5, 10))
    yield s
    s.close()


def data(name: str) -> bytes:
    return f"pretend sdist {name}\n".encode()


def do(req: str, index: LocalIndex, session: requests.Session, py: str = PY) -> Release:
    return resolve(Requirement(req), python_full_version=py, index=index.url, session=session)


def publish(index: LocalIndex, *versions: str, project: str = "demo") -> None:
    for v in versions:
        index.add(project, f"{project}-{v}.tar.gz", data(f"{project}-{v}"))


# -- the session -------------------------------------------------------------------------


def test_session_uses_system_trust_store() -> None:
    import truststore

    from repack import __version__

    with http.session(timeout=7) as s:
        assert s.headers["User-Agent"] == f"repack/{__version__}"
        adapter = s.get_adapter("https://pypi.org/simple/")
        assert isinstance(adapter, http.TruststoreAdapter)
        assert adapter.timeout == 7
        context = adapter.poolmanager.connection_pool_kw["ssl_context"]
        assert isinstance(context, truststore.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        proxy = adapter.proxy_manager_for("http://127.0.0.1:9")
        assert proxy.connection_pool_kw["ssl_context"] is context
    assert not isinstance(ssl.create_default_context(), truststore.SSLContext)  # no injection


# -- choosing ----------------------------------------------------------------------------


def test_newest_non_yanked(local_index: LocalIndex, session: requests.Session) -> None:
    publish(local_index, "1.0", "1.1", "1.10")
    local_index.add("demo", "demo-2.0.tar.gz", data("2.0"), yanked="broken")
    release = do("demo", local_index, session)
    assert release.version == Version("1.10")
    assert release.name == "demo"
    assert release.filename == "demo-1.10.tar.gz"
    assert release.url == local_index.file_url("demo", "demo-1.10.tar.gz")
    assert release.sha256 == hashlib.sha256(data("demo-1.10")).hexdigest()
    assert release.size == len(data("demo-1.10"))
    assert release.yanked is False
    assert release.requires_python is None
    assert release.index_url == local_index.url


def test_logs_unpinned_resolution(
    local_index: LocalIndex, session: requests.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(local_index, "1.0", "1.2")
    do("demo>=1", local_index, session)
    assert "resolved demo>=1 to 1.2" in " ".join(capsys.readouterr().err.split())


def test_yanked_taken_only_when_pinned_exactly(
    local_index: LocalIndex, session: requests.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    publish(local_index, "1.0")
    local_index.add("demo", "demo-2.0.tar.gz", data("2.0"), yanked="security hole")
    release = do("demo==2.0", local_index, session)
    assert release.version == Version("2.0")
    assert release.yanked is True
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "warning:" in err and "yanked" in err and "security hole" in err
    # === pins exactly too; a wildcard or a range does not
    assert do("demo===2.0", local_index, session).yanked


def test_yanked_wildcard_is_not_a_pin(local_index: LocalIndex, session: requests.Session) -> None:
    local_index.add("demo", "demo-2.0.tar.gz", data("2.0"), yanked=True)
    with pytest.raises(ResolveError, match="2.0 is yanked") as info:
        do("demo==2.*", local_index, session)
    assert info.value.hint and "demo==2.0" in info.value.hint
    with pytest.raises(ResolveError, match="yanked"):
        do("demo>=2", local_index, session)


def test_is_exact_pin() -> None:
    assert is_exact_pin(SpecifierSet("==1.0"))
    assert is_exact_pin(SpecifierSet("===1.0"))
    assert not is_exact_pin(SpecifierSet("==1.*"))
    assert not is_exact_pin(SpecifierSet(">=1.0"))
    assert not is_exact_pin(SpecifierSet("==1.0,!=1.1"))
    assert not is_exact_pin(SpecifierSet(""))


def test_prereleases_only_when_asked(local_index: LocalIndex, session: requests.Session) -> None:
    publish(local_index, "1.0", "2.0b1", "2.0rc1.dev3")
    assert do("demo", local_index, session).version == Version("1.0")
    assert do("demo>=1", local_index, session).version == Version("1.0")
    assert do("demo>=2.0b1", local_index, session).version == Version("2.0rc1.dev3")
    assert do("demo==2.0b1", local_index, session).version == Version("2.0b1")


def test_only_prereleases_explains(local_index: LocalIndex, session: requests.Session) -> None:
    publish(local_index, "2.0b1")
    with pytest.raises(ResolveError, match="only pre-releases") as info:
        do("demo", local_index, session)
    assert info.value.hint and "demo==2.0b1" in info.value.hint


def test_unknown_project(local_index: LocalIndex, session: requests.Session) -> None:
    with pytest.raises(ResolveError, match="not found on http://127.0.0.1") as info:
        do("nosuchthing", local_index, session)
    assert info.value.project == "nosuchthing"
    assert info.value.exit_code == 3
    assert str(info.value).startswith("nosuchthing: not found on ")


def test_unknown_version_lists_newest(local_index: LocalIndex, session: requests.Session) -> None:
    publish(local_index, *(f"1.{i}" for i in range(8)))
    with pytest.raises(ResolveError, match="no release matches demo==9") as info:
        do("demo==9", local_index, session)
    assert info.value.hint is not None
    assert info.value.hint.startswith("newest versions: 1.7, 1.6, 1.5, 1.4, 1.3")
    assert "1.0" not in info.value.hint


def test_only_wheels(local_index: LocalIndex, session: requests.Session) -> None:
    local_index.add("demo", "demo-1.0-py3-none-any.whl", data("whl"))
    with pytest.raises(ResolveError, match="1.0 has only wheels") as info:
        do("demo==1.0", local_index, session)
    assert "demo-1.0-py3-none-any.whl" in (info.value.hint or "")


def test_newer_wheel_only_release_falls_back(
    local_index: LocalIndex, session: requests.Session
) -> None:
    publish(local_index, "1.0")
    local_index.add("demo", "demo-2.0-py3-none-any.whl", data("whl"))
    assert do("demo", local_index, session).version == Version("1.0")


def test_requires_python_excludes_target(
    local_index: LocalIndex, session: requests.Session
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", data("1.0"), requires_python=">=3.12")
    with pytest.raises(RequiresPythonError) as info:
        do("demo", local_index, session)
    assert info.value.exit_code == 7      # the index has it: not "not on the index" (3)
    assert str(info.value) == ("demo: demo==1.0 requires Python >=3.12; the target has 3.11.2; "
                               "no release on the index admits it")


def test_requires_python_of_a_pin_names_the_newest_release_that_admits_it(
    local_index: LocalIndex, session: requests.Session
) -> None:
    """A pinned release the index has but the target's Python cannot take: exit 7, naming
    the newest release that would build (not yanked, with an sdist, not a pre-release)."""
    local_index.add("foo", "foo-1.9.2.tar.gz", data("1.9.2"), requires_python=">=3.8")
    local_index.add("foo", "foo-1.9.3.tar.gz", data("1.9.3"), requires_python=">=3.8")
    local_index.add("foo", "foo-1.9.4.tar.gz", data("1.9.4"), yanked="broken")
    local_index.add("foo", "foo-1.9.5-py3-none-any.whl", data("whl"))
    local_index.add("foo", "foo-2.0rc1.tar.gz", data("rc"), requires_python=">=3.10")
    local_index.add("foo", "foo-2.0.tar.gz", data("2.0"), requires_python=">=3.12")
    with pytest.raises(RequiresPythonError) as info:
        resolve(Requirement("foo==2.0"), python_full_version=PY, index=local_index.url,
                session=session, target_name="Debian 12 (bookworm)")
    assert info.value.exit_code == 7
    assert str(info.value) == ("foo: foo==2.0 requires Python >=3.12; Debian 12 (bookworm) has "
                               "3.11.2; the newest release that admits it is 1.9.3")
    assert info.value.hint is not None and "foo==1.9.3" in info.value.hint
    # a bound that only newer releases meet names the newest admitting one all the same
    with pytest.raises(RequiresPythonError, match="admits it is 1.9.3"):
        do("foo>=2", local_index, session)
    # the same pin for a target whose Python it admits resolves
    assert do("foo==2.0", local_index, session, py="3.12.1").version == Version("2.0")
    # an unpinned requirement falls back to what the target can build, as before
    assert do("foo", local_index, session).version == Version("1.9.3")


def test_requires_python_falls_back_and_is_recorded(
    local_index: LocalIndex, session: requests.Session
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", data("1.0"), requires_python=">=3.8")
    local_index.add("demo", "demo-2.0.tar.gz", data("2.0"), requires_python=">=3.12")
    release = do("demo", local_index, session)
    assert release.version == Version("1.0")
    assert release.requires_python == SpecifierSet(">=3.8")
    # judged against the target's Python, not ours
    assert do("demo", local_index, session, py="3.12.1").version == Version("2.0")


def test_invalid_requires_python_is_ignored_like_pip(
    local_index: LocalIndex, session: requests.Session
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", data("1.0"), requires_python="not a spec")
    release = do("demo", local_index, session)
    assert release.requires_python is None


@pytest.mark.parametrize("hashes", [{}, {"md5": "0" * 32}])
def test_missing_sha256_is_refused(
    local_index: LocalIndex, session: requests.Session, hashes: dict[str, str]
) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", data("1.0"), hashes=hashes)
    with pytest.raises(ResolveError, match="no sha256 digest"):
        do("demo", local_index, session)


def test_malformed_sha256_is_refused(local_index: LocalIndex, session: requests.Session) -> None:
    local_index.add("demo", "demo-1.0.tar.gz", data("1.0"), sha256="../../etc")
    with pytest.raises(ResolveError, match="malformed sha256"):
        do("demo", local_index, session)


def test_tar_gz_preferred_over_zip(local_index: LocalIndex, session: requests.Session) -> None:
    local_index.add("demo", "demo-1.0.zip", data("zip"))
    local_index.add("demo", "demo-1.0.tar.gz", data("tgz"))
    assert do("demo", local_index, session).filename == "demo-1.0.tar.gz"
    local_index.add("other", "other-1.0.zip", data("zip"))
    assert do("other", local_index, session).filename == "other-1.0.zip"


def test_names_are_normalised(local_index: LocalIndex, session: requests.Session) -> None:
    local_index.add("Demo.Pkg", "Demo.Pkg-1.0.tar.gz", data("1.0"))
    local_index.add("Demo.Pkg", "demo_pkg-1.1.tar.gz", data("1.1"))
    release = do("demo_PKG", local_index, session)
    assert release.name == "demo-pkg"
    assert release.filename == "demo_pkg-1.1.tar.gz"


def test_html_index(session: requests.Session) -> None:
    with LocalIndex(json=False) as index:
        publish(index, "1.0")
        index.add("demo", "demo-2.0.tar.gz", data("2.0"), yanked="")
        index.add("demo", "demo-3.0.tar.gz", data("3.0"), requires_python=">=3.99")
        release = do("demo", index, session)
        assert release.version == Version("1.0")
        assert release.size is None  # PEP 503 HTML has no sizes
        assert release.sha256 == hashlib.sha256(data("demo-1.0")).hexdigest()
        assert do("demo==2.0", index, session).yanked


def test_json_is_preferred(local_index: LocalIndex, session: requests.Session) -> None:
    publish(local_index, "1.0")
    assert do("demo", local_index, session).size is not None  # only the JSON form has sizes


def test_direct_url_refused(local_index: LocalIndex, session: requests.Session) -> None:
    with pytest.raises(ResolveError, match="direct URL"):
        do("demo @ https://example.invalid/demo-1.0.tar.gz", local_index, session)


def test_index_unreachable(session: requests.Session) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    with pytest.raises(ResolveError, match="unreachable") as info:
        resolve(Requirement("demo"), python_full_version=PY,
                index=f"http://127.0.0.1:{port}/simple/", session=session)
    assert info.value.project == "demo"
    assert isinstance(info.value.__cause__, requests.RequestException)


def test_index_server_error(session: requests.Session) -> None:
    class Broken(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with _serve(Broken) as url, pytest.raises(ResolveError, match="500"):
        resolve(Requirement("demo"), python_full_version=PY, index=url, session=session)


@pytest.mark.process
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a cert")
def test_untrusted_tls_certificate(tmp_path: Path, session: requests.Session) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with _serve(Ok, ctx) as url:
        with pytest.raises(ResolveError, match="TLS verification failed") as info:
            resolve(Requirement("demo"), python_full_version=PY, index=url, session=session)
        assert info.value.hint and "trust store" in info.value.hint


class _serve:
    def __init__(
        self, handler: type[BaseHTTPRequestHandler], ctx: ssl.SSLContext | None = None
    ) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if ctx is not None:
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if ctx else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/simple/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the real PyPI -----------------------------------------------------------------------


@pytest.mark.network
def test_django_4_2_on_pypi() -> None:
    with http.session() as s:
        release = resolve(Requirement("django==4.2"), python_full_version=PY,
                          index=DEFAULT_INDEX_URL, session=s)
    assert release.name == "django"
    assert release.version == Version("4.2")
    assert release.filename == "Django-4.2.tar.gz"
    assert release.sha256 == "c36e2ab12824e2ac36afa8b2515a70c53c7742f0d6eaefa7311ec379558db997"
    assert release.size == 10415665
    assert release.url.startswith("https://")
    assert release.requires_python == SpecifierSet(">=3.8")
    assert not release.yanked
    assert release.index_url == DEFAULT_INDEX_URL


# -- which index -------------------------------------------------------------------------


@pytest.fixture
def pipenv(tmp_path: Path) -> dict[str, str]:
    """An environment whose HOME, XDG dirs and /etc are all under tmp_path."""
    (tmp_path / "home").mkdir()
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_DIRS": str(tmp_path / "etc" / "xdg"),
    }


def conf(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def url_for(env: dict[str, str], tmp_path: Path) -> str:
    files = pip_config_files(env, etc_dir=tmp_path / "etc", prefix=tmp_path / "prefix")
    return index_url(environ=env, config_files=files)


def test_pip_config_files_order(pipenv: dict[str, str], tmp_path: Path) -> None:
    env = dict(pipenv, XDG_CONFIG_HOME=str(tmp_path / "xdg-home"))
    files = pip_config_files(env, etc_dir=tmp_path / "etc", prefix=tmp_path / "prefix")
    assert files == [
        tmp_path / "etc" / "xdg" / "pip" / "pip.conf",
        tmp_path / "etc" / "pip.conf",
        tmp_path / "home" / ".pip" / "pip.conf",
        tmp_path / "xdg-home" / "pip" / "pip.conf",
        tmp_path / "prefix" / "pip.conf",
    ]
    default_xdg = pip_config_files(pipenv, etc_dir=tmp_path / "etc", prefix=tmp_path / "p")
    assert tmp_path / "home" / ".config" / "pip" / "pip.conf" in default_xdg
    assert pip_config_files({"HOME": "/h"}, etc_dir=Path("/e"))[0] == Path("/e/xdg/pip/pip.conf")


def test_pip_config_file_env_replaces_user_files(pipenv: dict[str, str], tmp_path: Path) -> None:
    mine = conf(tmp_path / "mine.conf", "[global]\nindex-url = https://mine/simple\n")
    files = pip_config_files(dict(pipenv, PIP_CONFIG_FILE=str(mine)), etc_dir=tmp_path / "etc")
    assert files[-1] == mine
    assert not any(str(f).startswith(pipenv["HOME"]) for f in files)
    # a PIP_CONFIG_FILE that does not exist keeps the user files (as pip does)
    files = pip_config_files(dict(pipenv, PIP_CONFIG_FILE=str(tmp_path / "nope")))
    assert any(str(f).startswith(pipenv["HOME"]) for f in files)


def test_default_index(pipenv: dict[str, str], tmp_path: Path) -> None:
    assert url_for(pipenv, tmp_path) == DEFAULT_INDEX_URL == "https://pypi.org/simple/"


def test_env_wins(pipenv: dict[str, str], tmp_path: Path) -> None:
    conf(tmp_path / "home" / ".config" / "pip" / "pip.conf",
         "[install]\nindex-url = https://user/simple\n")
    env = dict(pipenv, PIP_INDEX_URL="https://env/simple/")
    assert url_for(env, tmp_path) == "https://env/simple/"
    # an empty value is ignored, as pip ignores it
    assert url_for(dict(pipenv, PIP_INDEX_URL=""), tmp_path) == "https://user/simple"


def test_later_files_override(pipenv: dict[str, str], tmp_path: Path) -> None:
    conf(tmp_path / "etc" / "xdg" / "pip" / "pip.conf", "[global]\nindex-url = https://xdg/\n")
    assert url_for(pipenv, tmp_path) == "https://xdg/"
    conf(tmp_path / "etc" / "pip.conf", "[global]\nindex-url = https://etc/\n")
    assert url_for(pipenv, tmp_path) == "https://etc/"
    conf(tmp_path / "home" / ".pip" / "pip.conf", "[global]\nindex_url = https://legacy/\n")
    assert url_for(pipenv, tmp_path) == "https://legacy/"
    conf(tmp_path / "home" / ".config" / "pip" / "pip.conf",
         "[global]\nindex-url = https://user/\n")
    assert url_for(pipenv, tmp_path) == "https://user/"
    conf(tmp_path / "prefix" / "pip.conf", "[global]\nindex-url = https://site/\n")
    assert url_for(pipenv, tmp_path) == "https://site/"
    env = dict(pipenv, PIP_CONFIG_FILE=str(conf(tmp_path / "env.conf",
                                               "[global]\nindex-url = https://envfile/\n")))
    assert url_for(env, tmp_path) == "https://envfile/"


def test_xdg_config_home(pipenv: dict[str, str], tmp_path: Path) -> None:
    conf(tmp_path / "cfg" / "pip" / "pip.conf", "[global]\nindex-url = https://xdghome/\n")
    assert url_for(dict(pipenv, XDG_CONFIG_HOME=str(tmp_path / "cfg")), tmp_path) == (
        "https://xdghome/"
    )
    assert url_for(pipenv, tmp_path) == DEFAULT_INDEX_URL


def test_command_sections_beat_global_across_files(
    pipenv: dict[str, str], tmp_path: Path
) -> None:
    # pip merges all files first, then applies [global] < [command]: an [install] in the
    # site-wide file beats a [global] in the user's file.
    conf(tmp_path / "etc" / "pip.conf", "[install]\nindex-url = https://etc-install/\n")
    conf(tmp_path / "home" / ".config" / "pip" / "pip.conf",
         "[global]\nindex-url = https://user-global/\n")
    assert url_for(pipenv, tmp_path) == "https://etc-install/"
    conf(tmp_path / "home" / ".pip" / "pip.conf", "[download]\nindex-url = https://dl/\n")
    assert url_for(pipenv, tmp_path) == "https://dl/"


def test_extra_index_url_is_ignored(pipenv: dict[str, str], tmp_path: Path) -> None:
    conf(tmp_path / "etc" / "pip.conf", "[global]\nextra-index-url = https://extra/\n")
    env = dict(pipenv, PIP_EXTRA_INDEX_URL="https://extra2/")
    assert url_for(env, tmp_path) == DEFAULT_INDEX_URL


def test_empty_config_value_is_ignored(pipenv: dict[str, str], tmp_path: Path) -> None:
    # As in pip: an empty [install] value does not shadow [global]; an empty value in a
    # later file does replace the earlier file's value (files merge first), and is then
    # skipped, leaving the default.
    conf(tmp_path / "etc" / "pip.conf", "[global]\nindex-url = https://etc/\n")
    conf(tmp_path / "home" / ".pip" / "pip.conf", "[install]\nindex-url =\n")
    assert url_for(pipenv, tmp_path) == "https://etc/"
    conf(tmp_path / "home" / ".config" / "pip" / "pip.conf", "[global]\nindex-url =\n")
    assert url_for(pipenv, tmp_path) == DEFAULT_INDEX_URL


def test_unreadable_config_is_a_config_error(pipenv: dict[str, str], tmp_path: Path) -> None:
    bad = conf(tmp_path / "etc" / "pip.conf", "index-url = no section\n")
    with pytest.raises(ConfigError, match=str(bad)):
        url_for(pipenv, tmp_path)


def test_index_url_defaults_to_os_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://from-os-environ/simple/")
    assert index_url() == "https://from-os-environ/simple/"
    monkeypatch.delenv("PIP_INDEX_URL")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf(tmp_path / "p.conf",
                                                   "[download]\nindex-url = https://pcf/\n")))
    assert index_url() == "https://pcf/"
