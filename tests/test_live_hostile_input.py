"""Hostile input against the production server, real HTTP: it answers at once and holds no one.

Before RE2, previewing `^(a+)+$` against traits like "aaaa…a!" ran Python's backtracking engine
inside SQLite for tens of seconds per value, and every request of every tenant (healthz too)
waited behind it. JSON nested 1,000 deep was a 500 (a RecursionError) on every endpoint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from segops_server.core.parsers import MAX_JSON_DEPTH
from segops_server.testing.live import LiveServer, api_key_issue, live_server, sign_up

pytestmark = pytest.mark.live

VICTIMS = 200
CATASTROPHIC = {
    "logic": "AND",
    "conditions": [
        {"type": "user_property", "property": "name", "operator": "matches_regex", "value": "^(a+)+$"}
    ],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("live-regex")
    with live_server(directory, workers=1) as live:
        yield live


def _post(server: LiveServer, key: str, path: str, body: Any) -> requests.Response:
    return requests.post(
        f"{server.url}{path}", json=body, headers={"Authorization": f"ApiKey {key}"}, timeout=60
    )


def test_a_catastrophic_pattern_previews_in_a_moment_and_holds_no_one(server: LiveServer) -> None:
    slug = "regexco"
    access = sign_up(server, slug)
    writer = api_key_issue(server, access, slug)["key"]
    reader = api_key_issue(server, access, slug, scopes=["segments:read"])["key"]
    events = [
        {"user_id": f"victim-{n}", "event_type": "context_identified", "payload": {"name": "a" * 26 + "!"}}
        for n in range(VICTIMS)
    ] + [{"user_id": "match", "event_type": "context_identified", "payload": {"name": "aaaa"}}]
    response = _post(server, writer, "/api/ingestion/track/batch/", {"events": events})
    assert response.status_code == 202, response.text

    answer: dict[str, Any] = {}

    def preview() -> None:
        started = time.monotonic()
        answer["response"] = _post(server, reader, "/api/segments/preview/", {"definition": CATASTROPHIC})
        answer["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=preview)
    thread.start()
    health = []
    while thread.is_alive() or not health:
        started = time.monotonic()
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        health.append(time.monotonic() - started)
    thread.join(timeout=60)

    assert answer["response"].status_code == 200, answer["response"].text
    assert answer["response"].json()["matched_users"] == 1
    assert answer["seconds"] < 3
    assert max(health) < 1, health


def test_deep_json_is_a_400_and_json_at_the_limit_is_stored(server: LiveServer) -> None:
    slug = "deepco"
    key = api_key_issue(server, sign_up(server, slug), slug)["key"]
    deep = "[" * 1000 + "]" * 1000
    for path, headers in (
        ("/api/auth/register/", {}),
        ("/api/auth/token/", {}),
        ("/api/ingestion/track/", {"Authorization": f"ApiKey {key}"}),  # the fast path's route
    ):
        response = requests.post(
            f"{server.url}{path}",
            data=deep,
            headers={"Content-Type": "application/json", **headers},
            timeout=10,
        )
        assert response.status_code == 400, (path, response.text)
        assert "JSON parse error" in response.json()["detail"]
    payload: Any = 1
    for _ in range(MAX_JSON_DEPTH - 1):  # and the body is one more level
        payload = {"d": payload}
    event = {"user_id": "u", "event_type": "deep_one", "payload": payload}
    assert _post(server, key, "/api/ingestion/track/", event).status_code == 202
    assert _post(server, key, "/api/ingestion/track/", {**event, "payload": [payload]}).status_code == 400
