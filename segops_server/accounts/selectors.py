"""Reads for people, tenants and teams."""

from __future__ import annotations

import hashlib

from django.db.models import QuerySet

from segops_server.accounts.models import Invitation, Membership, Tenant, User
from segops_server.core.errors import NotFound


def memberships_of_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.for_user(user).order_by("tenant__slug")


def members_of_tenant(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.for_tenant(tenant).select_related("user").order_by("created_at", "pk")


def member_get(*, tenant: Tenant, user_id: int) -> Membership:
    membership = members_of_tenant(tenant=tenant).filter(user_id=user_id).first()
    if membership is None:
        raise NotFound("Member not found.")
    return membership


def invitations_of_tenant(*, tenant: Tenant) -> QuerySet[Invitation]:
    return Invitation.objects.for_tenant(tenant).order_by("created_at", "pk")


def invitation_get(*, tenant: Tenant, invitation_id: int) -> Invitation:
    invitation = invitations_of_tenant(tenant=tenant).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound("Invitation not found.")
    return invitation


def invitation_token_hash(token: str) -> str:
    # SHA-256, not a slow KDF: the token is 256 random bits, not a password; nothing to stretch.
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_for_token(*, token: str) -> Invitation | None:
    """The pending, unexpired invitation a token names, in whichever tenant; None otherwise.

    Found by the hash's unique index: a timing difference could at most reveal a prefix of a
    SHA-256, which gives no hold on a 256-bit random token.
    """
    invitation = (
        Invitation.objects.unscoped_all_tenants()
        .select_related("tenant", "invited_by")
        .filter(token_hash=invitation_token_hash(token))
        .first()
    )
    return invitation if invitation is not None and invitation.status == "invited" else None
