"""Chunked request bodies: read within the size limit and given a length, on both ways through.

tests/test_live_chunked_bodies.py sends real chunked requests to granian; here the WSGI
application is called with the environ a server builds for one (no CONTENT_LENGTH, the body
already de-chunked in wsgi.input, HTTP_TRANSFER_ENCODING set).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import RequestFactory, override_settings

from segops_server.core.middleware import chunked_bodies_buffered
from segops_server.ingestion.models import Event
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key
from segops_server.testing.wsgi import Application

TRACK = "/api/ingestion/track/"
BATCH = "/api/ingestion/track/batch/"
LIMIT = 2048


class _Endless(io.RawIOBase):
    """A body that never ends, counting what was read of it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        assert size > 0, "an endless body must never be read whole"
        self.read_bytes += size
        return b"x" * size


def _chunked_environ(path: str, body: bytes | io.RawIOBase, key: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"ApiKey {key}"} if key else {}
    environ: dict[str, Any] = (
        RequestFactory().post(path, b"", content_type="application/json", headers=headers).environ
    )
    environ.pop("CONTENT_LENGTH", None)
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input"] = io.BytesIO(body) if isinstance(body, bytes) else body
    return environ


def _call(app: Any, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    started: list[Any] = []
    body = b"".join(app(environ, lambda status, headers: started.append((status, headers))))
    status, headers = started[0]
    return int(status.split()[0]), {k.lower(): v for k, v in headers}, body


def test_it_hands_a_chunked_body_on_with_its_length() -> None:
    seen: dict[str, Any] = {}

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ, body=environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        start_response("204 No Content", [])
        return []

    _call(chunked_bodies_buffered(inner), _chunked_environ(TRACK, b'{"event_type": "a"}'))

    assert seen["CONTENT_LENGTH"] == "19"
    assert seen["body"] == b'{"event_type": "a"}'
    assert "HTTP_TRANSFER_ENCODING" not in seen


@override_settings(SEGOPS_MAX_BODY_BYTES=LIMIT)
def test_it_reads_an_endless_body_no_further_than_the_limit() -> None:
    endless = _Endless()
    seen: dict[str, Any] = {}

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    _call(chunked_bodies_buffered(inner), _chunked_environ(TRACK, endless))

    assert endless.read_bytes == LIMIT + 1
    assert seen["CONTENT_LENGTH"] == str(LIMIT + 1)


def _auth(key: str, **headers: str) -> dict[str, Any]:
    return {"headers": {"Authorization": f"ApiKey {key}", **headers}}


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "served_by"), [(TRACK, "fast path"), (BATCH, "django")])
def test_it_stores_a_chunked_body_on_the_short_way_and_through_django(
    team: Team, path: str, served_by: str
) -> None:
    key = make_api_key(team.tenant).key
    event = {"user_id": "chunky", "event_type": "page_viewed"}

    answer = Application().chunked(
        "POST", path, event if path == TRACK else {"events": [event]}, **_auth(key)
    )

    assert answer.status == 202, answer.body
    assert answer.served_by == served_by
    assert list(Event.objects.for_tenant(team.tenant).values_list("user_id", "event_type")) == [
        ("chunky", "page_viewed")
    ]


@pytest.mark.django_db
@override_settings(SEGOPS_MAX_BODY_BYTES=LIMIT)
@pytest.mark.parametrize("path", [TRACK, BATCH])
def test_it_refuses_a_chunked_body_over_the_limit_with_413(team: Team, path: str) -> None:
    key = make_api_key(team.tenant).key
    event = {"user_id": "chunky", "event_type": "page_viewed", "payload": {"p": "x" * LIMIT}}

    answer = Application().chunked("POST", path, event, **_auth(key))

    assert answer.status == 413
    assert answer.json() == {
        "detail": f"Request body is more than {LIMIT} bytes; the limit is {LIMIT} bytes."
    }
    assert answer.served_by == "django"
    assert not Event.objects.for_tenant(team.tenant).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("coding", ["chunked", "gzip", "gzip, chunked"])
@pytest.mark.parametrize("way", ["fast", "django"])
def test_it_answers_411_to_a_transfer_coded_body_it_was_not_given_the_length_of(
    team: Team, coding: str, way: str
) -> None:
    """Without chunked_bodies_buffered in front (or in a coding it does not read), Django would
    see an empty body: the client is asked for a length rather than answered for nothing."""
    key = make_api_key(team.tenant).key
    send = getattr(Application(), way)

    answer = send(
        "POST", TRACK, {"user_id": "u", "event_type": "a"}, **_auth(key, **{"Transfer-Encoding": coding})
    )

    assert answer.status == 411
    assert "Content-Length" in answer.json()["detail"]
    assert not Event.objects.for_tenant(team.tenant).exists()
