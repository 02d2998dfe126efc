"""The tenant choke point for queries: tenant-owned rows need a tenant, or they raise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from segops_server.accounts.models import Invitation, Membership, Role, Tenant
from segops_server.core.scoping import TenantScopedManager, UnscopedQueryError, tenant_manager
from segops_server.testing.factories import Team

UNSCOPED_CALLS: list[Callable[[Any], Any]] = [
    lambda model: model.objects.all(),
    lambda model: model.objects.filter(role="owner"),
    lambda model: model.objects.count(),
    lambda model: model.objects.get(pk=1),
    lambda model: model.objects.exclude(role="owner"),
    lambda model: model.objects.first(),
]


@pytest.mark.parametrize("model", [Membership, Invitation])
@pytest.mark.parametrize("call", UNSCOPED_CALLS)
def test_it_raises_on_a_query_without_a_tenant(team: Team, model: Any, call: Callable[[Any], Any]) -> None:
    with pytest.raises(UnscopedQueryError, match="for_tenant"):
        call(model)


@pytest.mark.parametrize("model", [Membership, Invitation])
def test_it_raises_on_for_tenant_none(db: None, model: Any) -> None:
    with pytest.raises(UnscopedQueryError):
        model.objects.for_tenant(None)


def test_it_returns_only_the_named_tenants_rows(team: Team) -> None:
    acme = Membership.objects.for_tenant(team.tenant)
    assert {m.user_id for m in acme} == {team.owner.pk, team.admin.pk, team.member.pk, team.viewer.pk}
    globex = Membership.objects.for_tenant(team.other_tenant)
    assert [m.user_id for m in globex] == [team.outsider.pk]


def test_it_spans_tenants_only_when_asked_by_the_alarming_name(team: Team) -> None:
    Invitation(tenant=team.other_tenant, email="x@globex.test", role=Role.VIEWER).save()
    assert Membership.objects.unscoped_all_tenants().count() == 5
    assert Invitation.objects.unscoped_all_tenants().count() == 1
    assert Invitation.objects.for_tenant(team.tenant).count() == 0


def test_it_scopes_a_persons_memberships_by_the_person(team: Team) -> None:
    assert [m.tenant.slug for m in Membership.objects.for_user(team.outsider)] == ["globex"]


def test_it_hands_out_the_tenant_scoped_manager_of_a_tenant_owned_model() -> None:
    manager = tenant_manager(Membership)
    assert isinstance(manager, TenantScopedManager)
    with pytest.raises(UnscopedQueryError):
        manager.all()


def test_it_refuses_the_manager_of_a_model_that_is_not_tenant_owned() -> None:
    with pytest.raises(ImproperlyConfigured, match="Tenant is not tenant-owned"):
        tenant_manager(Tenant)
