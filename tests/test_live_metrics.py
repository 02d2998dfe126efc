"""/metrics and JSON logs on the production server: two granian workers and the task worker
count into one multiprocess directory, a scrape adds them up, and no secret reaches the log."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from segops_server.testing.live import LiveServer, api_key_issue, live_server, sign_up

pytestmark = pytest.mark.live

TOKEN = "live-metrics-token-0123456789abcdef"
TRACKS = 24


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("live-metrics")
    env = {"SEGOPS_LOG_FORMAT": "json", "SEGOPS_ACCESS_LOG": "1", "SEGOPS_METRICS_TOKEN": TOKEN}
    with live_server(directory, workers=2, env=env) as live:
        yield live


def _samples(server: LiveServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = requests.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _call(server: LiveServer, key: str, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(
        method, f"{server.url}{path}", json=body, headers={"Authorization": f"ApiKey {key}"}, timeout=30
    )
    assert response.status_code < 300, response.text
    return response.json()


def test_a_scrape_adds_up_both_workers_and_the_task_worker(server: LiveServer) -> None:
    key = api_key_issue(server, sign_up(server, "metricsco"), "metricsco")["key"]
    # New connections each time: granian spreads them over both workers.
    for n in range(TRACKS):
        _call(server, key, "POST", "/api/ingestion/track/", {"user_id": f"u{n % 3}", "event_type": "seen"})
    definition = {
        "logic": "AND",
        "conditions": [{"type": "event_count", "event_type": "seen", "operator": "gte", "value": 1}],
    }
    segment_id = _call(server, key, "POST", "/api/segments/", {"name": "Seen", "definition": definition})[
        "id"
    ]
    _call(server, key, "POST", f"/api/segments/{segment_id}/compute/")
    deadline = time.monotonic() + 60
    while _call(server, key, "GET", f"/api/segments/{segment_id}/")["status"] != "computed":
        assert time.monotonic() < deadline, server.output()[-3000:]
        time.sleep(0.1)

    found = _samples(server)
    track = frozenset({"route": "/api/ingestion/track/", "method": "POST", "status": "202"}.items())
    assert found[("segops_http_requests_total", track)] == TRACKS
    assert found[("segops_events_ingested_total", frozenset())] == TRACKS
    # Counted by the task worker, a process of its own.
    assert found[("segops_segment_computes_total", frozenset({("outcome", "computed")}))] == 1
    assert ("segops_task_queue_depth", frozenset({("queue", "default")})) in found
    workers = {
        p for (name, labels), _ in found.items() if name == "process_cpu_seconds_total" for p in labels
    }
    assert workers == set()  # per-process collectors are off in multiprocess mode: no pid labels


def test_it_is_404_from_outside_unless_the_token_is_sent(server: LiveServer) -> None:
    # The default trusted proxy is 127.0.0.1, so a forwarded address stands for the client.
    outside = {"X-Forwarded-For": "203.0.113.9"}
    assert requests.get(f"{server.url}/metrics", headers=outside, timeout=10).status_code == 404
    allowed = requests.get(
        f"{server.url}/metrics", headers={**outside, "Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert allowed.status_code == 200
    assert "segops_http_requests_total" in allowed.text


def test_logs_are_json_lines_with_request_ids_and_no_secret(server: LiveServer) -> None:
    password = "live-password-not-logged-42"
    body = {"email": "owner@logco.test", "password": password, "tenant_name": "Logco", "tenant_slug": "logco"}
    access = requests.post(f"{server.url}/api/auth/register/", json=body, timeout=10).json()["access"]
    key = api_key_issue(server, access, "logco")["key"]
    response = requests.get(f"{server.url}/api/segments/424242/?api_key={key}", timeout=10)
    request_id = response.headers["X-Request-Id"]
    requests.get(
        f"{server.url}/api/segments/424242/", headers={"Authorization": f"Bearer {access}"}, timeout=10
    )
    requests.post(
        f"{server.url}/api/auth/token/", json={"email": body["email"], "password": password + "x"}, timeout=10
    )
    time.sleep(0.5)  # the access log is written after the answer

    output = server.output()
    for secret in (key, access, password):
        assert secret not in output
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    # Besides them, only what `segops run` prints for the operator (the first owner, the address).
    assert not [line for line in output.splitlines() if re.match(r"\[?\d{4}-\d\d-\d\d", line)]
    loggers = {entry["logger"] for entry in entries}
    assert {"_granian", "granian.access", "django.request"} <= loggers, loggers
    assert any(e.get("request_id") == request_id for e in entries if e["logger"] == "django.request")
