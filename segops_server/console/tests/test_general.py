"""Settings → General: the workspace's name and slug (Admin and up); deleting it (Owner only)."""

from __future__ import annotations

from segops_server.accounts.models import Tenant
from segops_server.console.tests.conftest import ConsoleFor
from segops_server.testing.factories import Team

GENERAL = "/t/acme/settings/general/"


def test_it_shows_name_and_slug_to_everyone_in_the_team(console: ConsoleFor) -> None:
    html = console("viewer").get(GENERAL).content.decode()
    assert "Acme" in html
    assert "<code>acme</code>" in html


def test_it_renames_the_workspace(team: Team, console: ConsoleFor) -> None:
    response = console("admin").post(GENERAL, {"name": "Acme Corp", "slug": "acme"})
    assert response["Location"] == GENERAL
    team.tenant.refresh_from_db()
    assert team.tenant.name == "Acme Corp"


def test_it_moves_the_urls_with_a_new_slug(team: Team, console: ConsoleFor) -> None:
    admin = console("admin")
    response = admin.post(GENERAL, {"name": "Acme", "slug": "acme-corp"})
    assert response["Location"] == "/t/acme-corp/settings/general/"
    assert admin.get("/t/acme-corp/settings/general/").status_code == 200
    assert admin.get(GENERAL).status_code == 404


def test_it_refuses_a_taken_or_malformed_slug(team: Team, console: ConsoleFor) -> None:
    admin = console("admin")
    taken = admin.post(GENERAL, {"name": "Acme", "slug": "globex"})
    assert taken.status_code == 400
    assert b"This slug is already taken." in taken.content
    bad = admin.post(GENERAL, {"name": "Acme", "slug": "-Bad-"})
    assert bad.status_code == 400
    team.tenant.refresh_from_db()
    assert team.tenant.slug == "acme"


def test_the_owner_deletes_the_workspace_after_typing_its_slug(team: Team, console: ConsoleFor) -> None:
    owner = console("owner")
    wrong = owner.post("/t/acme/settings/delete/", {"confirm_slug": "acm"})
    assert wrong.status_code == 400
    assert b"That is not this workspace&#x27;s slug." in wrong.content
    assert Tenant.objects.filter(slug="acme").exists()
    response = owner.post("/t/acme/settings/delete/", {"confirm_slug": "acme"})
    assert response["Location"] == "/"
    assert not Tenant.objects.filter(slug="acme").exists()
    assert owner.get("/")["Location"] == "/workspaces/new/"
    assert console("admin").get(GENERAL).status_code == 404
