"""Per-key scopes, enforced by each endpoint's access policy (access/policy.py)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from segops_server.access.policy import Credential, Policy
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key


class SegmentsView(TenantScopedAPIView):
    """Stands in for a feature endpoint: reading needs segments:read, writing segments:write."""

    policy = Policy(
        credentials=frozenset({Credential.PERSON, Credential.SECRET_KEY}),
        scopes={"GET": "segments:read", "POST": "segments:write"},
    )

    def get(self, request: Request) -> Response:
        return Response({"tenant": self.tenant.slug})

    def post(self, request: Request) -> Response:
        return Response({"tenant": self.tenant.slug}, status=201)


class PeopleOnlyView(TenantScopedAPIView):
    """An endpoint that names no scope at all: machine credentials may not use it."""

    policy = Policy()

    def get(self, request: Request) -> Response:
        return Response({"tenant": self.tenant.slug})


def _call(view: Any, method: str, key: str) -> Response:
    factory = APIRequestFactory()
    request = getattr(factory, method)("/stand-in/", HTTP_AUTHORIZATION=f"ApiKey {key}")
    response: Response = view.as_view()(request)
    return response


@pytest.mark.parametrize(
    ("scopes", "method", "status"),
    [
        (["segments:read"], "get", 200),
        (["segments:write"], "post", 201),
        (["events:write"], "get", 403),
        (["events:write", "segments:write"], "get", 403),
        (["segments:read"], "post", 403),
        (["events:write", "segments:read", "segments:write"], "post", 201),
    ],
)
def test_it_lets_a_key_call_only_what_its_scopes_allow(
    team: Team, scopes: list[str], method: str, status: int
) -> None:
    issued = make_api_key(team.tenant, scopes=scopes)
    response = _call(SegmentsView, method, issued.key)
    assert response.status_code == status
    if status == 403:
        needed = "segments:read" if method == "get" else "segments:write"
        assert response.data == {"detail": f"This API key lacks the '{needed}' scope."}
    else:
        assert response.data == {"tenant": "acme"}


def test_it_refuses_keys_on_an_endpoint_that_names_no_scope(team: Team) -> None:
    issued = make_api_key(team.tenant)  # every scope there is
    response = _call(PeopleOnlyView, "get", issued.key)
    assert response.status_code == 403
    assert "API keys cannot use this endpoint" in str(response.data["detail"])


def test_it_checks_people_by_role_not_by_scope(team: Team) -> None:
    factory = APIRequestFactory()
    request = factory.get("/stand-in/", HTTP_X_SEGOPS_TENANT="acme")
    force_authenticate(request, user=team.viewer)
    assert PeopleOnlyView.as_view()(request).status_code == 200
