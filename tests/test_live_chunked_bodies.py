"""Bodies sent with `Transfer-Encoding: chunked` (no Content-Length) are read, within the size limit.

Django's test client always declares a Content-Length, so only a real server (granian) and a
raw HTTP client can send such a body: `http.client` with `encode_chunked=True`, and a socket for
a body that never ends.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from segops_server.testing.live import LiveServer, live_server

pytestmark = pytest.mark.live

LIMIT = 4096  # SEGOPS_MAX_BODY_BYTES for this server: small, so "too big" is cheap to send


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("live-chunked")
    with live_server(directory, workers=1, env={"SEGOPS_MAX_BODY_BYTES": str(LIMIT)}) as live:
        yield live


@pytest.fixture(scope="module")
def credentials(server: LiveServer) -> tuple[dict[str, str], str]:
    registered = requests.post(
        f"{server.url}/api/auth/register/",
        json={
            "email": "chunks@initech.test",
            "password": "a-live-chunked-pass-31",
            "tenant_name": "Initech",
            "tenant_slug": "initech",
        },
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    bearer = {"Authorization": f"Bearer {registered.json()['access']}"}
    created = requests.post(
        f"{server.url}/api/auth/api-keys/", json={"name": "Chunks"}, headers=bearer, timeout=10
    )
    assert created.status_code == 201, created.text
    return bearer, created.json()["key"]


def _chunked_post(server: LiveServer, path: str, chunks: Iterable[bytes], key: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(
            "POST",
            path,
            body=iter(chunks),
            headers={"Content-Type": "application/json", "Authorization": f"ApiKey {key}"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def _in_pieces(body: dict[str, Any], size: int = 7) -> list[bytes]:
    raw = json.dumps(body).encode()
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def _event_types(server: LiveServer, bearer: dict[str, str], user_id: str) -> list[str]:
    response = requests.get(
        f"{server.url}/api/explorer/users/{quote(user_id, safe='')}/events/", headers=bearer, timeout=10
    )
    assert response.status_code == 200, response.text
    return sorted(e["event_type"] for e in response.json()["results"])


def test_it_reads_a_chunked_single_event(server: LiveServer, credentials: tuple[dict[str, str], str]) -> None:
    bearer, key = credentials
    event = {"user_id": "chunked-one", "event_type": "page_viewed"}

    status, body = _chunked_post(server, "/api/ingestion/track/", _in_pieces(event), key)

    assert (status, body) == (202, {"queued": True})
    assert _event_types(server, bearer, "chunked-one") == ["page_viewed"]


def test_it_reads_a_chunked_batch(server: LiveServer, credentials: tuple[dict[str, str], str]) -> None:
    bearer, key = credentials
    batch = {"events": [{"user_id": "chunked-two", "event_type": t} for t in ("signed_up", "order_placed")]}

    status, body = _chunked_post(server, "/api/ingestion/track/batch/", _in_pieces(batch), key)

    assert status == 202, body
    assert (body["queued"], body["skipped"]) == (2, 0)
    assert _event_types(server, bearer, "chunked-two") == ["order_placed", "signed_up"]


@pytest.mark.parametrize("path", ["/api/ingestion/track/", "/api/ingestion/track/batch/"])
def test_it_refuses_a_chunked_body_over_the_limit_with_413(
    server: LiveServer, credentials: tuple[dict[str, str], str], path: str
) -> None:
    bearer, key = credentials
    event = {"user_id": "chunked-big", "event_type": "page_viewed", "payload": {"pad": "x" * LIMIT}}

    status, body = _chunked_post(server, path, _in_pieces(event, size=512), key)

    assert status == 413
    assert str(LIMIT) in body["detail"]
    missing = requests.get(f"{server.url}/api/explorer/users/chunked-big/", headers=bearer, timeout=10)
    assert missing.status_code == 404


def test_it_answers_413_to_an_endless_chunked_body_without_reading_it_all(
    server: LiveServer, credentials: tuple[dict[str, str], str]
) -> None:
    _, key = credentials
    head = (
        "POST /api/ingestion/track/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        f"Authorization: ApiKey {key}\r\n"
        "Content-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"x" * 1024
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        # Past the limit, and the body never ends (no last chunk): the answer must still come.
        for _ in range(LIMIT // len(chunk) + 2):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
