"""Preview and explain of rules at the documented limits, and explain of a segment whose
referenced segment was deleted: each answers (or says clearly why not), never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.models import Segment, SegmentMember
from segops_server.segments.rules.dsl import MAX_LIST_ITEMS, MAX_SEQUENCE_STEPS
from segops_server.segments.tests.test_segments_api import _create, _send
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db

STEPS = [f"step_{n}" for n in range(MAX_SEQUENCE_STEPS)]
SEQUENCE = {"type": "event_sequence", "events": STEPS}
PLANS = {
    "type": "event_property",
    "event_type": "step_0",
    "property": "plan",
    "operator": "in",
    "value": [f"plan-{n}" for n in range(MAX_LIST_ITEMS)],
}
COUNTS = {
    "type": "event_count",
    "event_type": "step_1",
    "operator": "in",
    "value": list(range(1, MAX_LIST_ITEMS + 1)),
}
LIMITS = {"logic": "AND", "conditions": [SEQUENCE, COUNTS, {"logic": "OR", "conditions": [PLANS, SEQUENCE]}]}


@pytest.fixture
def walked(team: Team) -> None:
    """`walker` did every step in order, `skipper` all but one."""
    _send(team, *[("walker", step, 20 - n) for n, step in enumerate(STEPS)])
    _send(team, *[("skipper", step, 20 - n) for n, step in enumerate(STEPS) if n != 3])


def test_it_previews_rules_at_the_limits(team: Team, walked: None) -> None:
    response = team.client("viewer").post("/api/segments/preview/", {"definition": LIMITS}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["sample_user_ids"] == ["walker"]


def test_it_explains_rules_at_the_limits(team: Team, walked: None) -> None:
    segment_id = _create(team, definition=LIMITS).json()["id"]
    for user, matched in (("walker", True), ("skipper", False)):
        response = team.client("viewer").get(f"/api/explorer/users/{user}/segments/{segment_id}/explain/")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["matched"] is matched
        assert [c["matched"] for c in body["conditions"]] == [matched, True, matched]


def test_it_explains_why_it_cannot_explain_a_segment_whose_reference_was_deleted(
    team: Team, walked: None
) -> None:
    inner = _create(team, definition={"logic": "AND", "conditions": [SEQUENCE]}).json()["id"]
    outer = _create(
        team,
        definition={
            "logic": "OR",
            "conditions": [{"type": "segment_membership", "segment_id": inner, "operator": "in"}],
        },
    ).json()["id"]
    assert team.client("admin").delete(f"/api/segments/{inner}/").status_code == 204
    response = team.client("viewer").get(f"/api/explorer/users/walker/segments/{outer}/explain/")
    assert response.status_code == 409
    detail: Any = response.json()["detail"]
    assert "conditions[0].segment_id" in detail
    assert "no such segment" in detail


def test_it_computes_rules_at_the_limits(team: Team, walked: None) -> None:
    segment_id = _create(team, definition=LIMITS).json()["id"]
    segment_compute_run(segment_id=segment_id)
    segment = Segment.objects.for_tenant(team.tenant).get(pk=segment_id)
    assert (segment.status, segment.member_count, segment.error) == ("computed", 1, "")
    members = SegmentMember.objects.for_tenant(team.tenant).filter(
        segment=segment, generation=segment.generation
    )
    assert [m.user_id for m in members] == ["walker"]
