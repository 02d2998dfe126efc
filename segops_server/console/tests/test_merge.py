"""Explorer → Merge users: Admins only, asks first, then merges as the API does (audited)."""

from __future__ import annotations

import pytest
from django.test import Client

from segops_server.audit.models import AuditEvent
from segops_server.console.tests.conftest import ConsoleFor
from segops_server.ingestion.models import EdgeKind, IdentityAlias
from segops_server.testing.factories import Team

pytestmark = pytest.mark.django_db


def _url(team: Team) -> str:
    return f"/t/{team.tenant.slug}/explorer/merge/"


def _edges(team: Team) -> list[tuple[str, str, str]]:
    rows = IdentityAlias.objects.for_tenant(team.tenant).order_by("anonymous_id")
    return list(rows.values_list("anonymous_id", "user_id", "kind"))


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_below_admin_the_page_and_the_merge_are_refused(team: Team, console: ConsoleFor, role: str) -> None:
    client = console(role)
    assert client.get(_url(team)).status_code == 403
    body = {"from_user_id": "phone", "into_user_id": "laptop", "confirmed": "on"}
    refused = client.post(_url(team), body)
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    assert _edges(team) == []
    assert "Merge users" not in client.get(f"/t/{team.tenant.slug}/explorer/").content.decode()


def test_an_outsider_is_told_nothing(team: Team, console: ConsoleFor) -> None:
    assert console("outsider").get(_url(team)).status_code == 404


def test_an_admin_is_asked_first_then_the_users_are_merged(team: Team, console: ConsoleFor) -> None:
    client = console("admin")
    assert "Merge users" in client.get(f"/t/{team.tenant.slug}/explorer/").content.decode()
    asked = client.post(_url(team), {"from_user_id": "phone", "into_user_id": "laptop"})
    assert asked.status_code == 200
    assert 'id="merge-confirm"' in asked.content.decode()
    assert _edges(team) == []  # nothing merged before the answer

    done = client.post(_url(team), {"from_user_id": "phone", "into_user_id": "laptop", "confirmed": "on"})
    assert done.status_code == 200
    assert 'id="merge-result"' in done.content.decode()
    assert _edges(team) == [("phone", "laptop", EdgeKind.MERGE)]
    assert AuditEvent.objects.for_tenant(team.tenant).filter(action="identity.merged").count() == 1


def test_a_merge_into_itself_is_refused_on_the_form(team: Team, console: ConsoleFor) -> None:
    answer = console("admin").post(
        _url(team), {"from_user_id": "laptop", "into_user_id": "laptop", "confirmed": "on"}
    )
    assert answer.status_code == 400
    assert "cannot be merged into itself" in answer.content.decode()
    assert _edges(team) == []


def test_the_form_needs_its_csrf_token(team: Team) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.admin)
    body = {"from_user_id": "phone", "into_user_id": "laptop", "confirmed": "on"}
    refused = client.post(_url(team), body)
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    assert _edges(team) == []
