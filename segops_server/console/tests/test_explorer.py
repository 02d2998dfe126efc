"""Explorer: look a user up; see their properties, recent events and segments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from segops_server.console.tests.conftest import ConsoleFor
from segops_server.console.tests.events import send, shop
from segops_server.ingestion.conformance import event_conform
from segops_server.ingestion.services import events_store
from segops_server.ingestion.validation import event_validate
from segops_server.schemas.enforcement import tenant_schemas
from segops_server.schemas.services import schema_create
from segops_server.segments.compute.services import segment_compute_request
from segops_server.segments.definitions.services import segment_create
from segops_server.testing.factories import Team

BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 2}],
}


def test_it_finds_users_by_part_of_their_id(team: Team, console: ConsoleFor) -> None:
    shop(team.tenant)
    send(team.other_tenant, ("alina", "order_placed", 1, {}))
    html = console("viewer").get("/t/acme/explorer/", {"q": "al"}).content.decode()
    assert "/t/acme/explorer/user/?user_id=alice" in html
    assert "bob" not in html
    assert "alina" not in html  # another tenant's user


def test_it_says_when_nobody_matches(team: Team, console: ConsoleFor) -> None:
    html = console("viewer").get("/t/acme/explorer/", {"q": "zed"}).content.decode()
    assert "No user id contains “zed”." in html


def test_it_shows_properties_events_and_segments(
    team: Team, console: ConsoleFor, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    shop(team.tenant)
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Repeat buyers", definition=BUYERS)
    with django_capture_on_commit_callbacks(execute=True):
        segment_compute_request(segment=segment)
    html = console("viewer").get("/t/acme/explorer/user/", {"user_id": "alice"}).content.decode()
    assert "<dt>plan</dt><dd><code>pro</code></dd>" in html
    assert html.count("<code>order_placed</code>") == 2
    assert "<code>context_identified</code>" in html
    assert "amount: <code>30</code>" in html
    assert f'href="/t/acme/segments/{segment.pk}/">Repeat buyers</a>' in html
    assert "2 members" in html


def test_it_filters_events_by_type(team: Team, console: ConsoleFor) -> None:
    shop(team.tenant)
    html = (
        console("viewer")
        .get("/t/acme/explorer/user/", {"user_id": "alice", "event_type": "context_identified"})
        .content.decode()
    )
    assert "<code>order_placed</code>" not in html
    assert "<code>context_identified</code>" in html


def test_it_handles_ids_with_slashes_and_question_marks(team: Team, console: ConsoleFor) -> None:
    send(team.tenant, ("team/a?b=c", "page_viewed", 1, {}))
    found = console("viewer").get("/t/acme/explorer/", {"q": "team/"}).content.decode()
    assert "user_id=team%2Fa%3Fb%3Dc" in found
    page = console("viewer").get("/t/acme/explorer/user/", {"user_id": "team/a?b=c"})
    assert page.status_code == 200
    assert b"<code>page_viewed</code>" in page.content


def test_an_unknown_or_foreign_user_is_not_found(team: Team, console: ConsoleFor) -> None:
    send(team.other_tenant, ("globex-user", "order_placed", 1, {}))
    assert console("viewer").get("/t/acme/explorer/user/", {"user_id": "nobody"}).status_code == 404
    assert console("viewer").get("/t/acme/explorer/user/", {"user_id": "globex-user"}).status_code == 404


def test_it_shows_an_events_schema_warning(team: Team, console: ConsoleFor) -> None:
    schema_create(
        tenant=team.tenant,
        event_type="order_placed",
        properties={"amount": {"type": "string", "required": True}},
        enforcement="warn",
    )
    warned = event_conform(
        event_validate(
            {"user_id": "alice", "event_type": "order_placed", "payload": {"amount": 3}}, now=timezone.now()
        ),
        tenant_schemas(team.tenant.pk),
    )
    events_store(tenant=team.tenant, events=[warned], received_at=timezone.now())
    send(team.tenant, ("alice", "page_viewed", 1, {}))
    html = console("viewer").get("/t/acme/explorer/user/", {"user_id": "alice"}).content.decode()
    assert html.count("Schema warning:") == 1
    assert "<code>payload.amount</code> Must be of type string, not integer." in html
