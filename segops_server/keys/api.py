"""Thin views for API keys, leaked-key revocation, the public-key handshake and whoami."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from segops_server.access import rules
from segops_server.access.policy import PUBLIC, Credential, Policy, Quota
from segops_server.accounts.permissions import person, resolve_tenant
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.core.idempotency import secret_shown_once
from segops_server.core.pagination import PageNumberPagination, paginated_response
from segops_server.core.proxy import client_address
from segops_server.keys import selectors, services
from segops_server.keys.authentication import PublicKeyAuthentication, request_credential
from segops_server.keys.models import ApiKey
from segops_server.keys.serializers import (
    ApiKeyCreateSerializer,
    ApiKeyIssuedSerializer,
    ApiKeyRollSerializer,
    ApiKeySerializer,
    RevokeLeakedSerializer,
    SessionRequestSerializer,
    SessionSerializer,
    WhoAmISerializer,
)
from segops_server.keys.sessions import origin_check, session_token_mint, signature_check


def _issued_body(issued: services.IssuedKey) -> dict[str, Any]:
    body = {**ApiKeySerializer(issued.api_key).data, "key": issued.key}
    if issued.hmac_secret is not None:
        body["hmac_secret"] = issued.hmac_secret
    return body


class ApiKeyListView(TenantScopedAPIView):
    """Creating, listing and revoking keys needs a signed-in Admin or Owner."""

    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope

    policy = rules.KEYS

    @extend_schema(responses=ApiKeySerializer(many=True))
    def get(self, request: Request) -> Response:
        return paginated_response(
            self, request, selectors.api_keys_of_tenant(tenant=self.tenant), ApiKeySerializer
        )

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyIssuedSerializer})
    def post(self, request: Request) -> Response:
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = services.api_key_create(
            tenant=self.tenant, created_by=person(request), request=request, **data.validated_data
        )
        return secret_shown_once(
            Response(_issued_body(issued), status=status.HTTP_201_CREATED),
            created=f"API key {issued.api_key.pk}",
        )


class _OneKeyView(TenantScopedAPIView):
    def object_tenant_id(self, **kwargs: Any) -> int | None:
        # The seed's `curl -X DELETE …/api-keys/5/` names no tenant: the key's own tenant is meant.
        return selectors.api_key_tenant_id(key_id=kwargs["key_id"])


class ApiKeyDetailView(_OneKeyView):
    policy = rules.KEYS

    @extend_schema(responses=ApiKeySerializer)
    def get(self, request: Request, key_id: int) -> Response:
        return Response(ApiKeySerializer(selectors.api_key_get(tenant=self.tenant, key_id=key_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, key_id: int) -> Response:
        api_key = selectors.api_key_get(tenant=self.tenant, key_id=key_id)
        services.api_key_revoke(api_key=api_key, actor=person(request), request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyRollView(_OneKeyView):
    policy = rules.KEYS

    @extend_schema(request=ApiKeyRollSerializer, responses={201: ApiKeyIssuedSerializer})
    def post(self, request: Request, key_id: int) -> Response:
        data = ApiKeyRollSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key = selectors.api_key_get(tenant=self.tenant, key_id=key_id)
        issued = services.api_key_roll(
            api_key=api_key,
            actor=person(request),
            grace=timedelta(hours=data.validated_data["grace_period_hours"]),
            request=request,
        )
        return secret_shown_once(
            Response(_issued_body(issued), status=status.HTTP_201_CREATED),
            created=f"API key {issued.api_key.pk}",
        )


class RevokeLeakedThrottle(AnonRateThrottle):
    scope = "revoke_leaked"
    rate = "10/min"

    def get_ident(self, request: Request) -> str:
        return client_address(request)  # the one client-address rule (core/proxy.py)


class RevokeLeakedView(APIView):
    """No credentials needed: whoever finds a key in public can kill it."""

    authentication_classes: list[Any] = []
    policy = PUBLIC
    throttle_classes = [RevokeLeakedThrottle]

    @extend_schema(request=RevokeLeakedSerializer, responses={202: None}, auth=[])
    def post(self, request: Request) -> Response:
        data = RevokeLeakedSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.api_key_revoke_leaked(raw=data.validated_data["key"].strip(), request=request)
        # The same answer whether or not the key existed: this endpoint is no key oracle.
        return Response(
            {"detail": "If this is a SegOps key, it is now revoked."}, status=status.HTTP_202_ACCEPTED
        )


class SessionView(APIView):
    """The public-key handshake: a 15-minute token locked to one user id."""

    authentication_classes = [PublicKeyAuthentication]
    policy = Policy(credentials=frozenset({Credential.PUBLIC_KEY}), tenant=False, quota=Quota.NONE)

    @extend_schema(request=SessionRequestSerializer, responses=SessionSerializer)
    def post(self, request: Request) -> Response:
        key = request.auth
        assert isinstance(key, ApiKey)
        origin_check(key=key, origin=request.headers.get("Origin"))
        data = SessionRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_id = data.validated_data.get("user_id")
        if user_id and (key.require_signed_user_id or "user_id_sig" in data.validated_data):
            signature_check(
                key=key,
                user_id=user_id,
                sig=data.validated_data.get("user_id_sig"),
                ts=data.validated_data.get("user_id_ts"),
            )
        # Without a user_id the session is anonymous: its uid is anon_<anonymous_id>, an id no
        # user_id can name, so no signature is needed and no known user can be reached.
        token = session_token_mint(
            key=key, user_id=user_id, anonymous_id=data.validated_data.get("anonymous_id")
        )
        expires_at = datetime.fromtimestamp(token["exp"], tz=UTC)
        body = {"token": str(token), "expires_at": expires_at, "uid": token["uid"]}
        return Response(SessionSerializer(body).data)


class WhoAmIView(APIView):
    """Who the credentials on this request belong to; anonymous callers are answered too."""

    policy = Policy(
        credentials=frozenset({Credential.PERSON, Credential.SECRET_KEY}),
        tenant=False,
        anyone=True,
        quota=Quota.NONE,
    )

    @extend_schema(responses=WhoAmISerializer)
    def get(self, request: Request) -> Response:
        credential = request_credential(request)
        if credential is not None:
            # Naming another tenant is a 403 here too: a key never speaks for a tenant not its own.
            body = {
                "authenticated": True,
                "kind": "api_key",
                "tenant": resolve_tenant(request).tenant.slug,
                "scopes": credential.scopes,
            }
        elif request.user is not None and request.user.is_authenticated:
            body = {"authenticated": True, "kind": "person", "tenant": None, "scopes": []}
        else:
            body = {"authenticated": False, "kind": None, "tenant": None, "scopes": []}
        return Response(body)
