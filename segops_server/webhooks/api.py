"""Thin views of webhooks: list, create, change, delete, their deliveries, redeliver and a test ping."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from segops_server.access import rules
from segops_server.accounts.models import User
from segops_server.accounts.tenancy import TenantScopedAPIView
from segops_server.core.idempotency import secret_shown_once
from segops_server.core.pagination import PageNumberPagination, paginated_response
from segops_server.keys.models import ApiKey
from segops_server.webhooks import selectors, services
from segops_server.webhooks.models import Webhook
from segops_server.webhooks.serializers import (
    DeliveryQuerySerializer,
    DeliverySerializer,
    WebhookCreatedSerializer,
    WebhookSerializer,
    WebhookWriteSerializer,
)


def _caller(request: Request) -> services.Caller:
    """Who acts, for the audit log: the key, or the person."""
    key = request.auth if isinstance(request.auth, ApiKey) else None
    person = request.user if key is None and isinstance(request.user, User) else None
    return services.Caller(actor=person, api_key=key, request=request)


class WebhooksView(TenantScopedAPIView):
    """Members and up, keys with webhooks:write, for every method: a webhook sends members out."""

    policy = rules.WEBHOOKS

    def object_tenant_id(self, **kwargs: Any) -> int | None:
        # /api/webhooks/5/ names no tenant: the webhook's own tenant is meant (among the caller's).
        if "webhook_id" not in kwargs:
            return None
        return selectors.webhook_tenant_id(webhook_id=kwargs["webhook_id"])

    def webhook(self, webhook_id: int) -> Webhook:
        return selectors.webhook_get(tenant=self.tenant, webhook_id=webhook_id)


class WebhookListView(WebhooksView):
    pagination_class = PageNumberPagination  # the schema shows the list in its page envelope

    @extend_schema(responses=WebhookSerializer(many=True))
    def get(self, request: Request) -> Response:
        return paginated_response(
            self, request, selectors.webhooks_of_tenant(tenant=self.tenant), WebhookSerializer
        )

    @extend_schema(request=WebhookWriteSerializer, responses={201: WebhookCreatedSerializer})
    def post(self, request: Request) -> Response:
        data = WebhookWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.webhook_create(tenant=self.tenant, caller=_caller(request), **data.validated_data)
        # The secret is in this answer only: never cached, never replayed to a retry (a 409 then).
        return secret_shown_once(
            Response(WebhookCreatedSerializer(created.webhook).data, status=status.HTTP_201_CREATED),
            created=f"webhook {created.webhook.pk}",
        )


class WebhookDetailView(WebhooksView):
    @extend_schema(responses=WebhookSerializer)
    def get(self, request: Request, webhook_id: int) -> Response:
        return Response(WebhookSerializer(self.webhook(webhook_id)).data)

    @extend_schema(request=WebhookWriteSerializer(partial=True), responses=WebhookSerializer)
    def patch(self, request: Request, webhook_id: int) -> Response:
        webhook = self.webhook(webhook_id)
        data = WebhookWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        webhook = services.webhook_update(webhook=webhook, caller=_caller(request), **data.validated_data)
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, webhook_id: int) -> Response:
        services.webhook_delete(webhook=self.webhook(webhook_id), caller=_caller(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListView(WebhooksView):
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        parameters=[DeliveryQuerySerializer],
        responses=DeliverySerializer(many=True),
    )
    def get(self, request: Request, webhook_id: int) -> Response:
        query = DeliveryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        deliveries = selectors.deliveries_of_webhook(
            webhook=self.webhook(webhook_id), status=query.validated_data.get("status")
        )
        return paginated_response(self, request, deliveries, DeliverySerializer)


class RedeliverView(WebhooksView):
    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, webhook_id: int, delivery_id: int) -> Response:
        delivery = selectors.delivery_get(webhook=self.webhook(webhook_id), delivery_id=delivery_id)
        services.delivery_redeliver(delivery=delivery)
        fresh = selectors.delivery_get(webhook=self.webhook(webhook_id), delivery_id=delivery_id)
        return Response(DeliverySerializer(fresh).data, status=status.HTTP_202_ACCEPTED)


class PingView(WebhooksView):
    @extend_schema(operation_id="webhooks_test_create", request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, webhook_id: int) -> Response:
        webhook = self.webhook(webhook_id)
        delivery = services.webhook_ping(webhook=webhook)
        fresh = selectors.delivery_get(webhook=webhook, delivery_id=delivery.pk)
        return Response(DeliverySerializer(fresh).data, status=status.HTTP_202_ACCEPTED)
