"""What accounts announces when a team or a tenant changes; the audit app records it.

Dependencies point from audit to accounts, never back: accounts sends these with Django's
signals (like logins through `user_logged_in`) and audit/receivers.py writes the events.
Each name is also an audit `Action` value (a test keeps the two lists equal).
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

MEMBER_INVITED = "member.invited"
INVITATION_ACCEPTED = "member.invitation_accepted"
INVITATION_REVOKED = "member.invitation_revoked"
MEMBER_ROLE_CHANGED = "member.role_changed"
MEMBER_REMOVED = "member.removed"
TENANT_CREATED = "tenant.created"
TENANT_RENAMED = "tenant.renamed"
TENANT_SLUG_CHANGED = "tenant.slug_changed"
TENANT_DELETED = "tenant.deleted"
TEAM_EVENTS = (
    MEMBER_INVITED,
    INVITATION_ACCEPTED,
    INVITATION_REVOKED,
    MEMBER_ROLE_CHANGED,
    MEMBER_REMOVED,
    TENANT_CREATED,
    TENANT_RENAMED,
    TENANT_SLUG_CHANGED,
    TENANT_DELETED,
)

# Sent with event, tenant (None once deleted), actor, request and detail (a JSON-able dict).
team_changed = Signal()


def team_change_announce(*, event: str, tenant: Any, actor: Any, request: Any = None, **detail: Any) -> None:
    """Inside the change's transaction: the record commits, or rolls back, with the change."""
    team_changed.send(sender=None, event=event, tenant=tenant, actor=actor, request=request, detail=detail)
