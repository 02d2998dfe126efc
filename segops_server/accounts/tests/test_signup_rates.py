"""Registration, tenant creation and invitations are limited per client address (429 + Retry-After)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from rest_framework.test import APIClient

from segops_server.accounts.models import Invitation, Tenant, User
from segops_server.conf.env import env_rate
from segops_server.testing.factories import Team

PASSWORD = "a-long-enough-pass-77"


def _register(n: int, address: str = "10.0.0.1", email: str | None = None) -> Any:
    body = {"email": email or f"new{n}@initech.test", "password": PASSWORD}
    return APIClient().post("/api/auth/register/", body, format="json", REMOTE_ADDR=address)


def _assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert set(response.json()) == {"detail"}


@override_settings(SEGOPS_REGISTRATION_RATE="3/hour")
def test_it_limits_registrations_per_address(db: None) -> None:
    assert [_register(n).status_code for n in range(3)] == [201, 201, 201]
    _assert_throttled(_register(3))
    assert not User.objects.filter(email="new3@initech.test").exists()
    assert _register(4, address="10.0.0.2").status_code == 201  # another address is not held back


@override_settings(SEGOPS_REGISTRATION_RATE="2/hour")
def test_it_counts_refused_registrations_too(db: None) -> None:
    assert _register(0).status_code == 201
    assert _register(0, email="new0@initech.test").status_code == 400  # taken
    _assert_throttled(_register(1))


@override_settings(SEGOPS_REGISTRATION_RATE="2/hour")
def test_it_limits_the_console_sign_up_too(db: None) -> None:
    client = Client(REMOTE_ADDR="10.0.0.9")
    for n in range(2):
        assert (
            client.post("/sign-up/", {"email": f"c{n}@initech.test", "password": PASSWORD}).status_code == 302
        )
        client.logout()
    refused = client.post("/sign-up/", {"email": "c2@initech.test", "password": PASSWORD})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert b"Too many" in refused.content
    assert not User.objects.filter(email="c2@initech.test").exists()


@override_settings(SEGOPS_TENANT_CREATION_RATE="2/hour")
def test_it_limits_tenant_creation_per_address(team: Team) -> None:
    client = team.client("member")
    created = [
        client.post("/api/tenants/", {"name": f"T{n}", "slug": f"tee-{n}"}, format="json") for n in range(3)
    ]
    assert [r.status_code for r in created[:2]] == [201, 201]
    _assert_throttled(created[2])
    assert not Tenant.objects.filter(slug="tee-2").exists()

    console = Client()
    console.force_login(team.member)
    refused = console.post("/workspaces/new/", {"name": "T3", "slug": "tee-3"})
    assert refused.status_code == 429
    assert not Tenant.objects.filter(slug="tee-3").exists()


@override_settings(SEGOPS_INVITATION_RATE="2/hour")
def test_it_limits_invitations_per_address(team: Team) -> None:
    client = team.client("admin")
    url = "/api/tenants/acme/members/"
    answers = [
        client.post(url, {"email": f"f{n}@initech.test", "role": "viewer"}, format="json") for n in range(3)
    ]
    assert [r.status_code for r in answers[:2]] == [201, 201]
    _assert_throttled(answers[2])

    console = Client()
    console.force_login(team.owner)
    refused = console.post("/t/acme/settings/team/invite/", {"email": "f4@initech.test", "role": "viewer"})
    assert refused.status_code == 429
    assert Invitation.objects.for_tenant(team.tenant).count() == 2


@pytest.mark.parametrize("raw", ["20", "20/fortnight", "x/hour", "-1/hour", "0/hour"])
def test_it_refuses_a_malformed_rate_setting(monkeypatch: Any, raw: str) -> None:
    monkeypatch.setenv("SEGOPS_X_RATE", raw)
    with pytest.raises(ImproperlyConfigured):
        env_rate("SEGOPS_X_RATE", "20/hour")


@pytest.mark.parametrize(("raw", "rate"), [(None, "20/hour"), ("5/min", "5/min"), (" 100/day ", "100/day")])
def test_it_reads_a_rate_setting(monkeypatch: Any, raw: str | None, rate: str) -> None:
    if raw is not None:
        monkeypatch.setenv("SEGOPS_X_RATE", raw)
    assert env_rate("SEGOPS_X_RATE", "20/hour") == rate
