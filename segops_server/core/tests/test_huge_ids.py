from __future__ import annotations

import pytest

from segops_server.testing.factories import Team

HUGE = "95073237025437859840"  # beyond a 64-bit integer


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        f"/api/segments/{HUGE}/",
        f"/api/segments/{HUGE}/members/",
        f"/api/auth/api-keys/{HUGE}/",
        f"/api/tenants/acme/members/{HUGE}/",
        f"/api/tenants/acme/invitations/{HUGE}/",
        f"/api/explorer/users/alice/segments/{HUGE}/explain/",
    ],
)
def test_it_answers_404_to_an_id_beyond_any_row(team: Team, path: str) -> None:
    response = team.client("owner").get(path)
    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [f"/api/segments/membership/?user_id=u&segment_id={HUGE}", f"/api/tenants/acme/members/?tenant={HUGE}"],
)
def test_it_answers_400_to_a_huge_id_parameter(team: Team, path: str) -> None:
    response = team.client("owner").get(path)
    assert response.status_code == 400
