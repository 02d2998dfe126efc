"""GET /api/audit-log/: a tenant's own audit trail, for Admins and Owners only."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key

URL = "/api/audit-log/"
FIELDS = {"id", "action", "actor", "api_key_id", "key_prefix", "client_ip", "detail", "created_at"}


@pytest.mark.parametrize(
    ("who", "status"), [("owner", 200), ("admin", 200), ("member", 403), ("viewer", 403)]
)
def test_it_needs_the_admin_or_owner_role(team: Team, who: str, status: int) -> None:
    make_api_key(team.tenant, name="Ingestor")
    response = team.client(who).get(URL)
    assert response.status_code == status
    if status == 403:
        assert "key.created" not in response.content.decode()


def test_it_lists_events_newest_first_in_the_page_envelope(team: Team) -> None:
    for name in ("first", "second", "third"):
        make_api_key(team.tenant, created_by=team.admin, name=name)
    body = team.client("admin").get(URL, {"page_size": 2}).json()
    assert body["count"] == 3
    assert body["next"] is not None
    assert [set(event) for event in body["results"]] == [FIELDS, FIELDS]
    assert [event["detail"]["name"] for event in body["results"]] == ["third", "second"]
    assert {event["actor"] for event in body["results"]} == {"admin@acme.test"}


def test_it_filters_by_action(team: Team) -> None:
    issued = make_api_key(team.tenant)
    team.client("admin").delete(f"/api/auth/api-keys/{issued.api_key.pk}/")
    body = team.client("admin").get(URL, {"action": "key.revoked"}).json()
    assert [event["action"] for event in body["results"]] == ["key.revoked"]
    everything = team.client("admin").get(URL).json()
    assert [event["action"] for event in everything["results"]] == ["key.revoked", "key.created"]


@pytest.mark.parametrize("action", ["key.deleted", "KEY.CREATED", "x" * 500, "key.created,key.revoked"])
def test_it_rejects_an_unknown_action_filter_with_400(team: Team, action: str) -> None:
    response = team.client("admin").get(URL, {"action": action})
    assert response.status_code == 400
    assert "action" in response.json()


def test_it_shows_an_outsider_only_their_own_tenants_events(team: Team) -> None:
    acme_key = make_api_key(team.tenant, name="Acme secret name")
    make_api_key(team.other_tenant, created_by=team.outsider, name="Globex ingestor")
    response = team.client("outsider").get(URL)
    assert response.status_code == 200
    names = [event["detail"].get("name") for event in response.json()["results"]]
    assert names == ["Globex ingestor"]
    text = response.content.decode()
    assert "Acme secret name" not in text
    assert acme_key.key[:12] not in text
    assert "acme" not in text


def test_it_answers_404_to_an_outsider_naming_acme(team: Team) -> None:
    make_api_key(team.tenant, name="Acme secret name")
    response = team.client("outsider").get(URL, HTTP_X_SEGOPS_TENANT="acme")
    assert response.status_code == 404
    assert response.json() == {"detail": "Tenant not found."}


def test_it_refuses_api_keys_and_anonymous_callers(team: Team) -> None:
    issued = make_api_key(team.tenant)
    assert key_client(issued.key).get(URL).status_code == 403
    response = APIClient().get(URL, HTTP_X_SEGOPS_TENANT="acme")
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")
