"""Explorer → Sandbox: which segments a user would enter or leave; nothing stored; Members and up."""

from __future__ import annotations

import re

from django.test import Client

from segops_server.console.tests.conftest import ConsoleFor
from segops_server.console.tests.events import send
from segops_server.ingestion.models import Event
from segops_server.segments.compute.services import segment_compute_run
from segops_server.segments.definitions.services import segment_create
from segops_server.testing.factories import Team

URL = "/t/acme/explorer/sandbox/"


def _rule(event_type: str, at_least: int) -> dict[str, object]:
    return {
        "logic": "AND",
        "conditions": [
            {"type": "event_count", "event_type": event_type, "operator": "gte", "value": at_least}
        ],
    }


def _segments(team: Team) -> None:
    """alice ordered once: in Buyers; Repeat buyers needs a second order; Quiet is never ordering."""
    send(team.tenant, ("alice", "order_placed", 1, {}))
    for name, rule in (
        ("Buyers", _rule("order_placed", 1)),
        ("Repeat buyers", _rule("order_placed", 2)),
        ("Browsers", _rule("page_viewed", 1)),
    ):
        segment = segment_create(tenant=team.tenant, actor=team.owner, name=name, definition=rule)
        segment_compute_run(segment_id=segment.pk)


def _list(html: str, name: str) -> list[str]:
    match = re.search(rf'<ul id="{name}">(.*?)</ul>', html, re.S)
    assert match is not None, name
    return re.findall(r'">([^<]+)</a></li>', match.group(1))


def test_it_shows_which_segments_the_user_would_enter(team: Team, console: ConsoleFor) -> None:
    _segments(team)
    before = Event.objects.for_tenant(team.tenant).count()
    response = console("member").post(
        URL, {"user_id": "alice", "event_type": "order_placed", "payload": '{"amount": 5}'}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert _list(html, "entered") == ["Repeat buyers"]
    assert _list(html, "exited") == []
    assert '<p id="unchanged">2 segments</p>' in html
    assert Event.objects.for_tenant(team.tenant).count() == before  # nothing stored


def test_the_event_is_evaluated_at_the_time_given(team: Team, console: ConsoleFor) -> None:
    _segments(team)
    html = (
        console("member")
        .post(URL, {"user_id": "bob", "event_type": "page_viewed", "occurred_at": "2026-01-01T00:00:00Z"})
        .content.decode()
    )
    assert _list(html, "entered") == ["Browsers"]  # event_count has no window: any time counts
    assert "If bob sent page_viewed" in html


def test_bad_input_is_said_on_the_form(team: Team, console: ConsoleFor) -> None:
    member = console("member")
    not_json = member.post(URL, {"user_id": "a", "event_type": "order_placed", "payload": "{nope"})
    assert not_json.status_code == 400
    assert "Not JSON" in not_json.content.decode()
    not_object = member.post(URL, {"user_id": "a", "event_type": "order_placed", "payload": "[1]"})
    assert "The payload is a JSON object" in not_object.content.decode()
    bad_type = member.post(URL, {"user_id": "a", "event_type": "Bad Type!"})
    assert bad_type.status_code == 400
    assert 'id="sandbox-result"' not in bad_type.content.decode()
    bad_time = member.post(URL, {"user_id": "a", "event_type": "order_placed", "occurred_at": "yesterday"})
    assert bad_time.status_code == 400


def test_it_is_for_members_and_up(team: Team, console: ConsoleFor) -> None:
    assert console("viewer").get(URL).status_code == 403
    assert console("viewer").post(URL, {"user_id": "a", "event_type": "order_placed"}).status_code == 403
    assert "Event sandbox" not in console("viewer").get("/t/acme/explorer/").content.decode()
    for who in ("member", "admin", "owner"):
        assert console(who).get(URL).status_code == 200, who
    assert 'href="/t/acme/explorer/sandbox/"' in console("member").get("/t/acme/explorer/").content.decode()
    assert console("outsider").get(URL).status_code == 404


def test_a_post_without_the_csrf_token_is_refused(team: Team) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.member)
    refused = client.post(URL, {"user_id": "a", "event_type": "order_placed"})
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
