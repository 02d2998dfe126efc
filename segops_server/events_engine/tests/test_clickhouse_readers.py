"""Every reader of rules on the ClickHouse engine (chDB here) gives the database engine's answer
for the same events: preview, estimate, explain and the sandbox, through the API, for each
condition type; and each reads ClickHouse, not the database's events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from segops_server.events_engine.schema import EVENT_COLUMNS, EVENTS_TABLE
from segops_server.events_engine.transport import Transport
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.testing.chdb import chdb_fresh, chdb_url, needs_chdb
from segops_server.testing.factories import Team

pytestmark = [needs_chdb, pytest.mark.django_db]

USERS = ("alice", "bob", "carol", "dora")


def _event(user: str, kind: str, days_ago: float, **payload: Any) -> dict[str, Any]:
    at = timezone.now() - timedelta(days=days_ago)
    return {"user_id": user, "event_type": kind, "occurred_at": at.isoformat(), "payload": payload}


def _store(team: Team, *events: dict[str, Any]) -> None:
    now = timezone.now()
    valid = [event_validate(raw, now=now) for raw in events]
    events_store(tenant=team.tenant, events=valid, received_at=now)


@pytest.fixture
def shop(team: Team) -> Iterator[Transport]:
    """Four users' events in the database; chDB empty (each reader ships what it needs)."""
    transport = chdb_fresh()
    _store(
        team,
        _event("alice", "signup", 40),
        _event("alice", "order_placed", 20, total=300),
        _event("alice", "order_placed", 2, total=250),
        _event("alice", "context_identified", 1, plan="pro"),
        _event("bob", "order_placed", 45, total=20),
        _event("bob", "signup", 3),
        _event("bob", "context_identified", 3, plan="free"),
        _event("carol", "page_viewed", 1, path="/pricing"),
        _event("dora", "order_placed", 5, total="19.5"),
    )
    with override_settings(SEGOPS_CLICKHOUSE_URL=chdb_url(), SEGOPS_CLICKHOUSE_SHIP_SETTLE_SECONDS=0):
        yield transport


def _on(engine: str) -> Any:
    return override_settings(SEGOPS_EVENTS_ENGINE=engine)


def _both(answer: Callable[[], Any]) -> Any:
    """The answer on the database engine, checked equal to ClickHouse's for the same events."""
    with _on("database"):
        expected = answer()
    with _on("clickhouse"):
        assert answer() == expected
    return expected


def _rule(condition: dict[str, Any]) -> dict[str, Any]:
    return {"logic": "AND", "conditions": [condition]}


ORDERS = {"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1}
CONDITIONS = {
    "event_count": ORDERS,
    "event_property": {
        "type": "event_property",
        "event_type": "order_placed",
        "property": "total",
        "operator": "gt",
        "value": 19,
    },
    "monetary": {
        "type": "monetary",
        "event_type": "order_placed",
        "property": "total",
        "metric": "sum",
        "operator": "gte",
        "value": 500,
    },
    "recency": {"type": "recency", "event_type": "order_placed", "operator": "lte", "window_days": 10},
    "event_sequence": {"type": "event_sequence", "events": ["signup", "order_placed"]},
    "user_property": {"type": "user_property", "property": "plan", "operator": "is_set"},
}


def _without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in keys}


@pytest.mark.parametrize("kind", sorted(CONDITIONS))
def test_preview_estimate_and_explain_agree_with_the_database(team: Team, shop: Transport, kind: str) -> None:
    definition = {"logic": "OR", "conditions": [CONDITIONS[kind], _rule({**ORDERS, "value": 3})]}
    viewer = team.client("viewer")

    def previewed() -> dict[str, Any]:
        response = viewer.post("/api/segments/preview/", {"definition": definition}, format="json")
        assert response.status_code == 200, response.json()
        return _without(response.json(), "sql", "params")  # each engine's own text

    segment = segment_create(tenant=team.tenant, actor=team.owner, name="S", definition=definition)

    def estimated() -> dict[str, Any]:
        response = viewer.post(f"/api/segments/{segment.pk}/estimate/")
        assert response.status_code == 200, response.json()
        return _without(response.json(), "computed_at")  # now

    def explained() -> list[dict[str, Any]]:
        bodies = [viewer.get(f"/api/explorer/users/{u}/segments/{segment.pk}/explain/") for u in USERS]
        assert all(r.status_code == 200 for r in bodies), [r.json() for r in bodies]
        return [_without(r.json(), "evaluated_at") for r in bodies]

    preview = _both(previewed)
    assert 0 < preview["matched_users"] < len(USERS)  # a rule that tells the users apart
    assert _both(estimated)["estimated_members"] == preview["matched_users"]
    assert [e["matched"] for e in _both(explained)] == [u in preview["sample_user_ids"] for u in USERS]


def test_a_rule_on_a_saved_segment_agrees(team: Team, shop: Transport) -> None:
    buyers = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=_rule(ORDERS))
    segment_compute_run(segment_id=buyers.pk)
    outside = {"type": "segment_membership", "segment_id": buyers.pk, "operator": "not_in"}
    response = _both(
        lambda: team.client("viewer")
        .post("/api/segments/preview/", {"definition": _rule(outside)}, format="json")
        .json()["sample_user_ids"]
    )
    assert response == ["carol"]


def _publish(team: Team, **event: Any) -> dict[str, Any]:
    response = team.client("member").post("/api/explorer/sandbox/publish/", event, format="json")
    assert response.status_code == 200, response.json()
    return dict(response.json())


@pytest.mark.parametrize(
    ("event", "entered"),
    [
        ({"user_id": "bob", "event_type": "order_placed", "payload": {"total": 600}}, {"Big spenders"}),
        ({"user_id": "carol", "event_type": "context_identified", "payload": {"plan": "pro"}}, {"Pro"}),
        ({"user_id": "erin", "event_type": "order_placed", "payload": {"total": 1}}, {"Repeat or new"}),
    ],
)
def test_the_sandbox_agrees_and_counts_its_event(
    team: Team, shop: Transport, event: dict[str, Any], entered: set[str]
) -> None:
    rules = {
        "Big spenders": _rule(CONDITIONS["monetary"]),
        "Pro": _rule({"type": "user_property", "property": "plan", "operator": "eq", "value": "pro"}),
        "Repeat or new": {
            "logic": "OR",
            "conditions": [{**ORDERS, "value": 2}, {**ORDERS, "operator": "eq"}],
        },
    }
    for name, definition in rules.items():
        segment = segment_create(tenant=team.tenant, actor=team.owner, name=name, definition=definition)
        segment_compute_run(segment_id=segment.pk)
    answer = _both(lambda: _publish(team, **event))
    assert {s["name"] for s in answer["entered"]} == entered
    with _on("clickhouse"):  # the sandbox's event stays out of ClickHouse too
        assert _publish(team, **event) == answer


def test_each_reader_reads_clickhouse(team: Team, shop: Transport) -> None:
    """Orders only ClickHouse holds (ids far above the database's) count for every reader."""
    segment = segment_create(
        tenant=team.tenant, actor=team.owner, name="Repeat", definition=_rule({**ORDERS, "value": 2})
    )
    segment_compute_run(segment_id=segment.pk)
    viewer = team.client("viewer")
    with _on("clickhouse"):
        viewer.post(f"/api/segments/{segment.pk}/estimate/")  # ships the stored events first
        at = timezone.now()
        rows = [[10**12 + i, team.tenant.pk, "order_placed", "carol", at, at, None, "{}"] for i in range(2)]
        shop.insert(EVENTS_TABLE, rows, EVENT_COLUMNS)
        preview = viewer.post("/api/segments/preview/", {"definition": segment.definition}, format="json")
        assert preview.json()["sample_user_ids"] == ["alice", "carol"]
        assert viewer.post(f"/api/segments/{segment.pk}/estimate/").json()["estimated_members"] == 2
        explained = viewer.get(f"/api/explorer/users/carol/segments/{segment.pk}/explain/").json()
        assert explained["matched"] is True
        sandbox = _publish(team, user_id="carol", event_type="page_viewed")
        assert [s["name"] for s in sandbox["entered"]] == ["Repeat"]


def test_each_reader_answers_400_for_identity_merges(team: Team, shop: Transport) -> None:
    """What the engine does not evaluate yet is the caller's 400 from every reader, never a 409
    ("edit the rule") nor a sandbox that skips every segment."""
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=_rule(ORDERS))
    segment_compute_run(segment_id=segment.pk)
    _store(team, {**_event("alice", "page_viewed", 1), "anonymous_id": "visitor-1"})  # an edge
    viewer = team.client("viewer")
    with _on("clickhouse"):
        answers = [
            viewer.post("/api/segments/preview/", {"definition": segment.definition}, format="json"),
            viewer.post(f"/api/segments/{segment.pk}/estimate/"),
            viewer.get(f"/api/explorer/users/alice/segments/{segment.pk}/explain/"),
            team.client("member").post(
                "/api/explorer/sandbox/publish/", {"user_id": "bob", "event_type": "x"}, format="json"
            ),
        ]
    assert [a.status_code for a in answers] == [400] * 4, [a.json() for a in answers]
    assert all("clickhouse" in str(a.json()) for a in answers)


class _Slow:
    """The transport, except that a rule query bounded at `seconds` fails as ClickHouse does
    past its max_execution_time (the error chdb raises)."""

    def __init__(self, transport: Transport, seconds: int) -> None:
        self.transport, self.bound = transport, f"max_execution_time = {seconds}"

    def query(self, text: str, params: Any = None) -> list[tuple[Any, ...]]:
        if self.bound in text:
            raise RuntimeError("Code: 159. DB::Exception: Timeout exceeded: elapsed 7 ms. (TIMEOUT_EXCEEDED)")
        return self.transport.query(text, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def test_each_reader_bounds_the_clickhouse_query_as_the_database_one(
    team: Team, shop: Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past SEGOPS_PREVIEW_TIMEOUT_SECONDS (SEGOPS_COMPUTE_TIMEOUT_SECONDS for a compute) each
    reader answers as it does when the database's statement runs out of time."""
    from segops_server.segments.rules import tenant_compile

    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=_rule(ORDERS))
    segment_compute_run(segment_id=segment.pk)
    viewer = team.client("viewer")
    bounds = override_settings(SEGOPS_PREVIEW_TIMEOUT_SECONDS=7, SEGOPS_COMPUTE_TIMEOUT_SECONDS=8)
    with _on("clickhouse"), bounds:
        monkeypatch.setattr(tenant_compile, "clickhouse_transport", lambda: _Slow(shop, 7))
        preview = viewer.post("/api/segments/preview/", {"definition": segment.definition}, format="json")
        took = {"detail": "This rule took longer than 7 s to evaluate."}
        assert (preview.status_code, preview.json()) == (400, took)
        estimate = viewer.post(f"/api/segments/{segment.pk}/estimate/").json()
        assert (estimate["estimated_members"], estimate["exact"]) == (3, False)  # the last compute's
        explain = viewer.get(f"/api/explorer/users/alice/segments/{segment.pk}/explain/")
        assert explain.status_code == 400, explain.json()
        sandbox = team.client("member").post(
            "/api/explorer/sandbox/publish/", {"user_id": "bob", "event_type": "x"}, format="json"
        )
        assert sandbox.status_code == 400, sandbox.json()
        monkeypatch.setattr(tenant_compile, "clickhouse_transport", lambda: _Slow(shop, 8))
        segment_compute_run(segment_id=segment.pk)
        segment.refresh_from_db()
        assert "took too long" in segment.error, segment.error
