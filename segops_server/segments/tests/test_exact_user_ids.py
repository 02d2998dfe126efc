"""One rule for user ids everywhere (core/ids.py): exactly as sent, never trimmed.

Ingestion stores `" alice "` as its own user; the delivery API (both ways), the explorer,
explain and the session handshake must name that same user, never `"alice"`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from segops_server.core.ids import InvalidId, user_id_parse
from segops_server.ingestion.models import Event
from segops_server.segments.tests.test_segments_api import _create, _history, _send
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key
from segops_server.testing.wsgi import Application

PADDED = " alice "


@pytest.fixture
def buyers(team: Team, django_capture_on_commit_callbacks: Any) -> int:
    """Acme's "Buyers", computed: alice is a member; " alice " only viewed a page."""
    _history(team)
    _send(team, (PADDED, "page_viewed", 1))
    segment_id = int(_create(team).json()["id"])
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")
    return segment_id


@pytest.mark.parametrize("value", ["alice", PADDED, "\talice", "a b/é&c", "x" * 255])
def test_it_takes_an_id_exactly_as_given(value: str) -> None:
    assert user_id_parse(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Must not be empty."),
        ("  \t", "Must not be empty."),
        ("x" * 256, "At most 255 characters."),
        ("a\x00b", "Must not contain NUL characters."),
        (42, "Must be a string."),
    ],
)
def test_it_refuses_only_what_no_user_can_have(value: Any, message: str) -> None:
    with pytest.raises(InvalidId) as raised:
        user_id_parse(value)
    assert raised.value.message == message


@pytest.mark.django_db
def test_it_stores_a_padded_id_as_sent(team: Team) -> None:
    _send(team, (PADDED, "page_viewed", 1), ("alice", "page_viewed", 1))
    assert sorted(Event.objects.for_tenant(team.tenant).values_list("user_id", flat=True)) == [
        PADDED,
        "alice",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("way", ["fast", "django"])
def test_the_delivery_api_answers_a_padded_id_for_itself(team: Team, buyers: int, way: str) -> None:
    key = make_api_key(team.tenant, scopes=["segments:read"]).key
    send = getattr(Application(), way)
    auth = {"headers": {"Authorization": f"ApiKey {key}"}}

    listed = send("GET", f"/api/segments/membership/?user_id={quote(PADDED)}", **auth)
    member = send("GET", f"/api/segments/membership/?user_id={quote(PADDED)}&segment_id={buyers}", **auth)
    alice = send("GET", f"/api/segments/membership/?user_id=alice&segment_id={buyers}", **auth)

    assert listed.json() == {"user_id": PADDED, "segments": []}
    assert member.json() == {"user_id": PADDED, "segment_id": buyers, "member": False}
    assert alice.json() == {"user_id": "alice", "segment_id": buyers, "member": True}
    assert listed.served_by == ("fast path" if way == "fast" else "django")


@pytest.mark.django_db
def test_the_explorer_and_explain_answer_a_padded_id_for_itself(team: Team, buyers: int) -> None:
    viewer = team.client("viewer")
    user = f"/api/explorer/users/{quote(PADDED, safe='')}/"

    assert viewer.get(user).json()["user_id"] == PADDED
    assert [e["user_id"] for e in viewer.get(f"{user}events/").json()["results"]] == [PADDED]
    assert viewer.get(f"{user}segments/").json() == []
    explained = viewer.get(f"{user}segments/{buyers}/explain/").json()
    assert (explained["user_id"], explained["matched"]) == (PADDED, False)
    assert viewer.get(f"/api/explorer/users/alice/segments/{buyers}/explain/").json()["matched"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("suffix", ["", "events/", "segments/", "segments/1/explain/"])
@pytest.mark.parametrize("user_id", ["%00", "a%00b", "%20%20", "x" * 256])
def test_the_explorer_answers_404_for_an_id_no_user_can_have(team: Team, suffix: str, user_id: str) -> None:
    response = team.client("viewer").get(f"/api/explorer/users/{user_id}/{suffix}")
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_session_is_minted_for_the_id_as_sent(team: Team) -> None:
    public = make_api_key(team.tenant, name="App", type="public")
    response = APIClient().post(
        "/api/auth/session/", {"user_id": PADDED}, format="json", HTTP_AUTHORIZATION=f"ApiKey {public.key}"
    )
    assert response.status_code == 200
    assert response.json()["uid"] == PADDED
