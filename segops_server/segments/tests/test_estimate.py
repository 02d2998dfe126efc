"""POST /api/segments/<id>/estimate/: the saved rule counted now, nothing materialised."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.models import Segment, SegmentMember
from segops_server.segments.tests.test_segments_api import BUYERS, _create, _history, _send
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

pytestmark = pytest.mark.django_db


def _estimate(team: Team, segment_id: int, who: str = "viewer") -> Any:
    return team.client(who).post(f"/api/segments/{segment_id}/estimate/")


def test_it_counts_the_saved_rule_now_without_materialising_members(team: Team) -> None:
    _history(team)  # alice and bob order twice or more
    segment_id = _create(team).json()["id"]
    segment_compute_run(segment_id=segment_id)
    _send(team, ("carol", "order_placed", 1), ("carol", "order_placed", 2))  # carol too, since

    answer = _estimate(team, segment_id)

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["segment_id"], body["estimated_members"], body["exact"]) == (segment_id, 3, True)
    assert body["computed_at"]
    segment = Segment.objects.for_tenant(team.tenant).get(pk=segment_id)
    assert segment.member_count == 2  # the computed set is untouched
    members = SegmentMember.objects.for_tenant(team.tenant).filter(segment_id=segment_id)
    assert sorted(members.values_list("user_id", flat=True)) == ["alice", "bob"]


def test_it_estimates_a_segment_never_computed(team: Team) -> None:
    _history(team)
    segment_id = _create(team).json()["id"]

    body = _estimate(team, segment_id).json()

    assert (body["estimated_members"], body["exact"]) == (2, True)
    assert not SegmentMember.objects.for_tenant(team.tenant).exists()


def test_it_refuses_a_segment_without_a_rule(team: Team) -> None:
    segment_id = team.client("member").post("/api/segments/", {"name": "Empty"}, format="json").json()["id"]

    answer = _estimate(team, segment_id)

    assert answer.status_code == 400
    assert "definition" in answer.json()["detail"]


def test_it_answers_409_for_a_rule_naming_a_deleted_segment(team: Team) -> None:
    inner = _create(team).json()["id"]
    outer = _create(
        team,
        definition={
            "logic": "AND",
            "conditions": [{"type": "segment_membership", "segment_id": inner, "operator": "in"}],
        },
    ).json()["id"]
    Segment.objects.for_tenant(team.tenant).filter(pk=inner).delete()

    answer = _estimate(team, outer)

    assert answer.status_code == 409
    assert "edit the rule" in answer.json()["detail"]


def test_it_is_for_viewers_and_keys_with_segments_read(team: Team) -> None:
    _history(team)
    segment_id = _create(team).json()["id"]
    reader = key_client(make_api_key(team.tenant, scopes=["segments:read"]).key)
    assert reader.post(f"/api/segments/{segment_id}/estimate/").json()["estimated_members"] == 2
    ingestor = key_client(make_api_key(team.tenant, scopes=["events:write"]).key)
    assert ingestor.post(f"/api/segments/{segment_id}/estimate/").status_code == 403
    assert _estimate(team, segment_id, "outsider").status_code == 404


SLOW_SQL = {
    "postgresql": "SELECT 'u' AS user_id FROM pg_sleep(30)",
    "sqlite": (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT 'u' AS user_id FROM n WHERE i = 0"
    ),
}


@override_settings(SEGOPS_PREVIEW_TIMEOUT_SECONDS=1)
def test_it_answers_the_last_computed_size_as_inexact_past_the_time_bound(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    _history(team)
    segment_id = _create(team, definition=BUYERS).json()["id"]
    segment_compute_run(segment_id=segment_id)
    computed = Segment.objects.for_tenant(team.tenant).get(pk=segment_id)
    monkeypatch.setattr(
        "segops_server.segments.definitions.selectors.tenant_definition_compile",
        lambda *a, **k: (SLOW_SQL[connection.vendor], []),
    )
    started = time.monotonic()

    answer = _estimate(team, segment_id)

    assert time.monotonic() - started < 5
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["estimated_members"], body["exact"]) == (2, False)
    assert computed.last_computed_at is not None
    assert body["computed_at"] == computed.last_computed_at.isoformat().replace("+00:00", "Z")
