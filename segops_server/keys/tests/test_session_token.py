"""What a public-key session may do: send events for its one user, read nothing, die with its key."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView
from segops import sign_user_id

from segops_server.accounts.tokens import token_pair_issue
from segops_server.keys.authentication import SessionCredential, SessionTokenAuthentication
from segops_server.keys.services import IssuedKey
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client


class SessionEchoView(APIView):
    """Stands in for the ingestion endpoint: authenticated by session tokens only."""

    authentication_classes = [SessionTokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        credential = request.auth
        assert isinstance(credential, SessionCredential)
        return Response(
            {"uid": credential.uid, "tenant": credential.bound_tenant.slug, "scopes": credential.scopes}
        )


def _session(issued: IssuedKey, user_id: str = "user-42") -> str:
    response = APIClient().post(
        "/api/auth/session/",
        sign_user_id(str(issued.hmac_secret), user_id),
        format="json",
        HTTP_AUTHORIZATION=f"ApiKey {issued.key}",
        HTTP_ORIGIN="https://app.example.com",
    )
    assert response.status_code == 200
    token: str = response.json()["token"]
    return token


def _echo(token: str) -> Response:
    request = APIRequestFactory().get("/stand-in/", HTTP_AUTHORIZATION=f"Bearer {token}")
    response: Response = SessionEchoView.as_view()(request)
    return response


def test_it_authenticates_a_session_for_one_user_that_may_only_send_events(
    team: Team, public_key: IssuedKey
) -> None:
    response = _echo(_session(public_key))
    assert response.status_code == 200
    assert response.data == {"uid": "user-42", "tenant": "acme", "scopes": ["events:write"]}


@pytest.mark.parametrize("url", ["/api/auth/whoami/", "/api/tenants/", "/api/auth/me/", "/api/audit-log/"])
def test_it_refuses_a_session_token_anywhere_data_is_read(
    team: Team, public_key: IssuedKey, url: str
) -> None:
    response = APIClient().get(url, HTTP_AUTHORIZATION=f"Bearer {_session(public_key)}")
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")
    assert "acme" not in response.content.decode()


@pytest.mark.parametrize("url", ["/api/auth/whoami/", "/api/tenants/", "/api/auth/api-keys/"])
def test_it_refuses_the_public_key_itself_anywhere_but_the_handshake(
    team: Team, public_key: IssuedKey, url: str
) -> None:
    assert key_client(public_key.key).get(url).status_code == 401


def test_it_ends_every_session_when_the_public_key_is_revoked(team: Team, public_key: IssuedKey) -> None:
    token = _session(public_key)
    assert _echo(token).status_code == 200
    assert team.client("admin").delete(f"/api/auth/api-keys/{public_key.api_key.pk}/").status_code == 204
    response = _echo(token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_it_ends_a_session_after_fifteen_minutes(team: Team, public_key: IssuedKey) -> None:
    token = _session(public_key)
    later = timezone.now() + timedelta(minutes=15, seconds=1)
    with mock.patch("rest_framework_simplejwt.tokens.aware_utcnow", return_value=later):
        assert _echo(token).status_code == 401


def _tampered(token: str) -> str:
    """The same signature over a payload naming another user."""
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["uid"] = "user-43"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{head}.{forged}.{signature}"


@pytest.mark.parametrize(
    "make_token",
    [
        lambda team: token_pair_issue(user=team.admin)["access"],
        lambda team: token_pair_issue(user=team.admin)["refresh"],
        lambda team: "not-a-jwt",
        lambda team: "a.b.c",
    ],
    ids=["person-access", "person-refresh", "garbage", "three-parts"],
)
def test_it_refuses_anything_but_a_session_token(team: Team, make_token: Any) -> None:
    assert _echo(make_token(team)).status_code == 401


def test_it_refuses_a_tampered_session_token(team: Team, public_key: IssuedKey) -> None:
    assert _echo(_tampered(_session(public_key))).status_code == 401


def test_it_ignores_requests_without_a_bearer_token(team: Team, public_key: IssuedKey) -> None:
    request = APIRequestFactory().get("/stand-in/", HTTP_AUTHORIZATION=f"ApiKey {public_key.key}")
    assert SessionEchoView.as_view()(request).status_code == 401
    bare = APIRequestFactory().get("/stand-in/", HTTP_AUTHORIZATION="Bearer")
    assert SessionEchoView.as_view()(bare).status_code == 401
