"""Writes for people, tenants and teams; each a keyword-only function in one transaction."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from segops_server.accounts import signals
from segops_server.accounts.models import INVITABLE_ROLES, Invitation, Membership, Role, Tenant, User
from segops_server.accounts.selectors import invitation_for_token, invitation_token_hash
from segops_server.accounts.signals import team_change_announce
from segops_server.accounts.tokens import tokens_revoke_all
from segops_server.core.errors import Conflict, Invalid, NotFound, PermissionDenied

logger = logging.getLogger(__name__)
INVITATION_TOKEN_PREFIX = "inv_"


@dataclass(frozen=True)
class Registration:
    user: User
    tenant: Tenant | None


def _tenant_slug_free(slug: str, field: str) -> None:
    if Tenant.objects.filter(slug=slug).exists():
        raise Invalid({field: ["This slug is already taken."]})


@transaction.atomic
def user_register(
    *, email: str, password: str, tenant_name: str | None, tenant_slug: str | None
) -> Registration:
    """Sign-up: the new person owns the new tenant, if one is asked for.

    Registering grants nothing else: an invitation to this email is taken only with its token
    (emails are not verified, so whoever registers an address first must not inherit its
    invitations).
    """
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Invalid({"email": ["An account with this email already exists."]})
    user = User.objects.create_user(email=email, password=password)
    tenant = None
    if tenant_slug:
        tenant = tenant_create(
            owner=user, name=tenant_name or tenant_slug, slug=tenant_slug, field="tenant_slug"
        )
    return Registration(user=user, tenant=tenant)


@transaction.atomic
def tenant_create(*, owner: User, name: str, slug: str, field: str = "slug", request: Any = None) -> Tenant:
    _tenant_slug_free(slug, field)
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, slug=slug)
    except IntegrityError:  # lost a race for the same slug
        raise Invalid({field: ["This slug is already taken."]}) from None
    Membership(tenant=tenant, user=owner, role=Role.OWNER).save()
    team_change_announce(event=signals.TENANT_CREATED, tenant=tenant, actor=owner, request=request, slug=slug)
    return tenant


@transaction.atomic
def tenant_update(
    *,
    tenant: Tenant,
    name: str | None = None,
    slug: str | None = None,
    actor: User | None = None,
    request: Any = None,
) -> Tenant:
    old_name, old_slug = tenant.name, tenant.slug
    if slug is not None and slug != tenant.slug:
        _tenant_slug_free(slug, "slug")
        tenant.slug = slug
    if name is not None:
        tenant.name = name
    tenant.save()
    changes = (
        (signals.TENANT_RENAMED, old_name, tenant.name),
        (signals.TENANT_SLUG_CHANGED, old_slug, tenant.slug),
    )
    for event, old, new in changes:
        if old != new:
            team_change_announce(event=event, tenant=tenant, actor=actor, request=request, old=old, new=new)
    return tenant


@transaction.atomic
def tenant_delete(*, tenant: Tenant, actor: User | None = None, request: Any = None) -> None:
    """Deletes the tenant with all its data, its audit trail included.

    The one record that outlives it is the deletion itself, tied to no tenant (its own trail is
    gone) and naming it in the detail, for the operators.
    """
    team_change_announce(
        event=signals.TENANT_DELETED,
        tenant=None,
        actor=actor,
        request=request,
        tenant_id=tenant.pk,
        slug=tenant.slug,
        name=tenant.name,
    )
    tenant.delete()


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once to the inviter and mailed to the invitee; only its hash is stored


@transaction.atomic
def member_invite(
    *,
    tenant: Tenant,
    email: str,
    role: str,
    invited_by: User,
    accept_url_for: Callable[[str], str] | None = None,
    request: Any = None,
) -> IssuedInvitation:
    """A pending invitation with a single-use token, whether or not the email has an account.

    Nobody joins without accepting, and the answer never says whether the address has an
    account. The token goes to the address by email (and once to the inviter, who may pass it
    on); the invitee accepts it while signed in as that address.
    """
    if role not in INVITABLE_ROLES:
        raise Invalid({"role": ["Invitations may grant admin, member or viewer."]})
    email = email.strip().lower()
    if Membership.objects.for_tenant(tenant).filter(user__email__iexact=email).exists():
        # The inviter (an Admin) sees the member list anyway: this reveals nothing new.
        raise Conflict("This person is already a member of the tenant.")
    pending = Invitation.objects.for_tenant(tenant).filter(email__iexact=email).first()
    if pending is not None:
        if pending.status == "invited":
            raise Conflict("This email already has a pending invitation.")
        pending.delete()  # an expired one is replaced
    token = INVITATION_TOKEN_PREFIX + secrets.token_urlsafe(32)
    invitation = Invitation(
        tenant=tenant, email=email, role=role, invited_by=invited_by, token_hash=invitation_token_hash(token)
    )
    invitation.save()
    team_change_announce(
        event=signals.MEMBER_INVITED, tenant=tenant, actor=invited_by, request=request, email=email, role=role
    )
    if accept_url_for is not None:
        # After the commit: never a mail for an invitation that was rolled back, and never a
        # slow mail server holding the database's write lock.
        url = accept_url_for(token)
        transaction.on_commit(lambda: _invitation_mail(invitation, url))
    return IssuedInvitation(invitation=invitation, token=token)


def _invitation_mail(invitation: Invitation, accept_url: str) -> None:
    inviter = invitation.invited_by.email if invitation.invited_by else "An admin"
    role = invitation.get_role_display()
    body = (
        f"{inviter} invited you to join {invitation.tenant.name} on SegOps as {role}.\n\n"
        f"To accept, sign in (or sign up) as {invitation.email} and open this link:\n{accept_url}\n\n"
        f"The link works once and until {invitation.expires_at:%Y-%m-%d %H:%M} UTC. "
        "If you did not expect it, ignore this email: nothing happens unless you accept."
    )
    try:
        send_mail(f"Join {invitation.tenant.name} on SegOps", body, None, [invitation.email])
    except Exception:  # the invitation stands: the inviter was shown the link and may pass it on
        logger.exception("invitation %s: the email could not be sent", invitation.pk)


@transaction.atomic
def invitation_accept(*, token: str, user: User, request: Any = None) -> Membership:
    """The signed-in person takes the invitation the token names, if it was sent to their email."""
    gone = NotFound("This invitation does not exist, was already used, was revoked or has expired.")
    invitation = invitation_for_token(token=token)
    if invitation is None:
        raise gone
    if invitation.email.lower() != user.email.lower():
        raise PermissionDenied(
            "This invitation was sent to another email address: sign in as that address to accept it."
        )
    # Single use: whoever deletes the row takes it; a concurrent accept finds nothing to delete.
    if not Invitation.objects.for_tenant(invitation.tenant).filter(pk=invitation.pk).delete()[0]:
        raise gone
    membership = Membership.objects.for_tenant(invitation.tenant).filter(user=user).first()
    if membership is None:
        membership = Membership(tenant=invitation.tenant, user=user, role=invitation.role)
        membership.save()
    team_change_announce(
        event=signals.INVITATION_ACCEPTED,
        tenant=invitation.tenant,
        actor=user,
        request=request,
        email=invitation.email,
        role=membership.role,
    )
    return membership


def _guard_owner(membership: Membership) -> None:
    if membership.role == Role.OWNER:
        raise PermissionDenied("The Owner can be neither removed nor demoted.")


@transaction.atomic
def member_change_role(
    *, membership: Membership, role: str, actor: User | None = None, request: Any = None
) -> Membership:
    _guard_owner(membership)
    if role not in INVITABLE_ROLES:
        raise Invalid({"role": ["Role must be admin, member or viewer."]})
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    if old != role:
        team_change_announce(
            event=signals.MEMBER_ROLE_CHANGED,
            tenant=membership.tenant,
            actor=actor,
            request=request,
            email=membership.user.email,
            old=old,
            new=role,
        )
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor: User | None = None, request: Any = None) -> None:
    """Access ends at once: every request re-reads the membership."""
    _guard_owner(membership)
    membership.delete()
    team_change_announce(
        event=signals.MEMBER_REMOVED,
        tenant=membership.tenant,
        actor=actor,
        request=request,
        email=membership.user.email,
        role=membership.role,
    )


@transaction.atomic
def invitation_cancel(*, invitation: Invitation, actor: User | None = None, request: Any = None) -> None:
    invitation.delete()
    team_change_announce(
        event=signals.INVITATION_REVOKED,
        tenant=invitation.tenant,
        actor=actor,
        request=request,
        email=invitation.email,
        role=invitation.role,
    )


@transaction.atomic
def user_change_password(*, user: User, new_password: str) -> None:
    user.set_password(new_password)
    user.save(update_fields=["password"])
    tokens_revoke_all(user=user, reason="password_changed")
