"""Thin views of identity (spec §14): alias an anonymous id, merge one user into another."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.access import rules
from segops_server.access.policy import Policy
from segops_server.accounts.models import User
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.identity import services
from segops_server.identity.serializers import (
    AliasResultSerializer,
    AliasSerializer,
    MergeResultSerializer,
    MergeSerializer,
)
from segops_server.keys.models import ApiKey


class IdentityView(TenantScopedAPIView):
    """Admins and up; keys with identity:write."""

    policy: ClassVar[Policy] = rules.IDENTITY

    def caller(self, request: Request) -> dict[str, Any]:
        """Who acts, for the audit log: the key, or the person."""
        key = request.auth if isinstance(request.auth, ApiKey) else None
        person = request.user if key is None and isinstance(request.user, User) else None
        return {"actor": person, "api_key": key, "request": request}


class AliasView(IdentityView):
    @extend_schema(request=AliasSerializer, responses=AliasResultSerializer)
    def post(self, request: Request) -> Response:
        """First identify wins: an anonymous id that already has an edge keeps it (`aliased: false`)."""
        data = AliasSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.identity_alias(tenant=self.tenant, **data.validated_data, **self.caller(request))
        return Response({"aliased": outcome.aliased, "user_id": outcome.user_id})


class MergeView(IdentityView):
    @extend_schema(request=MergeSerializer, responses=MergeResultSerializer)
    def post(self, request: Request) -> Response:
        """From now on from_user_id's events and traits count for into_user_id; a cycle is a 400."""
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = services.identity_merge(tenant=self.tenant, **data.validated_data, **self.caller(request))
        return Response({"merged": True, **data.validated_data, "user_id": target})
