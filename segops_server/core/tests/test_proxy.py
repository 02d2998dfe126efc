"""HTTPS behind a proxy: scheme headers count only from the addresses in SEGOPS_FORWARDED_ALLOW_IPS."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from segops_server.core.proxy import process_environment_dropped, trusted_proxy_scheme


def _scheme_seen(allow_ips: str, remote_addr: str, scheme: str = "http", **headers: str) -> str:
    """The wsgi.url_scheme the wrapped application sees for one request (plain HTTP by default)."""
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.update(environ)
        start_response("200 OK", [])
        return [b"ok"]

    environ = {"REMOTE_ADDR": remote_addr, "wsgi.url_scheme": scheme, **headers}
    start_response = lambda status, headers, exc_info=None: None  # noqa: E731
    assert trusted_proxy_scheme(app, allow_ips)(environ, start_response) == [b"ok"]
    return str(seen["wsgi.url_scheme"])


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_FORWARDED_PROTO": "https"},
        {"HTTP_X_FORWARDED_SSL": "on"},
        {"HTTP_X_FORWARDED_PROTOCOL": "ssl"},
        {"HTTP_X_FORWARDED_PROTO": " HTTPS "},
    ],
)
def test_a_trusted_proxy_saying_https_makes_the_request_https(header: dict[str, str]) -> None:
    assert _scheme_seen("127.0.0.1", "127.0.0.1", **header) == "https"


def test_the_same_headers_from_an_untrusted_peer_are_ignored() -> None:
    assert _scheme_seen("127.0.0.1", "203.0.113.9", HTTP_X_FORWARDED_PROTO="https") == "http"
    assert _scheme_seen("127.0.0.1", "203.0.113.9", HTTP_X_FORWARDED_SSL="on") == "http"
    assert _scheme_seen("", "127.0.0.1", HTTP_X_FORWARDED_PROTO="https") == "http"


def test_a_star_trusts_any_peer() -> None:
    assert _scheme_seen("*", "203.0.113.9", HTTP_X_FORWARDED_PROTO="https") == "https"
    assert _scheme_seen("10.0.0.1, *", "198.51.100.7", HTTP_X_FORWARDED_SSL="on") == "https"


def test_without_a_scheme_header_the_request_stays_http() -> None:
    assert _scheme_seen("127.0.0.1", "127.0.0.1") == "http"
    assert _scheme_seen("*", "203.0.113.9") == "http"
    assert _scheme_seen("127.0.0.1", "127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7") == "http"


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_FORWARDED_PROTO": "http"},
        {"HTTP_X_FORWARDED_PROTO": "https,http"},  # a client's header and the proxy's, joined
        {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_SSL": "off"},
    ],
)
def test_headers_that_do_not_all_say_https_leave_it_http(headers: dict[str, str]) -> None:
    assert _scheme_seen("127.0.0.1", "127.0.0.1", **headers) == "http"


def test_it_trusts_every_listed_address_however_it_is_written() -> None:
    allow = "10.0.0.1, 10.0.0.2,::1,[2001:db8:0::1]"
    for peer in ("10.0.0.1", "10.0.0.2", "::1", "2001:db8::1", "::ffff:10.0.0.2"):
        assert _scheme_seen(allow, peer, HTTP_X_FORWARDED_PROTO="https") == "https", peer
    assert _scheme_seen(allow, "10.0.0.3", HTTP_X_FORWARDED_PROTO="https") == "http"


def test_it_refuses_an_entry_that_is_not_an_address() -> None:
    with pytest.raises(ImproperlyConfigured, match="proxy-internal"):
        trusted_proxy_scheme(lambda environ, start_response: [], "127.0.0.1,proxy-internal")


def test_it_never_turns_https_into_http() -> None:
    scheme = _scheme_seen("127.0.0.1", "127.0.0.1", scheme="https", HTTP_X_FORWARDED_PROTO="http")
    assert scheme == "https"


def test_the_process_environment_never_reaches_a_request() -> None:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.update(environ)
        return [b"ok"]

    process = {"DATABASE_URL": "postgres://u:secret@db/x", "SEGOPS_SECRET_KEY": "s", "PATH": "/bin"}
    environ = {
        **process,
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": "ApiKey k",
        "wsgi.url_scheme": "http",
    }
    process_environment_dropped(app, {**process, "REQUEST_METHOD": "x", "HTTP_X": "y"})(
        environ, lambda *a: None
    )
    assert set(seen) == {
        "REQUEST_METHOD",
        "PATH_INFO",
        "REMOTE_ADDR",
        "HTTP_AUTHORIZATION",
        "wsgi.url_scheme",
    }
