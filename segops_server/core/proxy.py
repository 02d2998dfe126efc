"""HTTPS behind a reverse proxy: trust the proxy's scheme headers from the proxy's address only.

The proxy terminates TLS and forwards plain HTTP with `X-Forwarded-Proto: https` (or
`X-Forwarded-Ssl: on`, or `X-Forwarded-Protocol: ssl`). `trusted_proxy_scheme` wraps the WSGI
application: when the request comes from an address in SEGOPS_FORWARDED_ALLOW_IPS (comma
separated, `*` for any) and those headers say HTTPS, `wsgi.url_scheme` becomes `https`, so
Django builds https:// links, honours `Secure` cookies and the HTTPS redirect. From any other
address the headers are ignored: a client cannot claim HTTPS by sending them itself.

The rules are those SegOps had before granian (`--forwarded-allow-ips` and the default secure
scheme headers of the previous server): exact addresses, not networks; every scheme header
present must say HTTPS (a request whose headers disagree stays http rather than getting a 400).

The same setting decides whose X-Forwarded-For is believed: `client_address` is the one helper
that names the client (throttles, audit entries, a key's last use, /metrics), so one setting
says which proxies are trusted, for everything.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# WSGI environ key -> the value that means HTTPS (compared case-insensitively).
SECURE_SCHEME_HEADERS = {
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_SSL": "on",
    "HTTP_X_FORWARDED_PROTOCOL": "ssl",
}


def forwarded_allow_ips() -> str:
    """SEGOPS_FORWARDED_ALLOW_IPS, or its default: only a proxy on this machine."""
    return os.environ.get("SEGOPS_FORWARDED_ALLOW_IPS", "127.0.0.1")


def allowed_addresses(allow_ips: str) -> frozenset[str] | None:
    """The peer addresses to trust, as REMOTE_ADDR may spell them; None means any address.

    ImproperlyConfigured on an entry that is not an IP address: a typo must not quietly trust
    no one (`segops run` checks this before it starts the server)."""
    entries = [entry.strip() for entry in allow_ips.split(",") if entry.strip()]
    if "*" in entries:
        return None
    allowed: set[str] = set()
    for entry in entries:
        try:
            address = ipaddress.ip_address(entry.strip("[]"))
        except ValueError:
            raise ImproperlyConfigured(
                f"SEGOPS_FORWARDED_ALLOW_IPS: {entry!r} is not an IP address (or '*')"
            ) from None
        allowed |= {entry, str(address), address.exploded}
        if isinstance(address, ipaddress.IPv4Address):  # as seen on a dual-stack (IPv6) socket
            allowed.add(f"::ffff:{address}")
    return frozenset(allowed)


@lru_cache(maxsize=4)
def _trusted_proxies(allow_ips: str) -> frozenset[str] | None:
    return allowed_addresses(allow_ips)


def client_address(request: HttpRequest | Any) -> str:  # Any: DRF's Request reads the same META
    """The client's address, for every use (throttles, audit, a key's last use, /metrics).

    The peer's, unless the peer is a trusted proxy (the same SEGOPS_FORWARDED_ALLOW_IPS as for
    HTTPS); then the nearest address in its X-Forwarded-For that is not itself a trusted
    proxy. Entries to the left of that one were written by the client and are never believed.

    Behind a proxy on this machine, the proxy must send X-Forwarded-For: without it every
    request would look as if it came from the proxy's own (loopback) address.
    """
    peer = str(request.META.get("REMOTE_ADDR", ""))
    trusted = _trusted_proxies(forwarded_allow_ips())
    if trusted is not None and peer not in trusted:
        return peer
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return peer
    if trusted is None:
        return hops[-1]  # any peer is "trusted": believe one hop only, the one it added
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return hops[0]


def _says_https(environ: dict[str, Any]) -> bool:
    said = False
    for key, secure in SECURE_SCHEME_HEADERS.items():
        value = environ.get(key)
        if value is None:
            continue
        if value.strip().lower() != secure:
            return False  # a scheme header that says otherwise: not HTTPS
        said = True
    return said


def trusted_proxy_scheme(app: WSGIApp, allow_ips: str) -> WSGIApp:
    """`app`, seeing `wsgi.url_scheme = "https"` when a trusted proxy says the client used HTTPS."""
    allowed = allowed_addresses(allow_ips)
    if allowed is not None and not allowed:
        return app  # nobody is trusted: nothing to do per request

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (allowed is None or environ.get("REMOTE_ADDR") in allowed) and _says_https(environ):
            environ["wsgi.url_scheme"] = "https"
        return app(environ, start_response)

    return application


# What a WSGI server itself puts in the environ (PEP 3333 and CGI); never the process's own.
_CGI_KEYS = frozenset(
    {
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SERVER_SOFTWARE",
        "GATEWAY_INTERFACE",
        "REMOTE_ADDR",
        "REMOTE_HOST",
        "REMOTE_PORT",
        "REMOTE_USER",
        "AUTH_TYPE",
        "HTTPS",
    }
)


def process_environment_dropped(app: WSGIApp, process_environ: dict[str, str] | None = None) -> WSGIApp:
    """`app`, without the server process's environment variables in each request's environ.

    granian starts every request's environ from the process environment (as wsgiref does), so
    DATABASE_URL, SEGOPS_* secrets and the rest would sit in request.META, where error reports
    and debug pages read. Request headers (HTTP_*) and the CGI keys the server sets are kept.
    """
    names = process_environ if process_environ is not None else os.environ
    dropped = tuple(
        name for name in names if name not in _CGI_KEYS and not name.startswith(("HTTP_", "wsgi."))
    )

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        for name in dropped:
            environ.pop(name, None)
        return app(environ, start_response)

    return application
