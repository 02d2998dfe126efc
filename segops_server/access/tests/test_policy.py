"""The one decision (access/policy.py): credential kind, tenant, then the scope or the role."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from segops_server.access.policy import PERSON, PUBLIC, Caller, Credential, Policy, Quota, decide
from segops_server.access.tenants import TenantName
from segops_server.accounts.models import Role
from segops_server.core.errors import Invalid, NotFound, PermissionDenied, Unauthenticated
from segops_server.keys.models import Scope
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, make_api_key

pytestmark = pytest.mark.django_db


def _acme(team: Team) -> frozenset[TenantName]:
    return frozenset({TenantName("slug", team.tenant.slug)})


def test_nobody_is_unauthenticated_unless_the_policy_serves_anyone() -> None:
    with pytest.raises(Unauthenticated):
        decide(PERSON, method="GET", caller=Caller())
    assert decide(PUBLIC, method="POST", caller=Caller()) is None


def test_a_person_acts_with_their_role_in_the_tenant_they_name(team: Team) -> None:
    ctx = decide(Policy(), method="GET", caller=Caller(person=team.viewer), names=_acme(team))
    assert ctx is not None
    assert (ctx.tenant, ctx.role) == (team.tenant, Role.VIEWER)
    with pytest.raises(PermissionDenied, match="needs the Member role or higher"):
        decide(Policy(), method="POST", caller=Caller(person=team.viewer), names=_acme(team))
    # HEAD runs the GET and OPTIONS describes it: both are reads, with the read role.
    admin_reads = Policy(read=Role.ADMIN)
    for method in ("GET", "HEAD", "OPTIONS"):
        with pytest.raises(PermissionDenied):
            decide(admin_reads, method=method, caller=Caller(person=team.viewer), names=_acme(team))


def test_a_tenant_the_person_is_not_in_is_not_found(team: Team) -> None:
    outsider = Caller(person=team.outsider)
    with pytest.raises(NotFound):
        decide(Policy(), method="GET", caller=outsider, names=_acme(team))
    with pytest.raises(NotFound):
        decide(Policy(), method="GET", caller=outsider, names=frozenset({TenantName("slug", "made-up")}))


def test_two_tenants_named_at_once_are_refused(team: Team) -> None:
    names = _acme(team) | {TenantName("slug", team.other_tenant.slug)}
    with pytest.raises(Invalid, match="more than one tenant"):
        decide(Policy(), method="GET", caller=Caller(person=team.owner), names=names)


def test_a_key_needs_the_methods_scope_and_its_own_tenant(team: Team) -> None:
    policy = Policy(
        credentials=frozenset({Credential.PERSON, Credential.SECRET_KEY}), scopes={"GET": Scope.SEGMENTS_READ}
    )
    reader = Caller(machine=api_key_row(make_api_key(team.tenant, scopes=[Scope.SEGMENTS_READ])))
    scopeless = Caller(machine=api_key_row(make_api_key(team.tenant, scopes=[])))
    ctx = decide(policy, method="GET", caller=reader)
    assert ctx is not None
    assert (ctx.tenant, ctx.role) == (team.tenant, None)
    with pytest.raises(PermissionDenied, match="lacks the 'segments:read' scope"):
        decide(policy, method="GET", caller=scopeless)
    with pytest.raises(PermissionDenied, match="API keys cannot use this endpoint"):
        decide(policy, method="POST", caller=reader)  # no scope names POST: people only
    other = frozenset({TenantName("slug", team.other_tenant.slug)})
    with pytest.raises(PermissionDenied, match="different tenant"):
        decide(policy, method="GET", caller=reader, names=other)


def test_a_credential_kind_the_policy_does_not_take_is_refused(team: Team) -> None:
    key = Caller(machine=api_key_row(make_api_key(team.tenant, scopes=[Scope.SEGMENTS_READ])))
    with pytest.raises(PermissionDenied, match="API keys cannot use this endpoint"):
        decide(PERSON, method="GET", caller=key)
    with pytest.raises(PermissionDenied, match="API keys cannot use this endpoint"):
        decide(Policy(), method="GET", caller=key, names=_acme(team))


def test_policies_that_contradict_themselves_cannot_be_declared() -> None:
    with pytest.raises(ValueError, match="names scopes exactly when"):
        Policy(credentials=frozenset({Credential.PERSON, Credential.SECRET_KEY}))
    with pytest.raises(ValueError, match="names scopes exactly when"):
        Policy(scopes={"GET": Scope.SEGMENTS_READ})
    with pytest.raises(ValueError, match="Only endpoints that take secret keys"):
        Policy(short_way="GET")
    assert Policy(quota=Quota.NONE).role_for("DELETE") == Role.MEMBER


class _Undeclared(APIView):
    def get(self, request: Request) -> Response:
        return Response({})


urlpatterns = [path("undeclared/", _Undeclared.as_view(), name="undeclared")]


def test_the_server_refuses_to_start_with_a_view_that_declares_no_policy() -> None:
    from django.test import override_settings

    from segops_server.wsgi import build_application

    with (
        override_settings(ROOT_URLCONF="segops_server.access.tests.test_policy"),
        pytest.raises(ImproperlyConfigured, match=r"without an access policy.*_Undeclared"),
    ):
        build_application()
