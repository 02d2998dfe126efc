"""Writing audit events."""

from __future__ import annotations

from typing import Any

from segops_server.audit.models import AuditEvent
from segops_server.core.proxy import client_address


def client_ip(request: Any) -> str | None:
    if request is None:
        return None
    return client_address(request) or None


def audit_record(
    *,
    action: str,
    tenant: Any = None,
    actor: Any = None,
    api_key: Any = None,
    key_prefix: str = "",
    request: Any = None,
    **detail: Any,
) -> AuditEvent:
    event = AuditEvent(
        tenant=tenant,
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        api_key=api_key,
        key_prefix=key_prefix[:24],
        client_ip=client_ip(request),
        detail=detail,
    )
    event.save()
    return event
