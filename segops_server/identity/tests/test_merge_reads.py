"""A merge counts everywhere: computes, preview, explorer, explain, the delivery API (spec §14)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from segops_server.identity.tests.helpers import alias, compute, edges, merge, track
from segops_server.ingestion.models import Event
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

pytestmark = pytest.mark.django_db

THREE_ORDERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 3}],
}
PRO_BUYERS = {
    "logic": "AND",
    "conditions": [
        {"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1},
        {"type": "user_property", "property": "plan", "operator": "eq", "value": "pro"},
    ],
}


def _segment(team: Team, definition: dict[str, Any], name: str = "Three orders") -> Segment:
    return segment_create(tenant=team.tenant, actor=team.owner, name=name, definition=definition)


def _delivery(team: Team, user_id: str) -> list[str]:
    reader = key_client(make_api_key(team.tenant, scopes=["segments:read"]).key)
    answer = reader.get(f"/api/segments/membership/?user_id={quote(user_id)}")
    assert answer.status_code == 200, answer.content
    return [s["name"] for s in answer.json()["segments"]]


def _preview(team: Team, definition: dict[str, Any]) -> list[str]:
    answer = team.client("viewer").post("/api/segments/preview/", {"definition": definition}, format="json")
    assert answer.status_code == 200, answer.content
    return list(answer.json()["sample_user_ids"])


@pytest.fixture
def split(team: Team) -> None:
    """Two ids of one person: neither has three orders alone, together they have four."""
    track(team, "laptop-user", "order_placed", times=2)
    track(team, "phone-user", "order_placed", times=2)
    track(team, "someone-else", "order_placed", times=1)


def test_two_ids_events_combined_satisfy_a_rule_neither_satisfies_alone(team: Team, split: None) -> None:
    segment = compute(_segment(team, THREE_ORDERS))
    assert segment.member_count == 0
    assert _delivery(team, "laptop-user") == []
    assert _preview(team, THREE_ORDERS) == []

    assert merge(team.client("admin"), "phone-user", "laptop-user").status_code == 200

    assert _preview(team, THREE_ORDERS) == ["laptop-user"]
    segment = compute(segment)
    assert segment.member_count == 1
    assert _delivery(team, "laptop-user") == ["Three orders"]
    assert _delivery(team, "phone-user") == []  # its events count for laptop-user now
    # Events are never rewritten: each stays under the id it was sent with.
    assert Event.objects.for_tenant(team.tenant).filter(user_id="phone-user").count() == 2


def test_the_estimate_and_the_sandbox_count_a_merge_too(team: Team, split: None) -> None:
    segment = compute(_segment(team, THREE_ORDERS))
    merge(team.client("admin"), "phone-user", "laptop-user")

    estimate = team.client("viewer").post(f"/api/segments/{segment.pk}/estimate/")
    assert estimate.json()["estimated_members"] == 1
    # One more order from either id: laptop-user is already in (four orders), nobody enters.
    sandbox = team.client("member").post(
        "/api/explorer/sandbox/publish/",
        {"user_id": "phone-user", "event_type": "order_placed", "payload": {}},
        format="json",
    )
    assert sandbox.status_code == 200, sandbox.content
    assert sandbox.json()["entered"] == []
    compute(segment)
    sandbox = team.client("member").post(
        "/api/explorer/sandbox/publish/",
        {"user_id": "someone-else", "event_type": "order_placed", "payload": {}},
        format="json",
    )
    assert sandbox.json()["entered"] == []  # two orders: not three


def test_the_merged_users_traits_count_for_the_surviving_user(team: Team) -> None:
    track(team, "laptop-user", "order_placed")
    track(team, "phone-user", "context_identified", payload={"plan": "pro"})
    assert _preview(team, PRO_BUYERS) == []

    merge(team.client("admin"), "phone-user", "laptop-user")

    assert _preview(team, PRO_BUYERS) == ["laptop-user"]


def test_a_merge_chain_counts_every_id_for_the_end_of_the_chain(team: Team) -> None:
    track(team, "a", "order_placed")
    track(team, "b", "order_placed")
    track(team, None, "order_placed", anonymous_id="visitor")
    admin = team.client("admin")
    alias(admin, "visitor", "a")
    merge(admin, "a", "b")
    merge(admin, "b", "c")  # c has no events of its own

    assert _preview(team, THREE_ORDERS) == ["c"]


def test_an_anonymous_id_identified_after_a_merge_counts_for_the_surviving_user(team: Team) -> None:
    merge(team.client("admin"), "phone-user", "laptop-user")

    track(team, "phone-user", "order_placed", anonymous_id="visitor")  # the identify, after the merge
    track(team, None, "order_placed", times=2, anonymous_id="visitor")

    assert edges(team)["anon_visitor"] == "laptop-user"
    assert _preview(team, THREE_ORDERS) == ["laptop-user"]


def test_the_explorer_shows_the_surviving_user_with_the_merged_users_data(team: Team, split: None) -> None:
    track(team, "phone-user", "context_identified", payload={"plan": "pro"})
    merge(team.client("admin"), "phone-user", "laptop-user")
    viewer = team.client("viewer")

    profile = viewer.get("/api/explorer/users/laptop-user/").json()
    assert profile["event_count"] == 5
    assert profile["properties"] == {"plan": "pro"}
    assert profile["merged_user_ids"] == ["phone-user"]
    assert profile["merged_into"] is None
    events = viewer.get("/api/explorer/users/laptop-user/events/").json()["results"]
    assert sorted({e["user_id"] for e in events}) == ["laptop-user", "phone-user"]

    merged = viewer.get("/api/explorer/users/phone-user/").json()
    assert merged["merged_into"] == "laptop-user"
    assert merged["event_count"] == 3  # its own page: its own events


def test_a_user_with_no_events_of_its_own_is_found_through_the_merged_user(team: Team) -> None:
    track(team, "old-id", "order_placed")
    merge(team.client("admin"), "old-id", "new-id")

    answer = team.client("viewer").get("/api/explorer/users/new-id/")

    assert answer.status_code == 200, answer.content
    assert answer.json()["event_count"] == 1


def test_explain_counts_the_merged_users_events(team: Team, split: None) -> None:
    segment = _segment(team, THREE_ORDERS)
    merge(team.client("admin"), "phone-user", "laptop-user")

    answer = team.client("viewer").get(f"/api/explorer/users/laptop-user/segments/{segment.pk}/explain/")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["matched"] is True
    assert body["conditions"][0]["matched"] is True
    assert body["conditions"][0]["value"] == 4


def test_the_console_page_of_a_merged_user_says_where_it_went(team: Team) -> None:
    track(team, "phone-user", "order_placed")
    merge(team.client("admin"), "phone-user", "laptop-user")
    browser = Client()  # the console: a signed-in session
    browser.force_login(team.viewer)
    page = browser.get(f"/t/{team.tenant.slug}/explorer/user/?user_id=phone-user")

    assert page.status_code == 200
    assert "was merged into" in page.content.decode()
    assert "laptop-user" in page.content.decode()
