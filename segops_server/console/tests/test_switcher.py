"""The workspace switcher in the top navigation: the person's own workspaces, with their role."""

from __future__ import annotations

from segops_server.accounts.models import Role
from segops_server.console.tests.conftest import signed_in
from segops_server.testing.factories import Team, add_member, make_tenant


def test_it_lists_my_workspaces_and_marks_the_current_one(team: Team) -> None:
    add_member(team.other_tenant, team.viewer, Role.ADMIN)
    make_tenant("initech")  # not the viewer's
    html = signed_in(team.viewer).get("/t/globex/segments/").content.decode()
    switcher = html.split('<details class="switcher">')[1].split("</details>")[0]
    assert 'Globex <span class="muted">(Admin)</span>' in switcher
    assert '<a href="/t/acme/">Acme <span class="muted">acme · Viewer</span></a>' in switcher
    assert '<a href="/t/globex/" aria-current="true">' in switcher
    assert "initech" not in switcher
    assert 'href="/workspaces/new/"' in switcher


def test_the_role_follows_the_workspace_in_the_url(team: Team) -> None:
    add_member(team.other_tenant, team.viewer, Role.ADMIN)
    client = signed_in(team.viewer)
    assert client.get("/t/globex/settings/api-keys/").status_code == 200
    assert client.get("/t/acme/settings/api-keys/").status_code == 403
    # Nothing is remembered between requests: the same session, back and forth.
    assert client.get("/t/globex/settings/api-keys/").status_code == 200
