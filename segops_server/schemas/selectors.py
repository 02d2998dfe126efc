"""Reads of event schemas."""

from __future__ import annotations

from django.db.models import QuerySet

from segops_server.accounts.models import Tenant
from segops_server.core.errors import NotFound
from segops_server.schemas.models import EventSchema


def schemas_of_tenant(*, tenant: Tenant, event_type: str | None = None) -> QuerySet[EventSchema]:
    schemas = EventSchema.objects.for_tenant(tenant)
    if event_type:
        schemas = schemas.filter(event_type=event_type)
    return schemas.order_by("event_type", "pk")


def schema_get(*, tenant: Tenant, schema_id: int) -> EventSchema:
    schema = EventSchema.objects.for_tenant(tenant).filter(pk=schema_id).first()
    if schema is None:
        raise NotFound("Event schema not found.")
    return schema


def schema_for_type(*, tenant: Tenant, event_type: str) -> EventSchema | None:
    return EventSchema.objects.for_tenant(tenant).filter(event_type=event_type).first()
