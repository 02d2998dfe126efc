"""Anonymous visitors live in their own id space, `anon_<anonymous_id>` (core/ids.py).

Before, a public key that requires signed user ids minted an unsigned session for
`{"anonymous_id": "victim-42"}` whose uid was `victim-42`: anyone holding the (public) key
wrote events and traits into a known user's profile. Now an anonymous session's uid is
`anon_victim-42`, no client can name an `anon_` id as a user_id, and only an identify (an event
with both ids) joins an anonymous visitor to a user.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from segops import sign_user_id

from segops_server.core.ids import MAX_ANONYMOUS_ID_LENGTH
from segops_server.ingestion.tests.helpers import (
    BATCH,
    TRACK,
    both_storage_paths,
    event,
    stored_aliases,
    stored_events,
    user_url,
)
from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key
from segops_server.testing.wsgi import Application

pytestmark = pytest.mark.django_db

SESSION = "/api/auth/session/"
SIGNED_ONLY = {"type": "public", "require_signed_user_id": True}


def _handshake(public: IssuedKey, body: dict[str, Any]) -> Any:
    return APIClient().post(SESSION, body, format="json", HTTP_AUTHORIZATION=f"ApiKey {public.key}")


def _session(public: IssuedKey, body: dict[str, Any]) -> APIClient:
    minted = _handshake(public, body)
    assert minted.status_code == 200, minted.json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {minted.json()['token']}")
    return client


def _profile(viewer: APIClient, user_id: str) -> dict[str, Any]:
    response = viewer.get(user_url(user_id))
    assert response.status_code == 200, response.json()
    body: dict[str, Any] = response.json()
    return body


def _event_users(viewer: APIClient, user_id: str) -> list[str]:
    return sorted(e["user_id"] for e in viewer.get(user_url(user_id, "events/")).json()["results"])


@both_storage_paths
def test_an_anonymous_session_never_writes_into_a_known_users_profile(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(TRACK, event("victim-42", "context_identified", payload={"plan": "pro"}), format="json")
    public = make_api_key(team.tenant, **SIGNED_ONLY)

    minted = _handshake(public, {"anonymous_id": "victim-42"})
    assert minted.status_code == 200
    assert minted.json()["uid"] == "anon_victim-42"
    attacker = _session(public, {"anonymous_id": "victim-42"})
    batch = [
        event("victim-42", "order_placed"),
        event("victim-42", "context_identified", payload={"plan": "x"}),
    ]
    assert attacker.post(BATCH, {"events": batch}, format="json").status_code == 202

    victim = _profile(viewer, "victim-42")
    assert (victim["event_count"], victim["properties"]) == (1, {"plan": "pro"})
    assert _event_users(viewer, "victim-42") == ["victim-42"]
    anonymous = _profile(viewer, "anon_victim-42")
    assert (anonymous["event_count"], anonymous["properties"]) == (2, {"plan": "x"})


def test_a_signed_user_is_still_required_for_a_known_id(team: Team) -> None:
    public = make_api_key(team.tenant, **SIGNED_ONLY)
    assert _handshake(public, {"user_id": "victim-42"}).status_code == 401
    assert _handshake(public, {"user_id": "victim-42", "anonymous_id": "v"}).status_code == 401
    signed = _handshake(public, sign_user_id(str(public.hmac_secret), "victim-42"))
    assert (signed.status_code, signed.json()["uid"]) == (200, "victim-42")


@pytest.mark.parametrize("user_id", ["anon_victim-42", "anon_"])
def test_the_handshake_refuses_a_user_id_in_the_anonymous_space(team: Team, user_id: str) -> None:
    public = make_api_key(team.tenant, type="public")
    signed = sign_user_id(str(public.hmac_secret), user_id)

    response = _handshake(public, signed)

    assert response.status_code == 400
    assert "anonymous_id" in response.json()["user_id"][0]


def test_the_handshake_refuses_an_anonymous_id_too_long_for_its_uid(team: Team) -> None:
    public = make_api_key(team.tenant, type="public")
    assert _handshake(public, {"anonymous_id": "a" * MAX_ANONYMOUS_ID_LENGTH}).status_code == 200
    refused = _handshake(public, {"anonymous_id": "a" * (MAX_ANONYMOUS_ID_LENGTH + 1)})
    assert refused.status_code == 400
    assert "anonymous_id" in refused.json()


def test_an_anonymous_session_sends_its_own_anonymous_id_only(team: Team, ingest: APIClient) -> None:
    """Naming another visitor's anonymous id would alias that visitor's history to this one."""
    ingest.post(TRACK, {"anonymous_id": "someone-else", "event_type": "page_viewed"}, format="json")
    public = make_api_key(team.tenant, type="public")
    visitor = _session(public, {"anonymous_id": "me"})

    visitor.post(TRACK, event("whoever", anonymous_id="someone-else"), format="json")

    mine = stored_events(team.tenant, user_id="anon_me")
    assert [(e.user_id, e.anonymous_id) for e in mine] == [("anon_me", "me")]
    assert stored_aliases(team.tenant) == {}


def test_a_signed_session_joins_its_anonymous_history(team: Team, viewer: APIClient) -> None:
    public = make_api_key(team.tenant, **SIGNED_ONLY)
    visitor = _session(public, {"anonymous_id": "device-1"})
    visitor.post(TRACK, event("ignored", "product_viewed"), format="json")

    alice = _session(public, sign_user_id(str(public.hmac_secret), "alice"))
    alice.post(TRACK, event("ignored", "signed_up", anonymous_id="device-1"), format="json")

    assert stored_aliases(team.tenant) == {"anon_device-1": "alice"}
    assert _event_users(viewer, "alice") == ["alice", "anon_device-1"]


@both_storage_paths
def test_a_secret_key_sends_an_anonymous_visitor_by_anonymous_id_alone(
    autocommit: bool, team: Team, ingest: APIClient, viewer: APIClient
) -> None:
    ingest.post(BATCH, {"events": [{"anonymous_id": "device-9", "event_type": "page_viewed"}]}, format="json")
    ingest.post(TRACK, event("bob", "signed_up", anonymous_id="device-9"), format="json")

    assert [(e.user_id, e.anonymous_id) for e in stored_events(team.tenant)] == [
        ("anon_device-9", "device-9"),
        ("bob", "device-9"),
    ]
    assert stored_aliases(team.tenant) == {"anon_device-9": "bob"}
    assert _event_users(viewer, "bob") == ["anon_device-9", "bob"]


@pytest.mark.parametrize("user_id", ["anon_victim-42", "anon_"])
def test_a_secret_key_may_not_name_an_anonymous_id_as_user_id(
    team: Team, ingest: APIClient, user_id: str
) -> None:
    single = ingest.post(TRACK, event(user_id), format="json")
    batch = ingest.post(BATCH, {"events": [event(user_id), event("carol")]}, format="json")

    assert single.status_code == 400
    assert single.json()["user_id"] == [
        "Ids starting with anon_ belong to anonymous visitors: "
        "send the visitor's id as anonymous_id, without user_id."
    ]
    assert (batch.json()["queued"], batch.json()["errors"][0]["field"]) == (1, "user_id")
    assert [e.user_id for e in stored_events(team.tenant)] == ["carol"]


def test_the_short_way_refuses_an_anonymous_user_id_as_the_drf_view_does(
    team: Team, ingest_key: IssuedKey
) -> None:
    answer = Application().fast(
        "POST", TRACK, event("anon_victim-42"), headers={"Authorization": f"ApiKey {ingest_key.key}"}
    )
    assert (answer.served_by, answer.status) == ("django", 400)
    assert stored_events(team.tenant) == []


def test_an_event_needs_a_user_id_or_an_anonymous_id(team: Team, ingest: APIClient) -> None:
    response = ingest.post(TRACK, {"event_type": "page_viewed"}, format="json")
    assert response.status_code == 400
    assert "anonymous_id" in response.json()["user_id"][0]


@pytest.mark.parametrize("anon", [None, "victim-42"], ids=["no-anon-claim", "anon-claim-not-the-uid"])
def test_a_session_token_from_before_the_id_spaces_is_refused(team: Team, anon: str | None) -> None:
    """Its uid may be a known user's id taken through anonymous_id: the SDK re-mints on the 401."""
    public = make_api_key(team.tenant, type="public")
    token = _handshake(public, {"anonymous_id": "victim-42"}).json()["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    if anon is None:
        del claims["anon"]
    claims["uid"] = "victim-42"
    old = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=settings.SIMPLE_JWT["ALGORITHM"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {old}")

    response = client.post(TRACK, event("victim-42"), format="json")

    assert response.status_code == 401
    assert stored_events(team.tenant) == []
