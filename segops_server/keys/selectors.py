"""Reads for API keys."""

from __future__ import annotations

from django.db.models import QuerySet

from segops_server.accounts.models import Tenant
from segops_server.core.errors import NotFound
from segops_server.keys.models import ApiKey


def api_keys_of_tenant(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).select_related("created_by").order_by("-created_at", "-pk")


def api_key_get(*, tenant: Tenant, key_id: int) -> ApiKey:
    """Another tenant's key is "not found": its existence is not ours to reveal."""
    key = api_keys_of_tenant(tenant=tenant).select_related("tenant").filter(pk=key_id).first()
    if key is None:
        raise NotFound("API key not found.")
    return key


def api_key_tenant_id(*, key_id: int) -> int | None:
    """Which tenant owns a key id; only used to pick among the caller's own tenants."""
    return ApiKey.objects.unscoped_all_tenants().filter(pk=key_id).values_list("tenant_id", flat=True).first()
