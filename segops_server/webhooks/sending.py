"""One webhook POST to a vetted destination, and its outcome as a record (never an exception).

The standard library's `http.client`, not a higher-level client: it connects where it is told
(here, to an address the SSRF guard vetted, while the Host header and TLS name and certificate
check stay those of the URL's host), never follows a redirect, never reads proxy settings from
the environment, and needs no run-time dependency (requests and urllib3 are only in the
project's development tools).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from segops_server.core.errors import Invalid
from segops_server.webhooks.ssrf import Destination, IPAddress, destination_check

TIMEOUT_SECONDS = 10.0
BODY_HEAD_BYTES = 1024  # what is kept of a receiver's answer, for the delivery record


@dataclass(frozen=True)
class Outcome:
    """One attempt: the status answered (None when there was no answer), or the error instead."""

    status: int | None
    duration_ms: int
    body_head: str = ""
    error: str | None = None
    address: str | None = None  # the address connected to, when one was
    retry_after: str | None = None  # the answer's Retry-After header, as sent

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


def _connect(address: IPAddress, port: int, timeout: float | None) -> socket.socket:
    sock = socket.create_connection((str(address), port), timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to one vetted address; the Host header stays the URL's host."""

    def __init__(self, host: str, port: int, *, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = _connect(self.address, self.port, self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one vetted address; SNI, the Host header and the certificate check use the URL's host."""

    def __init__(
        self, host: str, port: int, *, address: IPAddress, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address
        self.tls = context

    def connect(self) -> None:
        sock = _connect(self.address, self.port, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def connection(
    destination: Destination, address: IPAddress, *, timeout: float, context: ssl.SSLContext | None = None
) -> http.client.HTTPConnection:
    """A connection to `address`, one of `destination`'s vetted addresses (nothing is resolved)."""
    if address not in destination.addresses:
        raise ValueError(f"{address} is not one of the vetted addresses of {destination.host}.")
    if destination.scheme == "https":
        tls = context if context is not None else ssl.create_default_context()
        return PinnedHTTPSConnection(
            destination.host, destination.port, address=address, timeout=timeout, context=tls
        )
    return PinnedHTTPConnection(destination.host, destination.port, address=address, timeout=timeout)


class _Clock:
    """One attempt's start, deadline and way of writing its outcome."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.started = time.monotonic()
        self.deadline = self.started + timeout

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def outcome(
        self,
        status: int | None,
        *,
        body_head: str = "",
        error: str | None = None,
        address: str | None = None,
        retry_after: str | None = None,
    ) -> Outcome:
        elapsed = int((time.monotonic() - self.started) * 1000)
        return Outcome(
            status=status,
            duration_ms=elapsed,
            body_head=body_head,
            error=error,
            address=address,
            retry_after=retry_after,
        )

    def timed_out(self) -> str:
        return f"timed out after {self.timeout:g} s"

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError) or self.remaining() <= 0:
            return self.timed_out()
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"TLS certificate not accepted: {exc.verify_message}"
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def post_vetted(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    timeout: float = TIMEOUT_SECONDS,
    context: ssl.SSLContext | None = None,
) -> Outcome:
    """POST `body` to `url` once, after the SSRF checks, within `timeout` seconds in all.

    Every way it can go wrong comes back as an Outcome with `error` set (a refused URL, a name
    that does not resolve, no connection, TLS, a timeout), so the caller records every attempt
    alike. A redirect is an answer like any other (its status is recorded, it is not followed):
    following it would send the signed body somewhere never vetted. The vetted addresses are
    tried in order until one connects.
    """
    clock = _Clock(timeout)
    try:
        destination = destination_check(url, allow_private=allow_private)
    except Invalid as exc:
        return clock.outcome(None, error=f"refused: {exc}")
    error = "no address to connect to"
    for address in destination.addresses:
        if clock.remaining() <= 0:
            return clock.outcome(None, error=clock.timed_out())
        conn = connection(destination, address, timeout=clock.remaining(), context=context)
        try:
            conn.connect()
        except OSError as exc:  # ssl.SSLError is an OSError too
            conn.close()
            error = f"{address}: {clock.describe(exc)}"
            continue
        return _exchange(conn, destination.target, body, headers, address=str(address), clock=clock)
    return clock.outcome(None, error=error)


def _exchange(
    conn: http.client.HTTPConnection,
    target: str,
    body: bytes,
    headers: dict[str, str],
    *,
    address: str,
    clock: _Clock,
) -> Outcome:
    # A socket timeout bounds each wait, not the whole answer: a receiver sending one byte at
    # a time could hold the worker for ever. At the deadline the connection is shut, which ends
    # whatever read is waiting.
    watchdog = threading.Timer(max(clock.remaining(), 0), _shut, args=(conn,))
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            conn.request("POST", target, body=body, headers=headers)
            response = conn.getresponse()
        except Exception as exc:  # every failure is an outcome to record, none a crash of the worker
            return clock.outcome(None, error=clock.describe(exc), address=address)
        try:
            head = response.read(BODY_HEAD_BYTES)
        except Exception:  # the status is the answer; the body is kept only as a hint
            head = b""
    finally:
        watchdog.cancel()
        conn.close()
    return clock.outcome(
        response.status,
        body_head=head.decode("utf-8", errors="replace"),
        address=address,
        retry_after=response.getheader("Retry-After"),
    )


def _shut(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is None:
        return
    # The plain socket's shutdown, also for TLS: it wakes a blocked read without touching the
    # TLS state another thread is using.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
