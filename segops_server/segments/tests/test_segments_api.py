from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone

from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.keys.services import api_key_create
from segops_server.segments.models import Segment, SegmentMember
from segops_server.testing.factories import Team, client_for

BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 2}],
}
VIEWERS = {
    "logic": "OR",
    "conditions": [{"type": "event_count", "event_type": "page_viewed", "operator": "gte", "value": 1}],
}


def _send(team: Team, *events: tuple[str, str, int]) -> None:
    now = timezone.now()
    valid = [
        event_validate(
            {"user_id": u, "event_type": t, "occurred_at": (now - timedelta(days=d)).isoformat()}, now=now
        )
        for u, t, d in events
    ]
    events_store(tenant=team.tenant, events=valid, received_at=now)


def _history(team: Team) -> None:
    _send(
        team,
        ("alice", "order_placed", 1),
        ("alice", "order_placed", 2),
        ("bob", "order_placed", 3),
        ("bob", "order_placed", 4),
        ("bob", "page_viewed", 3),
        ("carol", "page_viewed", 1),
    )


def _create(team: Team, who: str = "member", definition: Any = BUYERS, **extra: Any) -> Any:
    return team.client(who).post(
        "/api/segments/", {"name": "Buyers", "definition": definition, **extra}, format="json"
    )


@pytest.mark.django_db
def test_it_creates_a_segment_with_a_first_version(team: Team) -> None:
    response = _create(team)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["segment_type"] == "rule"
    assert body["member_count"] == 0
    assert body["last_computed_at"] is None
    versions = team.client("viewer").get(f"/api/segments/{body['id']}/versions/").json()
    assert versions["count"] == 1
    assert versions["results"][0]["number"] == 1


@pytest.mark.django_db
def test_it_lists_segments_in_the_page_envelope(team: Team) -> None:
    _create(team)
    body = team.client("viewer").get("/api/segments/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1


@pytest.mark.django_db
def test_it_adds_a_version_per_changed_definition(team: Team) -> None:
    segment_id = _create(team).json()["id"]
    client = team.client("member")
    assert (
        client.patch(f"/api/segments/{segment_id}/", {"definition": VIEWERS}, format="json").status_code
        == 200
    )
    assert client.patch(f"/api/segments/{segment_id}/", {"name": "Renamed"}, format="json").status_code == 200
    versions = client.get(f"/api/segments/{segment_id}/versions/").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[0]["definition"]["logic"] == "OR"


@pytest.mark.django_db
def test_it_refuses_a_malformed_definition_naming_the_condition(team: Team) -> None:
    bad = {
        "logic": "AND",
        "conditions": [{"type": "event_count", "event_type": "x", "operator": "nope", "value": 1}],
    }
    response = _create(team, definition=bad)
    assert response.status_code == 400
    assert "conditions[0]" in response.json()["definition"][0]


@pytest.mark.django_db
def test_it_refuses_writes_by_a_viewer(team: Team) -> None:
    assert _create(team, who="viewer").status_code == 403


@pytest.mark.django_db
def test_it_computes_members_and_serves_them(team: Team, django_capture_on_commit_callbacks: Any) -> None:
    _history(team)
    segment_id = _create(team).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client("member").post(f"/api/segments/{segment_id}/compute/")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    segment = team.client("viewer").get(f"/api/segments/{segment_id}/").json()
    assert segment["status"] == "computed"
    assert segment["member_count"] == 2
    assert segment["computed_version"] == 1
    members = team.client("viewer").get(f"/api/segments/{segment_id}/members/?limit=1").json()
    assert [m["user_id"] for m in members["results"]] == ["alice"]
    rest = (
        team.client("viewer")
        .get(f"/api/segments/{segment_id}/members/?cursor={members['next_cursor']}")
        .json()
    )
    assert [m["user_id"] for m in rest["results"]] == ["bob"]
    assert rest["next_cursor"] is None


@pytest.mark.django_db
def test_it_coalesces_compute_requests_while_one_is_queued(team: Team) -> None:
    segment_id = _create(team).json()["id"]
    client = team.client("member")
    first = client.post(f"/api/segments/{segment_id}/compute/").json()
    second = client.post(f"/api/segments/{segment_id}/compute/").json()
    assert first == {"status": "queued", "coalesced": False}
    assert second == {"status": "queued", "coalesced": True}


@pytest.mark.django_db
def test_it_swaps_the_member_set_whole(team: Team, django_capture_on_commit_callbacks: Any) -> None:
    _history(team)
    segment_id = _create(team).json()["id"]
    client = team.client("member")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/segments/{segment_id}/compute/")
    _send(team, ("carol", "order_placed", 1), ("carol", "order_placed", 1))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/segments/{segment_id}/compute/")
    segment = Segment.objects.for_tenant(team.tenant).get(pk=segment_id)
    rows = SegmentMember.objects.for_tenant(team.tenant).filter(segment=segment)
    # Alice's and bob's stays go on from the first compute; carol's begins with the second.
    assert segment.generation == 2
    assert sorted((m.user_id, m.generation, m.until_generation) for m in rows) == [
        ("alice", 1, None),
        ("bob", 1, None),
        ("carol", 2, None),
    ]


@pytest.mark.django_db
def test_it_marks_a_failed_compute_with_a_public_message_and_logs_the_detail(
    team: Team, django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    segment_id = _create(team).json()["id"]
    raw = 'no such column: "segops_secret_table"."pii"'
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "segops_server.segments.compute.services.tenant_definition_compile",
            lambda *a, **k: (_ for _ in ()).throw(OperationalError(raw)),
        )
        with django_capture_on_commit_callbacks(execute=True):
            team.client("member").post(f"/api/segments/{segment_id}/compute/")
    segment = team.client("viewer").get(f"/api/segments/{segment_id}/").json()
    assert segment["status"] == "failed"
    assert "segops_secret_table" not in segment["error"]
    assert "OperationalError" not in segment["error"]
    reference = re.fullmatch(
        r"The compute failed; the server log has the details \(reference ([0-9a-f]{12})\)\.", segment["error"]
    )
    assert reference is not None, segment["error"]
    logged = [r for r in caplog.records if reference[1] in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert raw in str(logged[0].exc_info[1])


@pytest.mark.django_db
def test_it_names_a_deleted_reference_in_the_public_message(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    referenced = _create(team).json()["id"]
    definition = {
        "logic": "AND",
        "conditions": [{"type": "segment_membership", "segment_id": referenced, "operator": "in"}],
    }
    segment_id = _create(team, definition=definition, name="Referrers").json()["id"]
    assert team.client("admin").delete(f"/api/segments/{referenced}/").status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")
    error = Segment.objects.for_tenant(team.tenant).get(pk=segment_id).error
    assert error == "The compute failed: conditions[0].segment_id: no such segment"


@pytest.mark.django_db
def test_it_tells_a_timed_out_compute_apart(team: Team, django_capture_on_commit_callbacks: Any) -> None:
    segment_id = _create(team).json()["id"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "segops_server.segments.compute.services.tenant_definition_compile",
            lambda *a, **k: (_ for _ in ()).throw(OperationalError("interrupted")),
        )
        with django_capture_on_commit_callbacks(execute=True):
            team.client("member").post(f"/api/segments/{segment_id}/compute/")
    segment = Segment.objects.for_tenant(team.tenant).get(pk=segment_id)
    assert segment.error.startswith("The compute failed: the rule took too long to evaluate")


@pytest.mark.django_db
def test_it_previews_a_definition(team: Team) -> None:
    _history(team)
    response = team.client("viewer").post(
        "/api/segments/preview/", {"definition": BUYERS, "limit": 1}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["matched_users"] == 2
    assert body["sample_user_ids"] == ["alice"]
    assert "%s" in body["sql"] or "?" in body["sql"]
    assert "order_placed" not in body["sql"]  # values travel as parameters, never in the SQL text


@pytest.mark.django_db
def test_it_answers_the_delivery_api(team: Team, django_capture_on_commit_callbacks: Any) -> None:
    _history(team)
    segment_id = _create(team).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")
    key = api_key_create(tenant=team.tenant, created_by=team.admin, name="d", scopes=["segments:read"]).key
    machine = client_for()
    machine.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    body = machine.get("/api/segments/membership/?user_id=alice").json()
    assert body["user_id"] == "alice"
    assert [s["id"] for s in body["segments"]] == [segment_id]
    assert body["segments"][0]["name"] == "Buyers"
    assert machine.get("/api/segments/membership/?user_id=nobody").json() == {
        "user_id": "nobody",
        "segments": [],
    }
    assert machine.get(f"/api/segments/membership/?user_id=carol&segment_id={segment_id}").json() == {
        "user_id": "carol",
        "segment_id": segment_id,
        "member": False,
    }
    assert machine.get("/api/segments/membership/").status_code == 400


@pytest.mark.django_db
def test_it_refuses_keys_without_the_segment_scopes(team: Team) -> None:
    key = api_key_create(tenant=team.tenant, created_by=team.admin, name="i", scopes=["events:write"]).key
    machine = client_for()
    machine.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    response = machine.get("/api/segments/membership/?user_id=alice")
    assert response.status_code == 403
    assert "segments:read" in response.json()["detail"]
    assert machine.post("/api/segments/", {"name": "x"}, format="json").status_code == 403


@pytest.mark.django_db
def test_it_explains_a_users_membership(team: Team) -> None:
    _history(team)
    segment_id = _create(team).json()["id"]
    body = team.client("viewer").get(f"/api/explorer/users/alice/segments/{segment_id}/explain/").json()
    assert body["matched"] is True
    assert body["conditions"] == [{"index": 0, "type": "event_count", "matched": True, "value": 2}]
    carol = team.client("viewer").get(f"/api/explorer/users/carol/segments/{segment_id}/explain/").json()
    assert carol["matched"] is False
    assert carol["conditions"][0]["value"] == 0


@pytest.mark.django_db
def test_it_lists_a_users_segments(team: Team, django_capture_on_commit_callbacks: Any) -> None:
    _history(team)
    segment_id = _create(team).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")
    rows = team.client("viewer").get("/api/explorer/users/alice/segments/").json()
    assert [(r["segment_id"], r["segment_name"], r["member_count"]) for r in rows] == [
        (segment_id, "Buyers", 2)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/segments/{id}/"),
        ("patch", "/api/segments/{id}/"),
        ("delete", "/api/segments/{id}/"),
        ("get", "/api/segments/{id}/versions/"),
        ("post", "/api/segments/{id}/compute/"),
        ("get", "/api/segments/{id}/members/"),
        ("get", "/api/explorer/users/alice/segments/{id}/explain/"),
    ],
)
def test_it_hides_segments_from_an_outsider(team: Team, method: str, path: str) -> None:
    segment_id = _create(team).json()["id"]
    response = getattr(team.client("outsider"), method)(path.format(id=segment_id), {}, format="json")
    assert response.status_code == 404
    assert Segment.objects.for_tenant(team.tenant).filter(pk=segment_id).exists()


@pytest.mark.django_db
def test_it_keeps_the_outsiders_lists_and_delivery_separate(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    _history(team)
    segment_id = _create(team).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")
    outsider = team.client("outsider")
    assert outsider.get("/api/segments/").json()["count"] == 0
    assert outsider.get("/api/segments/membership/?user_id=alice").json()["segments"] == []
    assert outsider.get(f"/api/segments/membership/?user_id=alice&segment_id={segment_id}").status_code == 404
    assert outsider.get("/api/explorer/users/alice/segments/").json() == []


@pytest.mark.django_db
def test_it_queues_due_segments_on_schedule(team: Team) -> None:
    from segops_server.cli import scheduler_round
    from segops_server.segments.compute.services import segments_refresh_due

    segment_id = _create(team, refresh_interval_minutes=15).json()["id"]
    other_id = _create(team).json()["id"]  # no interval: never scheduled
    scheduler_round()  # the worker's round is the one path that queues due segments
    assert Segment.objects.for_tenant(team.tenant).get(pk=segment_id).status in ("computing", "computed")
    assert Segment.objects.for_tenant(team.tenant).get(pk=other_id).status == "draft"
    assert segments_refresh_due() == 0  # computed just now: not due again yet


@pytest.mark.django_db
def test_it_deletes_a_segment_and_its_members(team: Team, django_capture_on_commit_callbacks: Any) -> None:
    _history(team)
    segment_id = _create(team).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")
    assert team.client("member").delete(f"/api/segments/{segment_id}/").status_code == 204
    assert not SegmentMember.objects.for_tenant(team.tenant).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["a%00b/segments/", "a%00b/segments/1/explain/"])
def test_it_answers_404_to_a_user_id_holding_nul(team: Team, path: str) -> None:
    response = team.client("viewer").get(f"/api/explorer/users/{path}")
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found."}
