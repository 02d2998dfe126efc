"""Reads for webhooks and their deliveries (newest first, with every attempt)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from segops_server.accounts.models import Tenant
from segops_server.core.errors import NotFound
from segops_server.webhooks.models import Delivery, DeliveryAttempt, Webhook


def webhooks_of_tenant(*, tenant: Tenant) -> QuerySet[Webhook]:
    return Webhook.objects.for_tenant(tenant).order_by("-created_at", "-pk")


def webhook_get(*, tenant: Tenant, webhook_id: int) -> Webhook:
    """Another tenant's webhook is "not found": its existence is not ours to reveal."""
    webhook = webhooks_of_tenant(tenant=tenant).select_related("tenant").filter(pk=webhook_id).first()
    if webhook is None:
        raise NotFound("Webhook not found.")
    return webhook


def webhook_tenant_id(*, webhook_id: int) -> int | None:
    """Which tenant owns a webhook id; only used to pick among the caller's own tenants."""
    return (
        Webhook.objects.unscoped_all_tenants()
        .filter(pk=webhook_id)
        .values_list("tenant_id", flat=True)
        .first()
    )


def deliveries_of_webhook(*, webhook: Webhook, status: str | None = None) -> QuerySet[Delivery]:
    deliveries = (
        Delivery.objects.for_tenant(webhook.tenant)
        .filter(webhook=webhook)
        .prefetch_related(
            Prefetch(
                "attempts", queryset=DeliveryAttempt.objects.for_tenant(webhook.tenant).order_by("at", "pk")
            )
        )
        .order_by("-pk")
    )
    return deliveries if status is None else deliveries.filter(status=status)


def delivery_get(*, webhook: Webhook, delivery_id: int) -> Delivery:
    delivery = deliveries_of_webhook(webhook=webhook).filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound("Delivery not found.")
    return delivery
