"""Factories for people, tenants and signed-in API clients."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from rest_framework.test import APIClient

from segops_server.accounts.models import Membership, Role, Tenant, User
from segops_server.accounts.tokens import token_pair_issue

PASSWORD = "correct-horse-battery-staple"
_seq = itertools.count(1)


def make_user(email: str | None = None, password: str = PASSWORD) -> User:
    return User.objects.create_user(email=email or f"person{next(_seq)}@example.com", password=password)


def make_tenant(slug: str | None = None, owner: User | None = None) -> Tenant:
    tenant = Tenant.objects.create(name=(slug or "tenant").title(), slug=slug or f"tenant-{next(_seq)}")
    Membership(tenant=tenant, user=owner or make_user(), role=Role.OWNER).save()
    return tenant


def add_member(tenant: Tenant, user: User | None = None, role: str = Role.MEMBER) -> User:
    user = user or make_user()
    Membership(tenant=tenant, user=user, role=role).save()
    return user


def client_for(user: User | None = None, tenant: Tenant | None = None) -> APIClient:
    """An API client signed in as `user` (anonymous if None), naming `tenant` in a header."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user)['access']}")
    if tenant is not None:
        client.defaults["HTTP_X_SEGOPS_TENANT"] = tenant.slug
    return client


@dataclass
class Team:
    """One tenant with a person in every role, and an outsider who owns another tenant."""

    tenant: Tenant
    owner: User
    admin: User
    member: User
    viewer: User
    other_tenant: Tenant
    outsider: User

    def client(self, who: str) -> APIClient:
        user: User = getattr(self, who)
        tenant = self.other_tenant if who == "outsider" else self.tenant
        return client_for(user, tenant)


def make_team() -> Team:
    owner = make_user("owner@acme.test")
    tenant = make_tenant("acme", owner=owner)
    outsider = make_user("outsider@globex.test")
    return Team(
        tenant=tenant,
        owner=owner,
        admin=add_member(tenant, make_user("admin@acme.test"), Role.ADMIN),
        member=add_member(tenant, make_user("member@acme.test"), Role.MEMBER),
        viewer=add_member(tenant, make_user("viewer@acme.test"), Role.VIEWER),
        other_tenant=make_tenant("globex", owner=outsider),
        outsider=outsider,
    )
