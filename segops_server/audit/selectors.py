"""Reading a tenant's audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from segops_server.accounts.models import Tenant
from segops_server.audit.models import AuditEvent


def audit_events_of_tenant(*, tenant: Tenant, action: str | None = None) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.for_tenant(tenant).select_related("actor").order_by("-created_at", "-pk")
    if action:
        events = events.filter(action=action)
    return events
