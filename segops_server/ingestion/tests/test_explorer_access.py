"""Who may read the explorer: every role, keys with segments:read; never another tenant."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from segops_server.ingestion.tests.helpers import TRACK, USERS, event, user_url
from segops_server.keys.models import Scope
from segops_server.keys.sessions import session_token_mint
from segops_server.testing.factories import Team, client_for
from segops_server.testing.keys import key_client, make_api_key

ENDPOINTS = [
    pytest.param(USERS, id="list"),
    pytest.param(user_url("alice@acme"), id="detail"),
    pytest.param(user_url("alice@acme", "events/"), id="events"),
]


@pytest.fixture(autouse=True)
def _acme_user(team: Team, ingest: APIClient) -> None:
    assert ingest.post(TRACK, event("alice@acme", anonymous_id="anon-acme"), format="json").status_code == 202


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer"])
@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_lets_every_role_read(team: Team, who: str, url: str) -> None:
    response = team.client(who).get(url)

    assert response.status_code == 200
    assert "alice@acme" in response.content.decode()


@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_lets_a_key_with_segments_read_read(team: Team, url: str) -> None:
    reader = make_api_key(team.tenant, scopes=[Scope.SEGMENTS_READ])

    response = key_client(reader.key).get(url)

    assert response.status_code == 200
    assert "alice@acme" in response.content.decode()


@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_answers_403_naming_the_scope_to_a_key_without_segments_read(team: Team, url: str) -> None:
    writer = make_api_key(team.tenant, scopes=[Scope.EVENTS_WRITE, Scope.SEGMENTS_WRITE])

    response = key_client(writer.key).get(url)

    assert response.status_code == 403
    assert "segments:read" in response.json()["detail"]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_answers_401_without_credentials(url: str) -> None:
    response = APIClient().get(url)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_refuses_a_public_key_session(team: Team, url: str) -> None:
    # A session may send events for its one user; it never reads tenant data.
    public = make_api_key(team.tenant, type="public")
    token = session_token_mint(key=public.api_key, user_id="alice@acme", anonymous_id=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get(url)

    assert response.status_code == 401
    assert "alice@acme" not in response.content.decode()


@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_answers_404_to_the_outsider_naming_acme(team: Team, url: str) -> None:
    response = client_for(team.outsider, team.tenant).get(url)

    assert response.status_code == 404
    assert response.json() == {"detail": "Tenant not found."}


@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_answers_404_to_the_outsider_naming_acme_by_query(team: Team, url: str) -> None:
    response = client_for(team.outsider).get(url, {"tenant_slug": "acme"})

    assert response.status_code == 404


@pytest.mark.parametrize(
    "url", [user_url("alice@acme"), user_url("alice@acme", "events/"), user_url("anon-acme")]
)
def test_it_does_not_find_an_acme_user_in_globex(team: Team, url: str) -> None:
    response = team.client("outsider").get(url)

    assert response.status_code == 404
    assert response.json() == {"detail": "User not found."}


def test_it_lists_no_acme_user_in_globex(team: Team) -> None:
    response = team.client("outsider").get(USERS, {"q": "alice"})

    assert response.json() == {"count": 0, "results": []}


@pytest.mark.parametrize("url", ENDPOINTS)
def test_it_answers_403_to_a_globex_key_naming_acme(team: Team, url: str) -> None:
    globex_reader = make_api_key(team.other_tenant, created_by=team.outsider, scopes=[Scope.SEGMENTS_READ])

    response = key_client(globex_reader.key, tenant="acme").get(url)

    assert response.status_code == 403
    assert "alice@acme" not in response.content.decode()


@pytest.mark.parametrize("url", [user_url("alice@acme"), user_url("alice@acme", "events/")])
def test_it_does_not_find_an_acme_user_with_a_globex_key(team: Team, url: str) -> None:
    globex_reader = make_api_key(team.other_tenant, created_by=team.outsider, scopes=[Scope.SEGMENTS_READ])

    response = key_client(globex_reader.key).get(url)

    assert response.status_code == 404
