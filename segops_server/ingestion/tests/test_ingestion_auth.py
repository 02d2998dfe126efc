"""Who may send events: secret keys with events:write, and public-key sessions for their own user."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from segops_server.accounts.tokens import token_pair_issue
from segops_server.ingestion.tests.helpers import BATCH, TRACK, both_storage_paths, event, stored_events
from segops_server.keys.models import Scope
from segops_server.keys.services import IssuedKey, api_key_revoke
from segops_server.keys.sessions import session_token_mint
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

ENDPOINTS = [
    pytest.param(TRACK, event(), id="track"),
    pytest.param(BATCH, {"events": [event()]}, id="batch"),
]


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _session(team: Team, body: dict[str, Any]) -> APIClient:
    """A client holding a session minted over the handshake, as the browser SDK does."""
    public = make_api_key(team.tenant, created_by=team.admin, name="Web", type="public")
    minted = key_client(public.key).post("/api/auth/session/", body, format="json")
    assert minted.status_code == 200, minted.json()
    return _bearer(minted.json()["token"])


@pytest.mark.parametrize(("url", "body"), ENDPOINTS)
def test_it_answers_401_without_credentials(team: Team, url: str, body: Any) -> None:
    response = APIClient().post(url, body, format="json")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"]
    assert stored_events(team.tenant) == []


@pytest.mark.parametrize(("url", "body"), ENDPOINTS)
def test_it_answers_401_to_a_persons_jwt(team: Team, url: str, body: Any) -> None:
    # People read and configure; only machine credentials send events.
    response = _bearer(token_pair_issue(user=team.owner)["access"]).post(url, body, format="json")

    assert response.status_code == 401
    assert stored_events(team.tenant) == []


@pytest.mark.parametrize(
    "header",
    ["ApiKey sk_live_not_a_real_key", "ApiKey", "ApiKey a b", "Bearer not-a-token", "Bearer"],
)
def test_it_answers_401_to_a_malformed_credential(team: Team, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.post(TRACK, event(), format="json")

    assert response.status_code == 401
    assert stored_events(team.tenant) == []


@pytest.mark.parametrize(("url", "body"), ENDPOINTS)
def test_it_answers_403_naming_the_scope_to_a_key_without_events_write(
    team: Team, url: str, body: Any
) -> None:
    read_only = make_api_key(team.tenant, scopes=[Scope.SEGMENTS_READ, Scope.SEGMENTS_WRITE])

    response = key_client(read_only.key).post(url, body, format="json")

    assert response.status_code == 403
    assert "events:write" in response.json()["detail"]
    assert stored_events(team.tenant) == []


def test_it_accepts_a_key_with_only_events_write(team: Team) -> None:
    ingest_only = make_api_key(team.tenant, scopes=[Scope.EVENTS_WRITE])

    response = key_client(ingest_only.key).post(TRACK, event(), format="json")

    assert response.status_code == 202
    assert len(stored_events(team.tenant)) == 1


def test_it_accepts_the_key_in_the_x_api_key_header(team: Team, ingest_key: IssuedKey) -> None:
    response = APIClient().post(TRACK, event(), format="json", HTTP_X_API_KEY=ingest_key.key)

    assert response.status_code == 202
    assert len(stored_events(team.tenant)) == 1


@pytest.mark.parametrize(("url", "body"), ENDPOINTS)
@pytest.mark.parametrize(
    "naming",
    [
        {"HTTP_X_SEGOPS_TENANT": "globex"},
        {"QUERY_STRING": "tenant_slug=globex"},
        {"HTTP_X_SEGOPS_TENANT": "no-such-tenant"},
    ],
    ids=["header", "query", "unknown"],
)
def test_it_answers_403_when_a_key_names_another_tenant(
    team: Team, ingest: APIClient, url: str, body: Any, naming: dict[str, str]
) -> None:
    response = ingest.post(url, body, format="json", **naming)

    assert response.status_code == 403
    assert stored_events(team.tenant) == []
    assert stored_events(team.other_tenant) == []


def test_it_accepts_a_key_naming_its_own_tenant(team: Team, ingest: APIClient) -> None:
    response = ingest.post(TRACK, event(), format="json", HTTP_X_SEGOPS_TENANT="acme")

    assert response.status_code == 202


@pytest.mark.parametrize(("url", "body"), ENDPOINTS)
def test_it_answers_401_to_a_revoked_key(team: Team, ingest_key: IssuedKey, url: str, body: Any) -> None:
    api_key_revoke(api_key=ingest_key.api_key, actor=team.admin)

    response = key_client(ingest_key.key).post(url, body, format="json")

    assert response.status_code == 401
    assert stored_events(team.tenant) == []


def test_it_answers_401_to_an_expired_key(team: Team) -> None:
    key = make_api_key(team.tenant)
    key.api_key.expires_at = key.api_key.created_at - timedelta(seconds=1)
    key.api_key.save(update_fields=["expires_at"])

    response = key_client(key.key).post(TRACK, event(), format="json")

    assert response.status_code == 401


def test_it_answers_401_to_a_public_key_used_directly(team: Team) -> None:
    public = make_api_key(team.tenant, type="public")

    response = key_client(public.key).post(TRACK, event(), format="json")

    assert response.status_code == 401
    assert "/api/auth/session/" in response.json()["detail"]


@both_storage_paths
def test_it_replaces_every_user_id_with_the_sessions_uid(autocommit: bool, team: Team) -> None:
    session = _session(team, {"user_id": "u-session"})
    events = [
        event("someone-else", payload={"seq": 0}),
        {"event_type": "page_viewed", "payload": {"seq": 1}},
        {"event_type": "page_viewed", "user_id": "", "payload": {"seq": 2}},
        event("u-session", payload={"seq": 3}),
    ]

    single = session.post(TRACK, event("another-one", payload={"seq": 4}), format="json")
    batch = session.post(BATCH, {"events": events}, format="json")

    assert single.status_code == 202
    assert batch.status_code == 202
    assert batch.json() == {"queued": 4, "skipped": 0, "rejected": 0, "violations": 0, "errors": []}
    stored = stored_events(team.tenant)
    assert sorted(e.payload["seq"] for e in stored) == [0, 1, 2, 3, 4]
    assert {e.user_id for e in stored} == {"u-session"}


def test_it_stores_events_of_an_anonymous_session_under_anon_and_the_anonymous_id(team: Team) -> None:
    session = _session(team, {"anonymous_id": "visitor-9"})

    response = session.post(TRACK, {"event_type": "page_viewed"}, format="json")

    assert response.status_code == 202
    assert [(e.user_id, e.anonymous_id) for e in stored_events(team.tenant)] == [
        ("anon_visitor-9", "visitor-9")
    ]


def test_it_still_validates_the_other_fields_of_a_session_event(team: Team) -> None:
    session = _session(team, {"user_id": "u-session"})

    response = session.post(TRACK, {"event_type": "Not Snake"}, format="json")

    assert response.status_code == 400
    assert "event_type" in response.json()


def test_it_answers_401_to_a_session_of_a_revoked_public_key(team: Team) -> None:
    public = make_api_key(team.tenant, type="public")
    token = str(session_token_mint(key=public.api_key, user_id="u-1", anonymous_id=None))
    api_key_revoke(api_key=public.api_key, actor=team.admin)

    response = _bearer(token).post(TRACK, event(), format="json")

    assert response.status_code == 401
    assert stored_events(team.tenant) == []


def test_it_answers_401_to_an_expired_session(team: Team) -> None:
    public = make_api_key(team.tenant, type="public")
    token = session_token_mint(key=public.api_key, user_id="u-1", anonymous_id=None)
    token.set_exp(lifetime=-timedelta(seconds=1))

    response = _bearer(str(token)).post(TRACK, event(), format="json")

    assert response.status_code == 401


def test_it_answers_403_when_a_session_names_another_tenant(team: Team) -> None:
    session = _session(team, {"user_id": "u-1"})

    response = session.post(TRACK, event(), format="json", HTTP_X_SEGOPS_TENANT="globex")

    assert response.status_code == 403
    assert stored_events(team.other_tenant) == []
