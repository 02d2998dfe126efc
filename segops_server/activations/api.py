"""Thin views of activations (spec §11): list, create, read, change, delete, Sync now, the sync log."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.access import rules
from segops_server.access.policy import Policy
from segops_server.accounts.models import User
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.activations import selectors, services
from segops_server.activations.models import Activation
from segops_server.activations.serializers import (
    ActivationListQuerySerializer,
    ActivationSerializer,
    ActivationSyncSerializer,
    ActivationUpdateSerializer,
)
from segops_server.core.pagination import PageNumberPagination, paginated_response
from segops_server.keys.models import ApiKey


class ActivationsView(TenantScopedAPIView):
    """Viewers and segments:read keys read; Members and webhooks:write keys write."""

    policy: ClassVar[Policy] = rules.ACTIVATIONS

    def caller(self, request: Request) -> dict[str, Any]:
        """Who acts, for the audit log: the key, or the person."""
        key = request.auth if isinstance(request.auth, ApiKey) else None
        person = request.user if key is None and isinstance(request.user, User) else None
        return {"actor": person, "api_key": key, "request": request}

    def answer(self, activation: Activation, *, code: int = status.HTTP_200_OK) -> Response:
        context = {"last_syncs": selectors.last_syncs(tenant=self.tenant, activations=[activation])}
        return Response(ActivationSerializer(activation, context=context).data, status=code)


class ActivationListView(ActivationsView):
    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope

    @extend_schema(parameters=[ActivationListQuerySerializer], responses=ActivationSerializer(many=True))
    def get(self, request: Request) -> Response:
        query = ActivationListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        activations = selectors.activations_of_tenant(
            tenant=self.tenant, segment_id=query.validated_data.get("segment")
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(activations, request, view=self) or []
        context = {"last_syncs": selectors.last_syncs(tenant=self.tenant, activations=page)}
        return paginator.get_paginated_response(ActivationSerializer.many_init(page, context=context).data)

    @extend_schema(request=ActivationSerializer, responses={201: ActivationSerializer})
    def post(self, request: Request) -> Response:
        data = ActivationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        activation = services.activation_create(
            tenant=self.tenant,
            segment_id=data.validated_data["segment_id"],
            connector_type=data.validated_data["connector_type"],
            config=data.validated_data["config"],
            **self.caller(request),
        )
        return self.answer(activation, code=status.HTTP_201_CREATED)


class ActivationDetailView(ActivationsView):
    @extend_schema(responses=ActivationSerializer)
    def get(self, request: Request, activation_id: int) -> Response:
        return self.answer(selectors.activation_get(tenant=self.tenant, activation_id=activation_id))

    @extend_schema(request=ActivationUpdateSerializer, responses=ActivationSerializer)
    def patch(self, request: Request, activation_id: int) -> Response:
        activation = selectors.activation_get(tenant=self.tenant, activation_id=activation_id)
        data = ActivationUpdateSerializer(activation, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        activation = services.activation_update(
            activation=activation, **data.validated_data, **self.caller(request)
        )
        return self.answer(activation)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, activation_id: int) -> Response:
        activation = selectors.activation_get(tenant=self.tenant, activation_id=activation_id)
        services.activation_delete(activation=activation, **self.caller(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ActivationSyncView(ActivationsView):
    @extend_schema(request=None, responses={202: ActivationSyncSerializer})
    def post(self, request: Request, activation_id: int) -> Response:
        """Sync now: every member of the segment's current generation (409 if paused or never computed)."""
        activation = selectors.activation_get(tenant=self.tenant, activation_id=activation_id)
        sync = services.activation_sync_now(activation=activation)
        return Response(ActivationSyncSerializer(sync).data, status=status.HTTP_202_ACCEPTED)


class ActivationSyncsView(ActivationsView):
    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope

    @extend_schema(responses=ActivationSyncSerializer(many=True))
    def get(self, request: Request, activation_id: int) -> Response:
        activation = selectors.activation_get(tenant=self.tenant, activation_id=activation_id)
        return paginated_response(
            self, request, selectors.syncs_of_activation(activation=activation), ActivationSyncSerializer
        )
