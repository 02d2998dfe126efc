"""The API's role rules in the console: Viewer reads, Member writes segments, Admin manages keys,
team and settings, the Owner alone deletes the workspace. Hidden controls are refused anyway."""

from __future__ import annotations

import pytest

from segops_server.accounts.models import Membership
from segops_server.console.tests.conftest import ConsoleFor
from segops_server.keys.models import ApiKey
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key

DEFINITION = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "login", "operator": "gte", "value": 1}],
}
ROLES = ["owner", "admin", "member", "viewer"]

# Page → the lowest role that may open it.
PAGES = {
    "/t/acme/segments/": "viewer",
    "/t/acme/segments/new/": "viewer",
    "/t/acme/explorer/": "viewer",
    "/t/acme/settings/general/": "viewer",
    "/t/acme/settings/team/": "viewer",
    "/t/acme/settings/api-keys/": "admin",
    "/t/acme/settings/api-keys/new/": "admin",
    "/t/acme/settings/audit-log/": "admin",
}


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize(("url", "lowest"), PAGES.items())
def test_each_page_opens_for_the_right_roles(console: ConsoleFor, url: str, lowest: str, who: str) -> None:
    response = console(who).get(url)
    allowed = ROLES.index(who) <= ROLES.index(lowest)
    assert response.status_code == (200 if allowed else 403), (who, url)
    if not allowed:
        assert b"This action needs the Admin role or higher." in response.content


def test_the_viewer_sees_no_key_team_or_settings_controls(team: Team, console: ConsoleFor) -> None:
    make_api_key(team.tenant, name="Production Ingestor")
    viewer = console("viewer")
    keys = viewer.get("/t/acme/settings/api-keys/").content
    assert b"+ New Key" not in keys
    assert b"Revoke " not in keys
    assert b"Roll " not in keys
    assert b"Production Ingestor" not in keys  # listing keys needs Admin, as in the API
    team_page = viewer.get("/t/acme/settings/team/").content
    assert b"member@acme.test" in team_page
    assert b"Invite" not in team_page
    assert b"Change role" not in team_page
    assert b"Remove" not in team_page
    general = viewer.get("/t/acme/settings/general/").content
    assert b"<button" not in general.split(b"<main", 1)[1].replace(b"Sign out", b"")
    nav = viewer.get("/t/acme/segments/").content
    assert b"/settings/api-keys/" not in nav
    assert b"/settings/audit-log/" not in nav


def test_the_viewer_sees_no_segment_controls(team: Team, console: ConsoleFor) -> None:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Active", definition=DEFINITION)
    viewer = console("viewer")
    assert b"+ New Segment" not in viewer.get("/t/acme/segments/").content
    detail = viewer.get(f"/t/acme/segments/{segment.pk}/").content
    assert b"Save Definition" not in detail
    assert b"Recompute" not in detail
    assert b"+ Condition" not in detail
    assert b"disabled" in detail  # the rules are shown read-only


def test_the_member_writes_segments_but_sees_no_admin_controls(team: Team, console: ConsoleFor) -> None:
    member = console("member")
    assert b"+ New Segment" in member.get("/t/acme/segments/").content
    team_page = member.get("/t/acme/settings/team/").content
    assert b"Invite" not in team_page
    assert b"Change role" not in team_page


def test_the_admin_sees_every_control_but_deleting_the_workspace(team: Team, console: ConsoleFor) -> None:
    make_api_key(team.tenant, name="Production Ingestor")
    admin = console("admin")
    keys = admin.get("/t/acme/settings/api-keys/").content
    assert b"+ New Key" in keys
    assert b'aria-label="Revoke Production Ingestor"' in keys
    assert b'aria-label="Roll Production Ingestor"' in keys
    assert b"Invite" in admin.get("/t/acme/settings/team/").content
    assert b"Delete workspace" not in admin.get("/t/acme/settings/general/").content
    assert b"Delete workspace" in console("owner").get("/t/acme/settings/general/").content


@pytest.fixture
def targets(team: Team) -> dict[str, int]:
    key = make_api_key(team.tenant, name="Production Ingestor").api_key
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Active", definition=DEFINITION)
    return {"key": key.pk, "segment": segment.pk}


def _writes(team: Team, targets: dict[str, int]) -> dict[str, tuple[str, dict[str, str]]]:
    key, segment = targets["key"], targets["segment"]
    return {
        "create key": (
            "/t/acme/settings/api-keys/new/",
            {"name": "Sneaky", "type": "secret", "environment": "live"},
        ),
        "revoke key": (f"/t/acme/settings/api-keys/{key}/revoke/", {}),
        "roll key": (f"/t/acme/settings/api-keys/{key}/roll/", {"grace_period_hours": "0"}),
        "invite": ("/t/acme/settings/team/invite/", {"email": "friend@acme.test", "role": "admin"}),
        "change role": (
            f"/t/acme/settings/team/{team.member.pk}/role/",
            {f"m{team.member.pk}-role": "admin"},
        ),
        "remove": (f"/t/acme/settings/team/{team.member.pk}/remove/", {}),
        "rename": ("/t/acme/settings/general/", {"name": "Mine", "slug": "mine"}),
        "delete workspace": ("/t/acme/settings/delete/", {"confirm_slug": "acme"}),
        "new segment": (
            "/t/acme/segments/new/",
            {"name": "S", "action": "save", "node": "r.0", "r.0-type": "event_count"},
        ),
        "save segment": (f"/t/acme/segments/{segment}/", {"name": "S", "action": "save"}),
        "recompute": (f"/t/acme/segments/{segment}/recompute/", {}),
    }


def test_the_server_refuses_every_write_of_a_viewer(
    team: Team, console: ConsoleFor, targets: dict[str, int]
) -> None:
    viewer = console("viewer")
    for action, (url, data) in _writes(team, targets).items():
        response = viewer.post(url, data)
        assert response.status_code == 403, action
    _assert_nothing_changed(team, targets)


def test_the_server_refuses_admin_writes_of_a_member(
    team: Team, console: ConsoleFor, targets: dict[str, int]
) -> None:
    member = console("member")
    for action, (url, data) in _writes(team, targets).items():
        if action in ("new segment", "save segment", "recompute"):
            continue
        assert member.post(url, data).status_code == 403, action
    assert console("admin").post("/t/acme/settings/delete/", {"confirm_slug": "acme"}).status_code == 403
    _assert_nothing_changed(team, targets)


def _assert_nothing_changed(team: Team, targets: dict[str, int]) -> None:
    (key,) = ApiKey.objects.for_tenant(team.tenant)
    assert key.revoked_at is None
    assert key.expires_at is None
    assert Membership.objects.for_tenant(team.tenant).get(user=team.member).role == "member"
    assert not Membership.objects.for_tenant(team.tenant).filter(user__email="friend@acme.test").exists()
    team.tenant.refresh_from_db()
    assert (team.tenant.name, team.tenant.slug) == ("Acme", "acme")
    segment = Segment.objects.for_tenant(team.tenant).get()
    assert (segment.name, segment.status) == ("Active", "draft")
