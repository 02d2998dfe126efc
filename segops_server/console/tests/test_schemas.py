"""Schemas: list, create from inferred samples, change enforcement, delete; Viewers read only."""

from __future__ import annotations

import json

from django.test import Client

from segops_server.console.tests.conftest import ConsoleFor
from segops_server.schemas.models import EventSchema
from segops_server.schemas.services import schema_create
from segops_server.testing.factories import Team

LIST = "/t/acme/schemas/"
NEW = "/t/acme/schemas/new/"
SAMPLES = [
    {"event_type": "order_placed", "payload": {"amount": 30, "currency": "EUR"}},
    {"event_type": "order_placed", "payload": {"amount": 12.5, "coupon": "X"}},
    {"event_type": "page_viewed", "payload": {"path": "/"}},
]


def _schemas(team: Team) -> list[tuple[str, dict[str, object], str]]:
    return list(
        EventSchema.objects.for_tenant(team.tenant)
        .order_by("event_type")
        .values_list("event_type", "properties", "enforcement")
    )


def test_the_list_shows_each_schema_with_its_counters(team: Team, console: ConsoleFor) -> None:
    schema = schema_create(
        tenant=team.tenant,
        event_type="order_placed",
        properties={"amount": {"type": "number", "required": True}, "sku": {"type": "string"}},
        enforcement="warn",
    )
    EventSchema.objects.for_tenant(team.tenant).filter(pk=schema.pk).update(
        violation_count=4, rejection_count=1
    )
    schema_create(tenant=team.other_tenant, event_type="globex_event", properties={})
    html = console("viewer").get(LIST).content.decode()
    assert f'href="/t/acme/schemas/{schema.pk}/">order_placed</a>' in html
    assert '<span class="badge warn">Warn</span>' in html
    assert '<td data-label="Properties">2</td>' in html
    assert '<td data-label="Violations">4</td>' in html
    assert '<td data-label="Rejections">1</td>' in html
    assert "globex_event" not in html


def test_the_list_says_when_there_is_none(team: Team, console: ConsoleFor) -> None:
    html = console("member").get(LIST).content.decode()
    assert "No event schemas yet" in html
    assert 'href="/t/acme/schemas/new/"' in html


def test_a_schema_is_inferred_reviewed_and_saved(team: Team, console: ConsoleFor) -> None:
    member = console("member")
    inferred = member.post(NEW, {"action": "infer", "samples": json.dumps(SAMPLES)})
    assert inferred.status_code == 200
    html = inferred.content.decode()
    # One review per event type, each property with its inferred type and whether every sample had it.
    assert html.count('name="action" value="save"') == 2
    review = html[html.index("Review order_placed") : html.index("Review page_viewed")]
    assert '<option value="number" selected>' in review  # 30 and 12.5
    assert 'name="required" value="amount" checked' in review
    assert 'name="required" value="coupon" aria-label' in review  # only one sample had it
    saved = member.post(
        NEW,
        {
            "action": "save",
            "event_type": "order_placed",
            "property": ["amount", "coupon", "currency"],
            "type": ["number", "string", "string"],
            "keep": ["amount", "currency"],  # coupon dropped in review
            "required": ["amount"],
            "enforcement": "reject",
        },
    )
    assert saved.status_code == 302
    assert _schemas(team) == [
        (
            "order_placed",
            {
                "amount": {"type": "number", "required": True},
                "currency": {"type": "string", "required": False},
            },
            "reject",
        )
    ]
    schema = EventSchema.objects.for_tenant(team.tenant).get()
    assert saved["Location"] == f"/t/acme/schemas/{schema.pk}/"


def test_bad_samples_are_said_on_the_page(team: Team, console: ConsoleFor) -> None:
    member = console("member")
    not_json = member.post(NEW, {"action": "infer", "samples": "[{"})
    assert not_json.status_code == 400
    assert "The samples are not JSON" in not_json.content.decode()
    bad_type = member.post(NEW, {"action": "infer", "samples": '[{"event_type": "Bad Type"}]'})
    assert bad_type.status_code == 400
    assert "Event 0: event_type: Use snake_case" in bad_type.content.decode()
    empty = member.post(NEW, {"action": "infer", "samples": "[]"})
    assert empty.status_code == 400


def test_saving_a_type_that_has_a_schema_says_so_and_keeps_the_review(
    team: Team, console: ConsoleFor
) -> None:
    schema_create(tenant=team.tenant, event_type="order_placed", properties={})
    response = console("member").post(
        NEW,
        {
            "action": "save",
            "event_type": "order_placed",
            "property": ["amount"],
            "type": ["number"],
            "keep": ["amount"],
            "enforcement": "warn",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "A schema for order_placed exists already" in html
    assert 'name="keep" value="amount" checked' in html
    assert 'value="warn" checked' in html
    assert len(_schemas(team)) == 1


def test_enforcement_is_changed_on_the_schemas_page(team: Team, console: ConsoleFor) -> None:
    schema = schema_create(tenant=team.tenant, event_type="order_placed", properties={})
    url = f"/t/acme/schemas/{schema.pk}/"
    assert console("member").post(url, {"enforcement": "warn"}).status_code == 302
    assert _schemas(team)[0][2] == "warn"
    assert console("member").post(url, {"enforcement": "loud"}).status_code == 400
    assert _schemas(team)[0][2] == "warn"


def test_a_schema_is_deleted_after_confirmation(team: Team, console: ConsoleFor) -> None:
    schema = schema_create(tenant=team.tenant, event_type="order_placed", properties={})
    url = f"/t/acme/schemas/{schema.pk}/delete/"
    member = console("member")
    confirm = member.get(url)
    assert "Delete the schema of <code>order_placed</code>?" in confirm.content.decode()
    assert len(_schemas(team)) == 1  # asking deletes nothing
    assert member.post(url)["Location"] == LIST
    assert _schemas(team) == []


def test_a_viewer_reads_and_changes_nothing(team: Team, console: ConsoleFor) -> None:
    schema = schema_create(
        tenant=team.tenant, event_type="order_placed", properties={"a": {"type": "string"}}
    )
    viewer = console("viewer")
    listed = viewer.get(LIST).content.decode()
    assert "New schema" not in listed
    detail = viewer.get(f"/t/acme/schemas/{schema.pk}/").content.decode()
    assert "<code>a</code>" in detail
    assert "Change enforcement" not in detail
    assert "Delete" not in detail
    assert viewer.get(NEW).status_code == 403
    assert viewer.post(NEW, {"action": "save", "event_type": "x_y", "enforcement": "off"}).status_code == 403
    assert viewer.post(f"/t/acme/schemas/{schema.pk}/", {"enforcement": "reject"}).status_code == 403
    assert viewer.get(f"/t/acme/schemas/{schema.pk}/delete/").status_code == 403
    assert viewer.post(f"/t/acme/schemas/{schema.pk}/delete/").status_code == 403
    assert _schemas(team) == [("order_placed", {"a": {"type": "string"}}, "off")]


def test_another_tenants_schema_is_a_404(team: Team, console: ConsoleFor) -> None:
    theirs = schema_create(tenant=team.other_tenant, event_type="globex_event", properties={})
    member = console("member")
    assert member.get(f"/t/acme/schemas/{theirs.pk}/").status_code == 404
    assert member.post(f"/t/acme/schemas/{theirs.pk}/delete/").status_code == 404
    assert EventSchema.objects.for_tenant(team.other_tenant).count() == 1


def test_a_post_without_the_csrf_token_is_refused(team: Team) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.member)
    refused = client.post(NEW, {"action": "save", "event_type": "x_y", "enforcement": "off"})
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    assert _schemas(team) == []
