"""Writes of event schemas: create, change, delete (limits checked here), and their counters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from segops_server.accounts.models import Tenant
from segops_server.core.errors import Invalid
from segops_server.schemas.enforcement import epoch_bump
from segops_server.schemas.models import Enforcement, EventSchema

# Each enforced schema is compiled in every server process and checked on every event of that
# event type, so both their number and their size are bounded.
MAX_SCHEMAS_PER_TENANT = 200
MAX_PROPERTIES = 100


def _changed() -> None:
    """Drop every process's cached schemas now and once more when the change commits (a process
    reloading in between would otherwise keep what it read before the commit)."""
    epoch_bump()
    transaction.on_commit(epoch_bump)


def _properties_check(properties: Mapping[str, Any]) -> None:
    if len(properties) > MAX_PROPERTIES:
        raise Invalid({"properties": [f"A schema has at most {MAX_PROPERTIES} properties."]})


@transaction.atomic
def schema_create(
    *, tenant: Tenant, event_type: str, properties: Mapping[str, Any], enforcement: str = Enforcement.OFF
) -> EventSchema:
    _properties_check(properties)
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()  # one count-then-insert at a time
    if EventSchema.objects.for_tenant(tenant).count() >= MAX_SCHEMAS_PER_TENANT:
        raise Invalid(
            f"A workspace can have at most {MAX_SCHEMAS_PER_TENANT} event schemas;"
            " delete one before adding another."
        )
    if EventSchema.objects.for_tenant(tenant).filter(event_type=event_type).exists():
        raise Invalid({"event_type": [f"A schema for {event_type} exists already; change that one."]})
    schema = EventSchema(
        tenant=tenant, event_type=event_type, properties=dict(properties), enforcement=enforcement
    )
    try:
        with transaction.atomic():
            schema.save()
    except IntegrityError:  # created at the same moment by another request
        raise Invalid(
            {"event_type": [f"A schema for {event_type} exists already; change that one."]}
        ) from None
    _changed()
    return schema


@transaction.atomic
def schema_update(
    *,
    schema: EventSchema,
    event_type: str | None = None,
    properties: Mapping[str, Any] | None = None,
    enforcement: str | None = None,
) -> EventSchema:
    locked = EventSchema.objects.for_tenant(schema.tenant_id).select_for_update().get(pk=schema.pk)
    if event_type is not None and event_type != locked.event_type:
        taken = EventSchema.objects.for_tenant(schema.tenant_id).filter(event_type=event_type).exists()
        if taken:
            raise Invalid({"event_type": [f"A schema for {event_type} exists already; change that one."]})
        locked.event_type = event_type
    if properties is not None:
        _properties_check(properties)
        locked.properties = dict(properties)
    if enforcement is not None:
        locked.enforcement = enforcement
    locked.save()
    _changed()
    return locked


@transaction.atomic
def schema_delete(*, schema: EventSchema) -> None:
    schema.delete()
    _changed()


def schema_counts_add(
    *,
    tenant_id: int,
    violations: Mapping[int, int] | None = None,
    rejections: Mapping[int, int] | None = None,
) -> None:
    """Add to schemas' counters: {schema id: events stored with violations / refused}. One UPDATE
    per schema named (only requests with such events pay for it)."""
    for schema_id, count in (violations or {}).items():
        EventSchema.objects.for_tenant(tenant_id).filter(pk=schema_id).update(
            violation_count=F("violation_count") + count
        )
    for schema_id, count in (rejections or {}).items():
        EventSchema.objects.for_tenant(tenant_id).filter(pk=schema_id).update(
            rejection_count=F("rejection_count") + count
        )
