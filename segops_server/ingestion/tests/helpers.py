"""Shared by the ingestion tests: endpoint paths, the two storage paths, and what was stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest

from segops_server.accounts.models import Tenant
from segops_server.ingestion.models import Event, IdentityAlias

TRACK = "/api/ingestion/track/"
BATCH = "/api/ingestion/track/batch/"
USERS = "/api/explorer/users/"

# PostgreSQL stores small requests in one autocommit statement, but only outside an atomic
# block; inside the test transaction it takes the COPY path. Running a test both ways covers
# both (on SQLite the two runs take the same path, with and without a surrounding transaction).
both_storage_paths = pytest.mark.parametrize(
    "autocommit",
    [
        pytest.param(False, marks=pytest.mark.django_db, id="in-transaction"),
        pytest.param(True, marks=pytest.mark.django_db(transaction=True), id="autocommit"),
    ],
)


def user_url(user_id: str, suffix: str = "") -> str:
    """The explorer URL of one user (ids are URL-encoded, "/" included)."""
    return f"{USERS}{quote(user_id, safe='')}/{suffix}"


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def event(user_id: str = "u-1", event_type: str = "page_viewed", **fields: Any) -> dict[str, Any]:
    return {"user_id": user_id, "event_type": event_type, **fields}


def stored_events(tenant: Tenant, **filters: Any) -> list[Event]:
    return list(Event.objects.for_tenant(tenant).filter(**filters).order_by("id"))


def stored_aliases(tenant: Tenant) -> dict[str, str]:
    return dict(IdentityAlias.objects.for_tenant(tenant).values_list("anonymous_id", "user_id"))
