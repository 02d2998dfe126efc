"""X-Request-Id: one per request, ours unless a well-formed one came in; the short way too."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from segops_server.keys.services import IssuedKey
from segops_server.observability.context import request_id_for
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key
from segops_server.testing.wsgi import Application

HEX32 = re.compile(r"[0-9a-f]{32}")


def test_it_gives_every_answer_its_own_id(db: None) -> None:
    ids = [Client().get(path)["X-Request-Id"] for path in ("/healthz", "/healthz", "/api/nothing/")]
    assert all(HEX32.fullmatch(i) for i in ids)
    assert len(set(ids)) == 3


@pytest.mark.parametrize("incoming", ["req-0123456789", "6f1c2a7e-3b1d-4c55-9e0a-2f2d6c1b7a90", "a.b_c:d-12"])
def test_it_keeps_a_well_formed_incoming_id(db: None, incoming: str) -> None:
    assert Client().get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-Id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    ["short", "x" * 65, "has space in it", "line\r\nInjected: yes", '{"json":1}', "sk_live_" + "A" * 60, ""],
)
def test_it_replaces_anything_else(db: None, incoming: str) -> None:
    answer = Client().get("/healthz", HTTP_X_REQUEST_ID=incoming)["X-Request-Id"]
    assert HEX32.fullmatch(answer)


@pytest.fixture
def key(team: Team) -> IssuedKey:
    return make_api_key(team.tenant, name="Request ids")


def test_the_short_way_gives_ids_too(team: Team, key: IssuedKey) -> None:
    app = Application()
    answer = app.fast(
        "POST",
        "/api/ingestion/track/",
        {"user_id": "u", "event_type": "e"},
        headers={"Authorization": f"ApiKey {key.key}", "X-Request-Id": "from-the-proxy-1"},
    )
    assert answer.served_by == "fast path"
    assert answer.request_id == "from-the-proxy-1"
    assert answer.header("x-request-id") == "<well-formed>"  # as tests comparing both ways see it


def test_a_request_the_short_way_declines_keeps_its_id(team: Team, key: IssuedKey) -> None:
    answer = Application().fast(
        "POST",
        "/api/ingestion/track/",
        {"user_id": "", "event_type": "e"},  # invalid: Django answers
        headers={"Authorization": f"ApiKey {key.key}", "X-Request-Id": "from-the-proxy-2"},
    )
    assert (answer.served_by, answer.status) == ("django", 400)
    assert answer.request_id == "from-the-proxy-2"


def test_an_id_once_given_is_kept_for_the_whole_request() -> None:
    environ: dict[str, str] = {}
    first = request_id_for(environ)
    environ["HTTP_X_REQUEST_ID"] = "a-later-incoming-id"
    assert request_id_for(environ) == first
