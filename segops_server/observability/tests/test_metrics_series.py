"""What /metrics counts: requests by route pattern (either way in), events, quota refusals,
computes, the task queue and worker heartbeats."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max
from prometheus_client.parser import text_string_to_metric_families

from segops_server.accounts.plans import PLANS, Plan, PlanName
from segops_server.keys.services import IssuedKey
from segops_server.segments.compute.services import segment_compute_run
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key
from segops_server.testing.wsgi import Application

TRACK = "/api/ingestion/track/"
BATCH = "/api/ingestion/track/batch/"


def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(name: str, **labels: str) -> float:
    return scrape().get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def key(team: Team) -> IssuedKey:
    return make_api_key(team.tenant, name="Metrics")


def test_it_counts_requests_by_route_pattern_never_by_path(team: Team) -> None:
    client = team.client("viewer")
    route = "/api/segments/<id:segment_id>/"
    before = value("segops_http_requests_total", route=route, method="GET", status="404")
    for segment_id in (9001, 9002, 9003):
        assert client.get(f"/api/segments/{segment_id}/").status_code == 404
    after = scrape()
    assert (
        after[
            (
                "segops_http_requests_total",
                frozenset({"route": route, "method": "GET", "status": "404"}.items()),
            )
        ]
        == before + 3
    )
    assert not [labels for (_, labels) in after if any("9001" in v for _, v in labels)]
    histogram = (
        "segops_http_request_duration_seconds_count",
        frozenset({"route": route, "method": "GET"}.items()),
    )
    assert after[histogram] >= 3


def test_it_counts_unknown_paths_and_methods_under_one_label_each(db: None) -> None:
    before = value("segops_http_requests_total", route="unmatched", method="other", status="404")
    for n in range(3):
        Client().generic(f"BREW{n}", f"/api/no-such-thing-{n}/")
    assert value("segops_http_requests_total", route="unmatched", method="other", status="404") == before + 3


def test_it_counts_the_short_ways_answers_under_the_same_route(team: Team, key: IssuedKey) -> None:
    labels = {"route": "/api/ingestion/track/", "method": "POST", "status": "202"}
    before = value("segops_http_requests_total", **labels)
    app = Application()
    headers = {"Authorization": f"ApiKey {key.key}"}
    fast = app.fast("POST", TRACK, {"user_id": "u-1", "event_type": "page_viewed"}, headers=headers)
    slow = app.django("POST", TRACK, {"user_id": "u-1", "event_type": "page_viewed"}, headers=headers)
    assert (fast.served_by, fast.status, slow.status) == ("fast path", 202, 202)
    assert value("segops_http_requests_total", **labels) == before + 2


def test_it_counts_events_stored_and_skipped(team: Team, key: IssuedKey) -> None:
    ingested = value("segops_events_ingested_total")
    invalid = value("segops_events_skipped_total", reason="invalid")
    duplicate = value("segops_events_skipped_total", reason="duplicate")
    events = [
        {"user_id": "u-1", "event_type": "a", "message_id": "m-1"},
        {"user_id": "u-1", "event_type": "a", "message_id": "m-1"},  # a repeat inside the batch
        {"user_id": "u-2", "event_type": "b"},
        {"user_id": "", "event_type": "c"},  # invalid
    ]
    response = key_client(key.key).post(BATCH, {"events": events}, format="json")
    assert response.json()["skipped"] == 1
    assert value("segops_events_ingested_total") == ingested + 2
    assert value("segops_events_skipped_total", reason="invalid") == invalid + 1
    assert value("segops_events_skipped_total", reason="duplicate") == duplicate + 1


def test_it_counts_a_quota_refusal_once_though_the_short_way_declined_it_first(
    team: Team, key: IssuedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PLANS, PlanName.FREE, Plan(events_per_month=1, calls_per_minute=None))
    team.tenant.plan = PlanName.FREE
    team.tenant.save(update_fields=["plan"])
    before = value("segops_quota_refusals_total", quota="events_per_month")
    app = Application()
    headers = {"Authorization": f"ApiKey {key.key}"}
    statuses = [
        app.fast("POST", TRACK, {"user_id": "u", "event_type": "e"}, headers=headers).status for _ in range(3)
    ]
    assert statuses == [202, 429, 429]
    assert value("segops_quota_refusals_total", quota="events_per_month") == before + 2


def _segment(team: Team) -> int:
    definition = {
        "logic": "AND",
        "conditions": [{"type": "event_count", "event_type": "a", "operator": "gte", "value": 1}],
    }
    response = team.client("member").post(
        "/api/segments/", {"name": "Seen", "definition": definition}, format="json"
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def test_it_counts_computes_and_their_duration_by_outcome(team: Team) -> None:
    segment_id = _segment(team)
    computed = value("segops_segment_computes_total", outcome="computed")
    failed = value("segops_segment_computes_total", outcome="failed")
    timed = value("segops_segment_compute_duration_seconds_count", outcome="computed")
    segment_compute_run(segment_id=segment_id)
    with mock.patch(
        "segops_server.segments.compute.services.tenant_definition_compile", side_effect=RuntimeError("boom")
    ):
        segment_compute_run(segment_id=segment_id)
    assert value("segops_segment_computes_total", outcome="computed") == computed + 1
    assert value("segops_segment_computes_total", outcome="failed") == failed + 1
    assert value("segops_segment_compute_duration_seconds_count", outcome="computed") == timed + 1


def _task(status: str, age: timedelta, queue: str = "default") -> None:
    row = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="segops_server.segments.compute.tasks.compute_segment",
        backend_name="default",
        queue_name=queue,
        run_after=get_date_max(),
        status=status,
    )
    DBTaskResult.objects.filter(pk=row.pk).update(enqueued_at=timezone.now() - age)


def test_it_reports_the_task_queue_at_scrape_time(db: None) -> None:
    assert value("segops_task_queue_depth", queue="default") == 0
    assert value("segops_task_queue_oldest_age_seconds", queue="default") == 0
    _task(TaskResultStatus.READY, timedelta(minutes=5))
    _task(TaskResultStatus.READY, timedelta(seconds=1))
    _task(TaskResultStatus.RUNNING, timedelta(minutes=9))
    _task(TaskResultStatus.SUCCESSFUL, timedelta(hours=1))
    found = scrape()
    assert found[("segops_task_queue_depth", frozenset({("queue", "default")}))] == 2
    assert 299 <= found[("segops_task_queue_oldest_age_seconds", frozenset({("queue", "default")}))] < 330
    assert found[("segops_tasks_running", frozenset({("queue", "default")}))] == 1
    assert found[("segops_metrics_database_up", frozenset())] == 1


def test_it_still_answers_when_the_database_cannot_be_read(db: None) -> None:
    from django.db import OperationalError

    with mock.patch.object(DBTaskResult.objects, "ready", side_effect=OperationalError("down")):
        found = scrape()
    assert found[("segops_metrics_database_up", frozenset())] == 0
    assert ("segops_task_queue_depth", frozenset({("queue", "default")})) not in found


def test_it_has_no_worker_age_series_while_no_worker_checked_in(db: None) -> None:
    body = Client().get("/metrics").content.decode()
    assert "segops_worker_heartbeat_age_seconds{" not in body
    assert "segops_workers 0.0" in body


def test_it_reports_worker_heartbeats(db: None) -> None:
    from segops_server.core.workers import heartbeat_record

    now = timezone.now()
    heartbeat_record(
        worker="host-a-41", started_at=now - timedelta(minutes=5), now=now - timedelta(seconds=30)
    )
    heartbeat_record(worker="host-b-7", started_at=now, now=now)
    found = scrape()
    assert 30 <= found[("segops_worker_heartbeat_age_seconds", frozenset({("worker", "host-a-41")}))] < 40
    assert found[("segops_worker_heartbeat_age_seconds", frozenset({("worker", "host-b-7")}))] < 10
    assert found[("segops_workers", frozenset())] == 2


def test_it_leaves_the_worker_series_out_when_heartbeats_cannot_be_read(db: None) -> None:
    from django.db import OperationalError

    with mock.patch("segops_server.core.workers.worker_heartbeats", side_effect=OperationalError("down")):
        found = scrape()
    assert not [name for name, _ in found if name.startswith("segops_worker")]
    assert found[("segops_metrics_database_up", frozenset())] == 1
