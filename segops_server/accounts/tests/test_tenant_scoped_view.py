"""The base view for tenant-owned objects: its queryset is the resolved tenant's rows only."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from segops_server.access.policy import Policy
from segops_server.accounts.models import Membership, Tenant
from segops_server.accounts.tenancy import TenantScopedGenericView
from segops_server.accounts.tokens import token_pair_issue
from segops_server.testing.factories import Team


class _MembershipProbe(TenantScopedGenericView):
    model = Membership
    policy = Policy()

    def get(self, request: Request, pk: int | None = None) -> Response:
        if pk is None:
            return Response(sorted(m.user_id for m in self.get_queryset()))
        self.kwargs["pk"] = pk
        return Response(self.get_object().user_id)


def _get(team: Team, pk: int | None = None) -> Any:
    auth = f"Bearer {token_pair_issue(user=team.viewer)['access']}"
    request = APIRequestFactory().get("/probe/", HTTP_AUTHORIZATION=auth, HTTP_X_SEGOPS_TENANT="acme")
    response = _MembershipProbe.as_view()(request, pk=pk)
    response.render()
    return response


def test_it_lists_only_the_resolved_tenants_rows(team: Team) -> None:
    response = _get(team)
    assert response.status_code == 200
    assert response.data == sorted([team.owner.pk, team.admin.pk, team.member.pk, team.viewer.pk])


def test_it_finds_an_object_of_the_resolved_tenant(team: Team) -> None:
    mine = Membership.objects.for_tenant(team.tenant).get(user=team.member)
    assert _get(team, mine.pk).data == team.member.pk


def test_it_answers_404_for_another_tenants_object(team: Team) -> None:
    theirs = Membership.objects.for_tenant(team.other_tenant).get()
    response = _get(team, theirs.pk)
    assert response.status_code == 404
    assert set(response.data) == {"detail"}


class _TenantProbe(TenantScopedGenericView):
    model = Tenant  # not tenant-owned: its manager has no for_tenant


def test_it_refuses_a_model_that_is_not_tenant_owned(team: Team) -> None:
    view = _TenantProbe()
    with pytest.raises(ImproperlyConfigured, match="Tenant is not tenant-owned"):
        view.get_queryset()
