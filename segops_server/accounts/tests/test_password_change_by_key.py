"""POST /api/auth/password/ with an API key: a clear 403 (a key has no password), never a 500."""

from __future__ import annotations

import pytest

from segops_server.testing.factories import PASSWORD, Team
from segops_server.testing.keys import key_client, make_api_key

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "body",
    [
        {"current_password": PASSWORD, "new_password": "tangerine-sunset-over-9-hills"},
        {"current_password": "x", "new_password": "short"},
        {},
    ],
)
def test_it_refuses_an_api_key(team: Team, body: dict[str, str]) -> None:
    client = key_client(make_api_key(team.tenant).key)
    response = client.post("/api/auth/password/", body, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "API keys cannot use this endpoint; sign in as a person."}
    team.owner.refresh_from_db()
    assert team.owner.check_password(PASSWORD)
