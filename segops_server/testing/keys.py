"""Factories for API keys and clients that authenticate with them."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from segops_server.accounts.models import Tenant, User
from segops_server.keys.models import ALL_SCOPES, ApiKey
from segops_server.keys.services import IssuedKey, api_key_create


def make_api_key(tenant: Tenant, created_by: User | None = None, **fields: Any) -> IssuedKey:
    """A key issued through the real service (so it is digested and audited like any other)."""
    if created_by is None:
        created_by = User.objects.get(memberships__tenant=tenant, memberships__role="owner")
    fields.setdefault("name", "Test key")
    fields.setdefault("scopes", list(ALL_SCOPES))
    return api_key_create(tenant=tenant, created_by=created_by, **fields)


def key_client(key: str, *, tenant: str | None = None) -> APIClient:
    """An API client sending `Authorization: ApiKey <key>` (and naming `tenant`, if given)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    if tenant is not None:
        client.defaults["HTTP_X_SEGOPS_TENANT"] = tenant
    return client


def api_key_row(issued: IssuedKey) -> ApiKey:
    """The key's row as the database has it now."""
    return ApiKey.objects.for_tenant(issued.api_key.tenant).get(pk=issued.api_key.pk)
