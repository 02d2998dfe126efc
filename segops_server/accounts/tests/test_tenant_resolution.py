"""The tenant choke point for requests: which tenant a call names, and refusing every doubt."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from segops_server.access.policy import Policy
from segops_server.accounts.models import Role, User
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import Team, add_member, client_for, make_user


class _Probe(TenantScopedAPIView):
    """A tenant-scoped endpoint that only reports which tenant it resolved."""

    policy = Policy(write=Role.VIEWER)

    def get(self, request: Request) -> Response:
        return Response({"tenant": self.tenant.slug, "role": self.tenant_context.role})

    def post(self, request: Request) -> Response:
        return self.get(request)


def _call(user: User, method: str = "get", data: Any = None, **extra: Any) -> Any:
    factory = APIRequestFactory()
    auth = f"Bearer {token_pair_issue(user=user)['access']}"
    if method == "get":
        request = factory.get("/probe/", data, HTTP_AUTHORIZATION=auth, **extra)
    else:
        request = factory.post("/probe/", data, format="json", HTTP_AUTHORIZATION=auth, **extra)
    response = _Probe.as_view()(request)
    response.render()
    return response


@pytest.fixture
def two_tenant_owner(team: Team) -> User:
    """The owner of acme, also a viewer in globex."""
    add_member(team.other_tenant, team.owner, Role.VIEWER)
    return team.owner


def test_it_uses_the_tenant_header(two_tenant_owner: User) -> None:
    response = _call(two_tenant_owner, HTTP_X_SEGOPS_TENANT="globex")
    assert response.status_code == 200
    assert response.data == {"tenant": "globex", "role": "viewer"}


def test_it_uses_the_tenant_slug_query_parameter(two_tenant_owner: User) -> None:
    response = _call(two_tenant_owner, data={"tenant_slug": "acme"})
    assert response.data == {"tenant": "acme", "role": "owner"}


def test_it_uses_a_numeric_tenant_parameter(team: Team, two_tenant_owner: User) -> None:
    response = _call(two_tenant_owner, data={"tenant": str(team.other_tenant.pk)})
    assert response.data == {"tenant": "globex", "role": "viewer"}


def test_it_uses_a_tenant_slug_in_the_body(two_tenant_owner: User) -> None:
    response = _call(two_tenant_owner, "post", {"tenant_slug": "globex"})
    assert response.status_code == 200
    assert response.data["tenant"] == "globex"


def test_it_uses_a_numeric_tenant_in_the_body(team: Team, two_tenant_owner: User) -> None:
    response = _call(two_tenant_owner, "post", {"tenant": team.tenant.pk})
    assert response.data["tenant"] == "acme"


def test_it_accepts_the_same_tenant_named_twice(two_tenant_owner: User) -> None:
    response = _call(two_tenant_owner, "post", {"tenant_slug": "acme"}, HTTP_X_SEGOPS_TENANT="acme")
    assert response.status_code == 200
    assert response.data["tenant"] == "acme"


def test_it_implies_the_only_tenant_of_a_person(team: Team) -> None:
    response = _call(team.member)
    assert response.status_code == 200
    assert response.data == {"tenant": "acme", "role": "member"}


def test_it_refuses_to_guess_among_several_tenants(two_tenant_owner: User) -> None:
    response = _call(two_tenant_owner)
    assert response.status_code == 400
    assert "X-SegOps-Tenant" in response.data["detail"]


def test_it_refuses_a_person_without_any_tenant(db: None) -> None:
    response = _call(make_user())
    assert response.status_code == 400
    assert set(response.data) == {"detail"}


@pytest.mark.parametrize(
    ("data", "header"),
    [
        ({"tenant_slug": "globex"}, "acme"),
        ({"tenant_slug": "acme"}, "globex"),
    ],
)
def test_it_refuses_conflicting_tenant_names(
    two_tenant_owner: User, data: dict[str, str], header: str
) -> None:
    response = _call(two_tenant_owner, "post", data, HTTP_X_SEGOPS_TENANT=header)
    assert response.status_code == 400
    assert response.data == {"detail": "The request names more than one tenant."}


def test_it_refuses_a_header_that_disagrees_with_the_url(team: Team, two_tenant_owner: User) -> None:
    response = client_for(two_tenant_owner, team.other_tenant).get("/api/tenants/acme/")
    assert response.status_code == 400
    assert response.json() == {"detail": "The request names more than one tenant."}


def test_it_refuses_a_slug_and_an_id_of_two_of_my_tenants(team: Team, two_tenant_owner: User) -> None:
    response = _call(two_tenant_owner, data={"tenant_slug": "acme", "tenant": str(team.other_tenant.pk)})
    assert response.status_code == 400
    assert response.data == {"detail": "The request names more than one tenant."}


def test_it_accepts_a_slug_and_an_id_of_the_same_tenant(team: Team, two_tenant_owner: User) -> None:
    response = _call(two_tenant_owner, data={"tenant_slug": "globex", "tenant": str(team.other_tenant.pk)})
    assert response.status_code == 200
    assert response.data["tenant"] == "globex"


@pytest.mark.parametrize("mine", ["slug", "id"])
def test_it_answers_404_when_one_of_two_names_is_not_mine(team: Team, mine: str) -> None:
    # The member is in acme only: pairing acme with globex must not confirm globex exists.
    if mine == "slug":
        data = {"tenant_slug": "acme", "tenant": str(team.other_tenant.pk)}
    else:
        data = {"tenant_slug": "globex", "tenant": str(team.tenant.pk)}
    response = _call(team.member, data=data)
    assert response.status_code == 404
    assert response.data == {"detail": "Tenant not found."}


@pytest.mark.parametrize("slug", ["globex", "no-such-tenant"])
def test_it_answers_404_for_a_tenant_i_am_not_in_whether_or_not_it_exists(team: Team, slug: str) -> None:
    response = _call(team.member, HTTP_X_SEGOPS_TENANT=slug)
    assert response.status_code == 404
    assert response.data == {"detail": "Tenant not found."}


def test_it_answers_404_for_an_id_i_am_not_in(team: Team) -> None:
    for tenant_id in (team.other_tenant.pk, 999_999):
        response = _call(team.member, data={"tenant": str(tenant_id)})
        assert response.status_code == 404


@pytest.mark.parametrize("value", ["acme", "1.5", "-1", "0x1"])
def test_it_refuses_a_non_numeric_tenant_parameter(team: Team, value: str) -> None:
    response = _call(team.member, data={"tenant": value})
    assert response.status_code == 400
    assert list(response.data) == ["tenant"]


@pytest.mark.parametrize("value", [True, "abc", [1], 1.5])
def test_it_refuses_a_non_numeric_tenant_in_the_body(team: Team, value: Any) -> None:
    response = _call(team.member, "post", {"tenant": value})
    assert response.status_code == 400
    assert list(response.data) == ["tenant"]


def test_it_ignores_blank_tenant_names(team: Team) -> None:
    response = _call(team.member, data={"tenant_slug": "  ", "tenant": ""}, HTTP_X_SEGOPS_TENANT=" ")
    assert response.status_code == 200
    assert response.data["tenant"] == "acme"
