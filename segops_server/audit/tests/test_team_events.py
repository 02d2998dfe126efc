"""The audit trail records team and tenant changes, through the API and the console alike."""

from __future__ import annotations

from typing import Any

from django.test import Client

from segops_server.audit.models import AuditEvent
from segops_server.testing.factories import Team, client_for, make_user

AUDIT = "/api/audit-log/"
MEMBERS = "/api/tenants/acme/members/"


def _trail(team: Team, action: str | None = None) -> list[dict[str, Any]]:
    params = {"action": action} if action else {}
    response = team.client("admin").get(AUDIT, params)
    assert response.status_code == 200
    return list(response.json()["results"])


def _invite(team: Team, email: str = "friend@initech.test") -> dict[str, Any]:
    response = team.client("admin").post(MEMBERS, {"email": email, "role": "viewer"}, format="json")
    assert response.status_code == 201
    return dict(response.json())


def test_it_records_an_invitation_and_its_acceptance(team: Team) -> None:
    friend = make_user("friend@initech.test")
    token = _invite(team)["token"]
    client_for(friend).post("/api/invitations/accept/", {"token": token}, format="json")
    invited = _trail(team, "member.invited")
    assert [(e["actor"], e["detail"]) for e in invited] == [
        ("admin@acme.test", {"email": "friend@initech.test", "role": "viewer"})
    ]
    assert invited[0]["client_ip"] == "127.0.0.1"
    accepted = _trail(team, "member.invitation_accepted")
    assert [(e["actor"], e["detail"]) for e in accepted] == [
        ("friend@initech.test", {"email": "friend@initech.test", "role": "viewer"})
    ]
    assert token not in str(_trail(team))


def test_it_records_a_revoked_invitation(team: Team) -> None:
    invitation = _invite(team)
    team.client("owner").delete(f"/api/tenants/acme/invitations/{invitation['id']}/")
    revoked = _trail(team, "member.invitation_revoked")
    assert [(e["actor"], e["detail"]["email"]) for e in revoked] == [
        ("owner@acme.test", "friend@initech.test")
    ]


def test_it_records_role_changes_and_removals(team: Team) -> None:
    admin = team.client("admin")
    admin.patch(f"{MEMBERS}{team.member.pk}/", {"role": "viewer"}, format="json")
    admin.patch(f"{MEMBERS}{team.member.pk}/", {"role": "viewer"}, format="json")  # no change
    admin.delete(f"{MEMBERS}{team.viewer.pk}/")
    changed = _trail(team, "member.role_changed")
    assert [e["detail"] for e in changed] == [{"email": "member@acme.test", "old": "member", "new": "viewer"}]
    removed = _trail(team, "member.removed")
    assert [(e["actor"], e["detail"]) for e in removed] == [
        ("admin@acme.test", {"email": "viewer@acme.test", "role": "viewer"})
    ]


def test_it_records_renames_and_slug_changes(team: Team) -> None:
    team.client("admin").patch(
        "/api/tenants/acme/", {"name": "Acme Corp", "slug": "acme-corp"}, format="json"
    )
    client = client_for(team.admin, None)
    client.defaults["HTTP_X_SEGOPS_TENANT"] = "acme-corp"
    events = {e["action"]: e["detail"] for e in client.get(AUDIT).json()["results"]}
    assert events["tenant.renamed"] == {"old": "Acme", "new": "Acme Corp"}
    assert events["tenant.slug_changed"] == {"old": "acme", "new": "acme-corp"}


def test_it_records_a_new_tenant_in_its_own_trail(team: Team) -> None:
    created = team.client("member").post("/api/tenants/", {"name": "Side", "slug": "side"}, format="json")
    assert created.status_code == 201
    own = client_for(team.member, None)
    own.defaults["HTTP_X_SEGOPS_TENANT"] = "side"
    assert [e["action"] for e in own.get(AUDIT).json()["results"]] == ["tenant.created"]
    assert "tenant.created" not in [e["action"] for e in _trail(team)]


def test_it_keeps_a_record_of_a_deleted_tenant_outside_it(team: Team) -> None:
    tenant_id = team.tenant.pk
    assert team.client("owner").delete("/api/tenants/acme/").status_code == 204
    deleted = AuditEvent.objects.unscoped_all_tenants().get(action="tenant.deleted")
    assert deleted.tenant_id is None
    assert deleted.actor == team.owner
    assert deleted.detail == {"tenant_id": tenant_id, "slug": "acme", "name": "Acme"}


def test_it_hides_team_events_from_another_tenant(team: Team) -> None:
    _invite(team)
    team.client("admin").delete(f"{MEMBERS}{team.viewer.pk}/")
    theirs = team.client("outsider").get(AUDIT).json()["results"]
    assert [e["action"] for e in theirs if e["action"].startswith(("member.", "tenant."))] == []


def test_it_shows_team_events_on_the_console_audit_page(team: Team) -> None:
    console = Client()
    console.force_login(team.admin)
    console.post("/t/acme/settings/team/invite/", {"email": "friend@initech.test", "role": "viewer"})
    console.post(f"/t/acme/settings/team/{team.viewer.pk}/remove/")
    html = console.get("/t/acme/settings/audit-log/").content.decode()
    assert "Person invited" in html
    assert "Member removed" in html
    assert "friend@initech.test" in html


def test_it_has_an_action_for_every_event_accounts_announces() -> None:
    from segops_server.accounts.signals import TEAM_EVENTS
    from segops_server.audit.models import Action

    assert set(TEAM_EVENTS) <= set(Action.values)
    assert {a for a in Action.values if a.startswith(("member.", "tenant."))} == set(TEAM_EVENTS)
