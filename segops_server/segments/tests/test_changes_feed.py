"""GET /api/segments/<id>/changes/: the change feed, oldest first, paged by a cursor it can be
polled from; read like the members, by Viewers and segments:read keys, never by other tenants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from segops_server.core.cursors import cursor_encode
from segops_server.segments.changes import services
from segops_server.segments.changes.services import changes_purge
from segops_server.segments.models import Segment, SegmentChange
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

pytestmark = pytest.mark.django_db


def _feed(team: Team, segment_id: int, who: str = "viewer", **query: Any) -> Any:
    return team.client(who).get(f"/api/segments/{segment_id}/changes/", query)


def _add(team: Team, segment_id: int, *rows: tuple[int, str, str], at: Any = None) -> None:
    segment = Segment.objects.for_tenant(team.tenant).get(pk=segment_id)
    SegmentChange.objects.for_tenant(team.tenant).bulk_create(
        SegmentChange(
            tenant=team.tenant,
            segment=segment,
            generation=generation,
            user_id=user_id,
            change=change,
            at=at or timezone.now(),
        )
        for generation, change, user_id in rows
    )


def test_it_lists_the_first_compute_as_entries(team: Team, computed: int) -> None:
    response = _feed(team, computed)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [(r["user_id"], r["change"], r["generation"]) for r in body["results"]] == [
        ("alice", "entered", 1),
        ("bob", "entered", 1),
    ]
    assert set(body["results"][0]) == {"user_id", "change", "at", "generation"}
    assert body["next_cursor"] is not None  # where to poll from


def test_it_pages_oldest_first_and_is_polled_from_the_last_cursor(team: Team, computed: int) -> None:
    Segment.objects.for_tenant(team.tenant).filter(pk=computed).update(generation=3)
    _add(team, computed, (2, "exited", "alice"), (3, "entered", "carol"), (3, "exited", "bob"))
    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(10):
        query = {"limit": 2, **({"since": cursor} if cursor else {})}
        body = _feed(team, computed, **query).json()
        if not body["results"]:
            assert body["next_cursor"] is None
            break
        seen += [(r["user_id"], r["change"]) for r in body["results"]]
        cursor = body["next_cursor"]
    assert seen == [
        ("alice", "entered"),
        ("bob", "entered"),
        ("alice", "exited"),
        ("carol", "entered"),
        ("bob", "exited"),
    ]
    _add(team, computed, (3, "entered", "dan"))
    later = _feed(team, computed, since=cursor).json()
    assert [r["user_id"] for r in later["results"]] == ["dan"]


def test_it_hides_the_changes_of_a_generation_not_swapped_in_yet(team: Team, computed: int) -> None:
    _add(team, computed, (2, "exited", "alice"))
    users = [r["user_id"] for r in _feed(team, computed).json()["results"]]
    assert users == ["alice", "bob"]


@pytest.mark.parametrize(
    "query",
    [
        {"since": "not-a-cursor"},
        {"since": cursor_encode(["alice"])},
        {"since": cursor_encode([True])},
        {"since": cursor_encode([-1])},
        {"since": cursor_encode([2**63])},
        {"since": cursor_encode([1, 2])},
        {"limit": 0},
        {"limit": 1001},
    ],
)
def test_it_refuses_a_malformed_query(team: Team, computed: int, query: dict[str, Any]) -> None:
    response = _feed(team, computed, **query)
    assert response.status_code == 400, response.json()


def test_it_lets_a_viewer_and_a_reading_key_read(team: Team, computed: int) -> None:
    assert _feed(team, computed, "viewer").status_code == 200
    key = make_api_key(team.tenant, scopes=["segments:read"]).key
    response = key_client(key).get(f"/api/segments/{computed}/changes/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_it_refuses_a_key_without_the_scope(team: Team, computed: int) -> None:
    key = make_api_key(team.tenant, scopes=["events:write"]).key
    assert key_client(key).get(f"/api/segments/{computed}/changes/").status_code == 403


def test_it_hides_the_feed_from_an_outsider(team: Team, computed: int) -> None:
    response = _feed(team, computed, "outsider")
    assert response.status_code == 404
    assert "alice" not in response.content.decode()


def test_it_purges_changes_older_than_the_retention(
    team: Team, computed: int, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.SEGOPS_CHANGE_RETENTION_DAYS = 30
    monkeypatch.setattr(services, "BATCH", 2)  # several batches
    old = timezone.now() - timedelta(days=31)
    _add(team, computed, *[(1, "exited", f"old-{i}") for i in range(5)], at=old)
    assert changes_purge() == 5
    users = [r["user_id"] for r in _feed(team, computed).json()["results"]]
    assert users == ["alice", "bob"]
    assert changes_purge(now=timezone.now() + timedelta(days=31)) == 2


def test_it_purges_in_the_schedulers_round(team: Team, computed: int) -> None:
    from segops_server.cli import scheduler_round

    _add(team, computed, (1, "exited", "old"), at=timezone.now() - timedelta(days=31))
    scheduler_round()
    users = [r["user_id"] for r in _feed(team, computed).json()["results"]]
    assert users == ["alice", "bob"]
