"""POST /api/explorer/sandbox/publish/: who would enter or leave which segment, nothing stored."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from segops_server.ingestion.models import Event, UserProfile
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

pytestmark = pytest.mark.django_db

URL = "/api/explorer/sandbox/publish/"


def _orders(times: int, operator: str = "gte") -> dict[str, Any]:
    return {
        "logic": "AND",
        "conditions": [
            {"type": "event_count", "event_type": "order_placed", "operator": operator, "value": times}
        ],
    }


PRO = {
    "logic": "AND",
    "conditions": [{"type": "user_property", "property": "plan", "operator": "eq", "value": "pro"}],
}


def _send(team: Team, *events: dict[str, Any]) -> None:
    now = timezone.now()
    valid = [
        event_validate({"occurred_at": (now - timedelta(hours=1)).isoformat(), **e}, now=now) for e in events
    ]
    events_store(tenant=team.tenant, events=valid, received_at=now)


def _segment(team: Team, name: str, definition: dict[str, Any], *, computed: bool = True) -> Segment:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name=name, definition=definition)
    if computed:
        segment_compute_run(segment_id=segment.pk)
        segment.refresh_from_db()
    return segment


def _stored(team: Team) -> Any:
    profiles = UserProfile.objects.for_tenant(team.tenant).order_by("user_id")
    return (
        list(Event.objects.for_tenant(team.tenant).order_by("id").values_list("id", "user_id", "event_type")),
        list(profiles.values_list("user_id", "event_count", "properties", "last_seen")),
    )


@pytest.fixture
def shop(team: Team) -> dict[str, Segment]:
    """alice: one order (a one-timer), bob: two (a repeat buyer), carol: none, identified as free."""
    _send(
        team,
        {"user_id": "alice", "event_type": "order_placed"},
        {"user_id": "bob", "event_type": "order_placed"},
        {"user_id": "bob", "event_type": "order_placed"},
        {"user_id": "carol", "event_type": "context_identified", "payload": {"plan": "free"}},
    )
    return {
        "repeat": _segment(team, "Repeat buyers", _orders(2)),
        "one_timers": _segment(team, "One-timers", _orders(2, "lt")),
        "pro": _segment(team, "Pro plan", PRO),
    }


def _publish(team: Team, who: str = "member", **event: Any) -> Any:
    return team.client(who).post(URL, event, format="json")


def test_it_answers_who_enters_and_who_exits_and_stores_nothing(team: Team, shop: dict[str, Segment]) -> None:
    before = _stored(team)

    answer = _publish(team, user_id="alice", event_type="order_placed", payload={"total": 20})

    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "published": True,
        "entered": [{"id": shop["repeat"].pk, "name": "Repeat buyers"}],
        "exited": [{"id": shop["one_timers"].pk, "name": "One-timers"}],
        "unchanged_count": 1,
        "skipped": [],
    }
    assert _stored(team) == before
    # The members stay those of the last compute.
    member = team.client("viewer").get("/api/segments/membership/", {"user_id": "alice"}).json()
    assert [s["name"] for s in member["segments"]] == ["One-timers"]


def test_it_leaves_everything_unchanged_for_an_event_no_rule_reads(
    team: Team, shop: dict[str, Segment]
) -> None:
    answer = _publish(team, user_id="bob", event_type="page_viewed").json()

    assert (answer["entered"], answer["exited"], answer["unchanged_count"]) == ([], [], 3)


def test_it_applies_an_identify_to_the_users_traits(team: Team, shop: dict[str, Segment]) -> None:
    before = _stored(team)

    answer = _publish(team, user_id="carol", event_type="context_identified", payload={"plan": "pro"}).json()

    assert answer["entered"] == [{"id": shop["pro"].pk, "name": "Pro plan"}]
    assert _stored(team) == before  # carol is still on the free plan


def test_it_evaluates_a_user_it_has_never_seen(team: Team, shop: dict[str, Segment]) -> None:
    answer = _publish(team, user_id="newcomer", event_type="order_placed").json()

    assert answer["entered"] == [{"id": shop["one_timers"].pk, "name": "One-timers"}]
    assert not UserProfile.objects.for_tenant(team.tenant).filter(user_id="newcomer").exists()


def test_it_takes_the_time_the_event_occurred(team: Team) -> None:
    _send(team, {"user_id": "dave", "event_type": "order_placed"})
    recent = {
        "logic": "AND",
        "conditions": [
            {
                "type": "event_count",
                "event_type": "order_placed",
                "operator": "gte",
                "value": 2,
                "window_days": 7,
            }
        ],
    }
    segment = _segment(team, "Recent repeat buyers", recent)
    long_ago = (timezone.now() - timedelta(days=30)).isoformat()

    old = _publish(team, user_id="dave", event_type="order_placed", occurred_at=long_ago).json()
    new = _publish(team, user_id="dave", event_type="order_placed").json()

    assert old["entered"] == []
    assert new["entered"] == [{"id": segment.pk, "name": "Recent repeat buyers"}]


def test_it_leaves_out_segments_never_computed_or_without_a_rule(
    team: Team, shop: dict[str, Segment]
) -> None:
    _segment(team, "Draft", _orders(1), computed=False)
    segment_create(tenant=team.tenant, actor=team.owner, name="Empty")

    answer = _publish(team, user_id="alice", event_type="order_placed").json()

    assert answer["unchanged_count"] + len(answer["entered"]) + len(answer["exited"]) == 3


def test_it_names_a_segment_whose_rule_can_no_longer_be_evaluated(
    team: Team, shop: dict[str, Segment]
) -> None:
    inner = _segment(team, "Inner", _orders(1))
    outer = _segment(
        team,
        "Outer",
        {
            "logic": "AND",
            "conditions": [{"type": "segment_membership", "segment_id": inner.pk, "operator": "in"}],
        },
    )
    Segment.objects.for_tenant(team.tenant).filter(pk=inner.pk).delete()

    answer = _publish(team, user_id="alice", event_type="order_placed")

    assert answer.status_code == 200, answer.content
    assert answer.json()["skipped"] == [{"id": outer.pk, "name": "Outer"}]
    assert answer.json()["unchanged_count"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "alice"}, "event_type"),
        ({"user_id": "alice", "event_type": "Order Placed"}, "event_type"),
        ({"event_type": "order_placed"}, "user_id"),
        ({"user_id": "alice", "event_type": "order_placed", "occurred_at": "last tuesday"}, "occurred_at"),
        ({"user_id": "alice", "event_type": "order_placed", "payload": "not an object"}, "payload"),
        ({"user_id": "anon_x", "event_type": "order_placed"}, "user_id"),
    ],
)
def test_it_refuses_an_event_ingestion_would_refuse_naming_the_field(
    team: Team, shop: dict[str, Segment], body: dict[str, Any], field: str
) -> None:
    answer = team.client("member").post(URL, body, format="json")

    assert answer.status_code == 400, answer.content
    assert field in answer.json()


def test_it_is_for_members_and_keys_with_segments_read(team: Team, shop: dict[str, Segment]) -> None:
    body = {"user_id": "alice", "event_type": "order_placed"}
    assert _publish(team, "viewer", **body).status_code == 403
    assert _publish(team, "admin", **body).status_code == 200
    reader = key_client(make_api_key(team.tenant, scopes=["segments:read"]).key)
    assert reader.post(URL, body, format="json").json()["entered"][0]["name"] == "Repeat buyers"
    writer_only = key_client(make_api_key(team.tenant, scopes=["events:write"]).key)
    assert writer_only.post(URL, body, format="json").status_code == 403


def test_it_evaluates_only_the_callers_tenant(team: Team, shop: dict[str, Segment]) -> None:
    answer = team.client("outsider").post(
        URL, {"user_id": "alice", "event_type": "order_placed"}, format="json"
    )

    assert answer.status_code == 200
    assert answer.json() == {
        "published": True,
        "entered": [],
        "exited": [],
        "unchanged_count": 0,
        "skipped": [],
    }


# Slow statements that would answer alice, so no planner can skip them by her id alone.
SLOW_SQL = {
    "postgresql": "SELECT 'alice' AS user_id FROM pg_sleep(30)",
    "sqlite": (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT 'alice' AS user_id FROM n WHERE i = 0"
    ),
}


@override_settings(SEGOPS_PREVIEW_TIMEOUT_SECONDS=1)
def test_it_answers_a_slow_rule_with_a_clear_400_in_time_and_stores_nothing(
    team: Team, shop: dict[str, Segment], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "segops_server.explorer.sandbox.tenant_definition_compile",
        lambda *a, **k: (SLOW_SQL[connection.vendor], []),
    )
    before = _stored(team)
    started = time.monotonic()

    answer = _publish(team, user_id="alice", event_type="order_placed")

    assert time.monotonic() - started < 5
    assert answer.status_code == 400
    assert answer.json() == {"detail": "This rule took longer than 1 s to evaluate."}
    assert _stored(team) == before
