"""People, tenants and memberships at the model level: what the database itself guarantees."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from segops_server.accounts.models import Invitation, Membership, Role, TokenFamily, UsedRefreshToken, User
from segops_server.testing.factories import Team, make_user


def test_it_stores_emails_lower_cased(db: None) -> None:
    user = User.objects.create_user(email="Mixed.Case@Example.TEST", password="irrelevant-pass-1")
    assert user.email == "mixed.case@example.test"


def test_it_refuses_two_accounts_differing_only_in_case(db: None) -> None:
    make_user("same@example.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        User(email="SAME@example.test").save()


def test_it_creates_superusers_for_the_django_admin(db: None) -> None:
    admin = User.objects.create_superuser(email="root@example.test", password="irrelevant-pass-1")
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.check_password("irrelevant-pass-1")


def test_it_allows_exactly_one_owner_per_tenant(team: Team) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership(tenant=team.tenant, user=make_user(), role=Role.OWNER).save()


def test_it_allows_one_membership_per_person_and_tenant(team: Team) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership(tenant=team.tenant, user=team.member, role=Role.VIEWER).save()


def test_it_names_rows_readably(team: Team) -> None:
    membership = Membership.objects.for_tenant(team.tenant).get(user=team.admin)
    invitation = Invitation(tenant=team.tenant, email="x@initech.test", role=Role.VIEWER)
    family = TokenFamily.objects.create(user=team.owner)
    spent = UsedRefreshToken(jti="abc123", family=family)
    assert str(team.owner) == "owner@acme.test"
    assert str(team.tenant) == "acme"
    assert str(membership) == f"{team.admin.pk}@{team.tenant.pk}:admin"
    assert str(invitation) == f"x@initech.test@{team.tenant.pk}"
    assert str(family) == str(family.pk)
    assert str(spent) == "abc123"
