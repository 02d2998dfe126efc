"""Records sign-ins and failed sign-ins from Django's own auth signals, and team and tenant
changes from the signal accounts sends."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from segops_server.accounts.models import Membership, User
from segops_server.accounts.signals import team_changed
from segops_server.audit.models import Action
from segops_server.audit.services import audit_record


@receiver(user_logged_in)
def _on_login(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    for membership in Membership.objects.for_user(user):
        audit_record(action=Action.LOGIN, tenant=membership.tenant, actor=user, request=request)


@receiver(user_login_failed)
def _on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # Django passes credentials with the password already masked; only the email is kept.
    email = str(credentials.get("email") or "").strip().lower()
    user = User.objects.filter(email=email).first() if email else None
    if user is None:
        return
    for membership in Membership.objects.for_user(user):
        audit_record(
            action=Action.LOGIN_FAILED, tenant=membership.tenant, actor=user, request=request, email=email
        )


@receiver(team_changed)
def _on_team_changed(
    sender: Any, event: str, tenant: Any, actor: Any, request: Any, detail: dict[str, Any], **kwargs: Any
) -> None:
    audit_record(action=Action(event), tenant=tenant, actor=actor, request=request, **detail)
