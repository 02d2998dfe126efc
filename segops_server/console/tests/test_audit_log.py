"""Settings → Audit log: the workspace's credential events, newest first (Admin and up)."""

from __future__ import annotations

from django.test import Client

from segops_server.console.tests.conftest import ConsoleFor
from segops_server.keys.services import api_key_revoke
from segops_server.testing.factories import PASSWORD, Team
from segops_server.testing.keys import make_api_key

AUDIT = "/t/acme/settings/audit-log/"


def test_it_lists_key_and_sign_in_events_without_any_key(team: Team, console: ConsoleFor) -> None:
    issued = make_api_key(team.tenant, created_by=team.admin, name="Production Ingestor")
    api_key_revoke(api_key=issued.api_key, actor=team.owner)
    Client().post("/sign-in/", {"email": "member@acme.test", "password": PASSWORD})
    html = console("admin").get(AUDIT).content.decode().split("<tbody>")[1]
    assert html.index("Key revoked") < html.index("Key created")  # newest first
    assert "Signed in" in html
    assert "member@acme.test" in html
    assert f"{issued.api_key.display_prefix}…" in html
    assert issued.key not in html


def test_it_filters_by_action(team: Team, console: ConsoleFor) -> None:
    issued = make_api_key(team.tenant, name="Production Ingestor")
    api_key_revoke(api_key=issued.api_key, actor=team.owner)
    rows = console("owner").get(AUDIT, {"action": "key.revoked"}).content.decode().split("<tbody>")[1]
    assert "Key revoked" in rows
    assert "Key created" not in rows
    everything = console("owner").get(AUDIT, {"action": "not-an-action"}).content.decode()
    assert "Key created" in everything.split("<tbody>")[1]


def test_it_shows_only_this_workspaces_events(team: Team, console: ConsoleFor) -> None:
    make_api_key(team.other_tenant, created_by=team.outsider, name="Globex key")
    assert "Globex key" not in console("owner").get(AUDIT).content.decode()


def test_it_pages_long_logs(team: Team, console: ConsoleFor) -> None:
    for n in range(55):
        make_api_key(team.tenant, name=f"Key {n}")
    first = console("owner").get(AUDIT).content.decode()
    assert "Page 1 of 2" in first
    second = console("owner").get(AUDIT, {"page": 2}).content.decode()
    assert "Page 2 of 2" in second
