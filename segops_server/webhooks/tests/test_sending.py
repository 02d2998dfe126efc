"""post_vetted against a real local HTTP server: every attempt becomes an Outcome, nothing raises."""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from segops_server.webhooks.sending import PinnedHTTPSConnection, connection, post_vetted
from segops_server.webhooks.signing import payload_body, secret_generate, signed_headers
from segops_server.webhooks.ssrf import Destination

BODY = payload_body({"event": "ping", "tenant_slug": "acme"})
HEADERS = signed_headers(secret_generate(), BODY, message_id="msg_1", timestamp=int(time.time()))


Received = list[tuple[str, dict[str, str], bytes]]  # path, headers, body of each request
Served = tuple[str, Received]  # the server's "address:port", what it received


class Receiver(BaseHTTPRequestHandler):
    received: Received

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers), body))
        getattr(self, "answer_" + self.path.strip("/"))()

    def answer_ok(self) -> None:
        self._answer(200, b"x" * 5000)

    def answer_moved(self) -> None:
        self.send_response(302)
        self.send_header("Location", "/ok")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def answer_slow(self) -> None:
        time.sleep(1)
        with contextlib.suppress(OSError):  # the sender has long given up
            self._answer(200, b"late")

    def answer_drip(self) -> None:
        # Each byte well within the socket timeout, the whole answer far past the deadline.
        with contextlib.suppress(OSError):
            for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"y" * 100:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.05)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(
    tls: ssl.SSLContext | None = None,
) -> Iterator[Served]:
    received: Received = []
    handler = type("Handler", (Receiver,), {"received": received})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", received
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server() -> Iterator[Served]:
    yield from _serve()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for the name localhost only (not for the address 127.0.0.1)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return folder


@pytest.fixture
def tls_server(certificate: Path) -> Iterator[Served]:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    yield from _serve(tls)


def _trusting(certificate: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate / "cert.pem"))


def test_it_records_status_duration_and_the_head_of_the_answer(server: Served) -> None:
    where, received = server
    outcome = post_vetted(f"http://{where}/ok", BODY, HEADERS, allow_private=True)
    assert outcome.status == 200
    assert outcome.succeeded
    assert outcome.error is None
    assert outcome.body_head == "x" * 1024
    assert 0 <= outcome.duration_ms < 5000
    assert outcome.address == "127.0.0.1"
    [(path, headers, body)] = received
    assert (path, body) == ("/ok", BODY)
    assert headers["X-SegOps-Signature"] == HEADERS["X-SegOps-Signature"]
    assert headers["webhook-signature"] == HEADERS["webhook-signature"]
    assert headers["User-Agent"].startswith("SegOps-Webhooks/")


def test_it_sends_the_urls_host_while_connecting_to_a_vetted_address(server: Served) -> None:
    where, received = server
    port = where.rsplit(":", 1)[1]
    # localhost may resolve to ::1 first, where nothing listens: the next vetted address is tried.
    outcome = post_vetted(f"http://localhost:{port}/ok", BODY, HEADERS, allow_private=True)
    assert outcome.status == 200
    assert received[0][1]["Host"] == f"localhost:{port}"


def test_it_does_not_follow_redirects(server: Served) -> None:
    where, received = server
    outcome = post_vetted(f"http://{where}/moved", BODY, HEADERS, allow_private=True)
    assert outcome.status == 302
    assert not outcome.succeeded
    assert [path for path, _, _ in received] == ["/moved"]


def test_it_refuses_a_private_url_without_connecting(server: Served) -> None:
    where, received = server
    outcome = post_vetted(f"http://{where}/ok", BODY, HEADERS, allow_private=False)
    assert outcome.status is None
    assert outcome.error == "refused: Webhook URLs must start with https://."
    outcome = post_vetted(f"https://{where}/ok", BODY, HEADERS, allow_private=False)
    assert outcome.error is not None
    assert "127.0.0.1 is a loopback address" in outcome.error
    assert received == []


def test_it_records_a_refused_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = post_vetted(f"http://127.0.0.1:{port}/ok", BODY, HEADERS, allow_private=True)
    assert outcome.status is None
    assert outcome.error == "127.0.0.1: connection refused"


@pytest.mark.parametrize("path", ["slow", "drip"])
def test_it_gives_up_at_the_timeout(server: Served, path: str) -> None:
    where, _ = server
    outcome = post_vetted(f"http://{where}/{path}", BODY, HEADERS, allow_private=True, timeout=0.4)
    assert outcome.status is None
    assert outcome.error == "timed out after 0.4 s"
    assert 350 <= outcome.duration_ms < 1500


def test_it_records_a_tls_failure(server: Served) -> None:
    where, _ = server
    outcome = post_vetted(f"https://{where}/ok", BODY, HEADERS, allow_private=True, timeout=2)
    assert outcome.status is None
    assert outcome.error is not None
    assert "SSL" in outcome.error


def test_it_speaks_tls_to_the_vetted_address_under_the_urls_host_name(
    tls_server: Served, certificate: Path
) -> None:
    where, received = tls_server
    port = where.rsplit(":", 1)[1]
    outcome = post_vetted(
        f"https://localhost:{port}/ok", BODY, HEADERS, allow_private=True, context=_trusting(certificate)
    )
    assert outcome.status == 200
    assert outcome.address == "127.0.0.1"
    assert received[0][1]["Host"] == f"localhost:{port}"


def test_it_checks_the_certificate_against_the_urls_host(tls_server: Served, certificate: Path) -> None:
    where, received = tls_server
    # The certificate names localhost, not 127.0.0.1: connecting to the same address under
    # another name must fail; and an untrusted certificate fails whatever the name.
    outcome = post_vetted(
        f"https://{where}/ok", BODY, HEADERS, allow_private=True, context=_trusting(certificate)
    )
    assert outcome.error is not None
    assert "TLS certificate not accepted" in outcome.error
    port = where.rsplit(":", 1)[1]
    outcome = post_vetted(f"https://localhost:{port}/ok", BODY, HEADERS, allow_private=True)
    assert outcome.error is not None
    assert "TLS certificate not accepted" in outcome.error
    assert received == []


def test_it_connects_only_to_vetted_addresses_with_the_urls_host_for_tls() -> None:
    vetted = ipaddress.ip_address("93.184.215.14")
    destination = Destination("https", "hooks.example.com", 443, "/", (vetted,))
    conn = connection(destination, vetted, timeout=1)
    assert isinstance(conn, PinnedHTTPSConnection)
    assert (conn.host, conn.port, conn.address) == ("hooks.example.com", 443, vetted)
    with pytest.raises(ValueError, match="not one of the vetted addresses"):
        connection(destination, ipaddress.ip_address("10.0.0.1"), timeout=1)
