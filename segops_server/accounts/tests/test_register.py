"""POST /api/auth/register/: a new person, their tenant, and a first token pair."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from segops_server.accounts.models import Invitation, Membership, Role, Tenant, User
from segops_server.testing.factories import Team, make_tenant, make_user

URL = "/api/auth/register/"
GOOD_PASSWORD = "purple-elephant-dances-42"


def _register(**overrides: Any) -> Any:
    body = {
        "email": "new@initech.test",
        "password": GOOD_PASSWORD,
        "tenant_name": "Initech",
        "tenant_slug": "initech",
        **overrides,
    }
    return APIClient().post(URL, body, format="json")


def test_it_creates_the_person_and_their_tenant(db: None) -> None:
    response = _register()
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"user", "tenant", "access", "refresh"}
    assert body["user"]["email"] == "new@initech.test"
    assert "password" not in body["user"]
    assert body["tenant"]["slug"] == "initech"
    assert body["tenant"]["name"] == "Initech"
    user = User.objects.get(email="new@initech.test")
    assert user.check_password(GOOD_PASSWORD)


def test_it_makes_the_new_person_the_owner(db: None) -> None:
    body = _register().json()
    membership = Membership.objects.for_tenant(Tenant.objects.get(slug="initech")).get()
    assert membership.user_id == body["user"]["id"]
    assert membership.role == Role.OWNER


def test_it_returns_tokens_that_work_at_once(db: None) -> None:
    access = _register().json()["access"]
    me = APIClient().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert me.status_code == 200
    assert me.json()["tenants"][0]["role"] == "owner"


def test_it_stores_the_email_lower_cased(db: None) -> None:
    assert _register(email="New.Person@Initech.TEST").status_code == 201
    assert User.objects.filter(email="new.person@initech.test").exists()


@pytest.mark.parametrize("email", ["owner@acme.test", "OWNER@ACME.TEST", "Owner@Acme.Test"])
def test_it_refuses_an_email_already_registered_in_any_case(team: Team, email: str) -> None:
    response = _register(email=email)
    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    assert User.objects.filter(email__iexact="owner@acme.test").count() == 1


def test_it_refuses_a_slug_already_taken(team: Team) -> None:
    response = _register(tenant_slug="acme")
    assert response.status_code == 400
    assert list(response.json()) == ["tenant_slug"]
    # Nothing half-done: no account was left behind without its tenant.
    assert not User.objects.filter(email="new@initech.test").exists()


@pytest.mark.parametrize(
    "slug",
    [
        "ab",  # too short
        "a" * 41,  # too long
        "Initech",  # uppercase
        "init_tech",  # underscore
        "-initech",  # leading hyphen
        "initech-",  # trailing hyphen
        "init tech",
        "initéch",
        "",
    ],
)
def test_it_refuses_a_bad_slug(db: None, slug: str) -> None:
    response = _register(tenant_slug=slug)
    assert response.status_code == 400
    assert list(response.json()) == ["tenant_slug"]
    assert not Tenant.objects.exists()


@pytest.mark.parametrize("slug", ["abc", "a" * 40, "acme-2", "9lives"])
def test_it_accepts_a_good_slug(db: None, slug: str) -> None:
    assert _register(tenant_slug=slug).status_code == 201


@pytest.mark.parametrize(
    "password",
    ["short", "password", "12345678901234", "new@initech.test"],
)
def test_it_refuses_a_weak_password(db: None, password: str) -> None:
    response = _register(password=password)
    assert response.status_code == 400
    assert list(response.json()) == ["password"]
    assert response.json()["password"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"email": "not-an-email"},
        {"email": ""},
        {"email": None},
        {"password": ""},
        {"tenant_name": "x" * 101},
        {"tenant_slug": True},
        {"tenant_slug": {"slug": "acme"}},
        {"tenant_slug": ["acme"]},
    ],
)
def test_it_rejects_malformed_fields_with_400(db: None, overrides: dict[str, Any]) -> None:
    response = _register(**overrides)
    assert response.status_code == 400
    assert set(response.json()) <= {"email", "password", "tenant_name", "tenant_slug"}
    assert not User.objects.exists()


def test_it_rejects_a_body_that_is_not_an_object(db: None) -> None:
    response = APIClient().post(URL, ["email"], format="json")
    assert response.status_code == 400
    assert not User.objects.exists()


@override_settings(SEGOPS_ALLOW_REGISTRATION=False)
def test_it_can_be_switched_off(db: None) -> None:
    response = _register()
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert not User.objects.exists()


def test_it_grants_nothing_an_invitation_offers(team: Team) -> None:
    invite = APIClient()
    invite.force_authenticate(team.admin)
    created = invite.post(
        "/api/tenants/acme/members/",
        {"email": "New@Initech.test", "role": "viewer"},
        format="json",
        HTTP_X_SEGOPS_TENANT="acme",
    )
    assert created.status_code == 201

    response = _register()
    assert response.status_code == 201
    user = User.objects.get(email="new@initech.test")
    roles = {m.tenant.slug: m.role for m in Membership.objects.for_user(user)}
    assert roles == {"initech": "owner"}  # joining acme takes the invitation's token
    assert Invitation.objects.for_tenant(team.tenant).exists()


def test_it_joins_no_inviting_tenant_when_no_tenant_is_asked_for(db: None) -> None:
    tenant = make_tenant("umbrella", owner=make_user())
    Invitation(tenant=tenant, email="new@initech.test", role=Role.MEMBER).save()
    response = APIClient().post(URL, {"email": "new@initech.test", "password": GOOD_PASSWORD}, format="json")
    assert response.status_code == 201
    assert response.json()["tenant"] is None
    assert not Membership.objects.for_tenant(tenant).filter(user__email="new@initech.test").exists()


def test_it_allows_an_account_without_a_tenant(db: None) -> None:
    response = APIClient().post(URL, {"email": "solo@initech.test", "password": GOOD_PASSWORD}, format="json")
    assert response.status_code == 201
    assert response.json()["tenant"] is None
    assert not Tenant.objects.exists()
