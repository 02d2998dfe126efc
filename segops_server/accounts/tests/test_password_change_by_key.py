"""POST /api/auth/password/ with an API key: refused as a person-only endpoint (403), not a 500."""

from __future__ import annotations

from segops_server.testing.factories import PASSWORD, Team
from segops_server.testing.keys import key_client, make_api_key


def test_it_refuses_an_api_key_with_403(team: Team) -> None:
    client = key_client(make_api_key(team.tenant).key)
    body = {"current_password": PASSWORD, "new_password": "tangerine-sunset-over-9-hills"}
    response = client.post("/api/auth/password/", body, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Sign in as a person to use this endpoint."}
