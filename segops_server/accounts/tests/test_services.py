"""Service rules that hold even for callers that skip the API's serializers."""

from __future__ import annotations

from unittest import mock

import pytest

from segops_server.accounts import services
from segops_server.accounts.models import Invitation, Role, Tenant, User
from segops_server.core.errors import Invalid
from segops_server.testing.factories import Team


def test_it_refuses_a_slug_taken_by_a_concurrent_sign_up(team: Team) -> None:
    # Two sign-ups for one slug both pass the check; the database's constraint decides.
    with (
        mock.patch.object(services, "_tenant_slug_free"),
        pytest.raises(Invalid) as error,
    ):
        services.user_register(
            email="racer@initech.test", password="racing-is-fun-123", tenant_name=None, tenant_slug="acme"
        )
    assert set(error.value.detail) == {"tenant_slug"}
    assert Tenant.objects.filter(slug="acme").count() == 1


def test_it_leaves_no_account_behind_when_the_tenant_fails(team: Team) -> None:
    with mock.patch.object(services, "_tenant_slug_free"), pytest.raises(Invalid):
        services.user_register(
            email="racer@initech.test", password="racing-is-fun-123", tenant_name=None, tenant_slug="acme"
        )
    assert not User.objects.filter(email="racer@initech.test").exists()


@pytest.mark.parametrize("role", [Role.OWNER, "superuser"])
def test_it_never_invites_to_a_role_outside_admin_member_viewer(team: Team, role: str) -> None:
    with pytest.raises(Invalid):
        services.member_invite(tenant=team.tenant, email="x@initech.test", role=role, invited_by=team.owner)
    assert not Invitation.objects.for_tenant(team.tenant).exists()
