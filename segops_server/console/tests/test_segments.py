"""Segments: the list, + New Segment with the rule builder, Preview, Save Definition, Recompute
(polling until done) and History."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from segops_server.console.tests.conftest import ConsoleFor, htmx
from segops_server.console.tests.events import shop
from segops_server.core.errors import Invalid
from segops_server.segments.definitions.services import segment_create, segment_update
from segops_server.segments.models import Segment, SegmentVersion
from segops_server.testing.factories import Team

NEW = "/t/acme/segments/new/"
PREVIEW = "/t/acme/segments/preview/"
BUYERS = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 2}],
}

# What the browser posts for "ordered at least twice AND plan = pro".
TWO_CONDITIONS = {
    "name": "Pro buyers",
    "description": "Paying pros",
    "r-logic": "AND",
    "node": ["r.0", "r.1"],
    "r.0-kind": "condition",
    "r.0-type": "event_count",
    "r.0-event_type": "order_placed",
    "r.0-operator": "gte",
    "r.0-value": "2",
    "r.0-window_days": "",
    "r.1-kind": "condition",
    "r.1-type": "user_property",
    "r.1-property": "plan",
    "r.1-operator": "eq",
    "r.1-value": "pro",
}


def test_it_lists_segments_with_status_and_member_count(team: Team, console: ConsoleFor) -> None:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(status="computed", member_count=1234)
    segment_create(tenant=team.other_tenant, actor=team.outsider, name="Globex only", definition=BUYERS)
    html = console("viewer").get("/t/acme/segments/").content.decode()
    assert "Buyers" in html
    assert "Computed" in html
    assert ">1234<" in html
    assert "Globex only" not in html


def test_the_builder_adds_a_row_and_rerenders_from_the_posted_state(team: Team, console: ConsoleFor) -> None:
    member = console("member")
    page = member.get(NEW).content.decode()
    assert 'name="r.0-type"' in page
    assert 'name="r.1-type"' not in page
    fragment = htmx(member, "post", NEW, {**TWO_CONDITIONS, "action": "add:r"}).content.decode()
    assert fragment.startswith('<div id="builder"')
    assert "<html" not in fragment
    assert 'name="r.2-type"' in fragment
    assert 'value="order_placed"' in fragment  # the rows already filled in stay filled in
    assert 'value="pro"' in fragment
    assert not Segment.objects.for_tenant(team.tenant).exists()


def test_the_builder_removes_rows_and_nests_groups(console: ConsoleFor) -> None:
    member = console("member")
    removed = htmx(member, "post", NEW, {**TWO_CONDITIONS, "action": "remove:r.0"}).content.decode()
    assert 'name="r.1-type"' not in removed
    assert 'value="pro"' in removed  # the second row is now the first
    grouped = htmx(member, "post", NEW, {**TWO_CONDITIONS, "action": "group:r"}).content.decode()
    assert 'name="r.2-kind" value="group"' in grouped
    assert 'name="r.2-logic"' in grouped
    assert 'name="r.2.0-type"' in grouped


def test_the_fields_follow_a_changed_condition_type(console: ConsoleFor) -> None:
    state = {**TWO_CONDITIONS, "r.1-type": "event_sequence"}
    html = htmx(console("member"), "post", NEW, state).content.decode()
    row = html.split('data-path="r.1"')[1]
    assert 'name="r.1-events"' in row
    assert 'name="r.1-strict"' in row
    assert 'name="r.1-property"' not in row
    assert 'hx-trigger="change"' in html  # changing the type asks for this again


def test_without_javascript_the_buttons_rerender_the_whole_page(console: ConsoleFor) -> None:
    response = console("member").post(NEW, {**TWO_CONDITIONS, "action": "add:r"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert 'name="r.2-type"' in html
    assert 'value="Pro buyers"' in html


def test_preview_shows_the_match_count_sample_and_sql(team: Team, console: ConsoleFor) -> None:
    shop(team.tenant)
    response = htmx(console("member"), "post", PREVIEW, TWO_CONDITIONS)
    html = response.content.decode()
    assert 'data-matched="1"' in html
    assert "<code>alice</code>" in html
    assert "SELECT" in html
    assert not Segment.objects.for_tenant(team.tenant).exists()


def test_preview_is_open_to_viewers_as_in_the_api(team: Team, console: ConsoleFor) -> None:
    shop(team.tenant)
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)
    viewer = console("viewer")
    html = htmx(
        viewer, "post", PREVIEW, {"segment_id": segment.pk, "action": "preview-saved"}
    ).content.decode()
    assert 'data-matched="2"' in html
    assert "Buyers" in viewer.get(f"/t/acme/segments/{segment.pk}/").content.decode()


def test_preview_puts_a_bad_rule_on_its_row(team: Team, console: ConsoleFor) -> None:
    html = htmx(console("member"), "post", PREVIEW, {**TWO_CONDITIONS, "r.0-value": "lots"}).content.decode()
    assert "conditions[0].value: must be a whole number" in html
    assert 'hx-swap-oob="outerHTML"' in html  # the builder is redrawn with the row marked
    assert "has-error" in html


def test_preview_reports_a_rule_that_takes_too_long(
    team: Team, console: ConsoleFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def too_slow(**kwargs: Any) -> None:
        raise Invalid({"detail": "This rule took longer than 5 s to evaluate."})

    monkeypatch.setattr("segops_server.segments.definitions.selectors.preview", too_slow)
    response = htmx(console("member"), "post", PREVIEW, TWO_CONDITIONS)
    assert response.status_code == 200
    assert "This rule took longer than 5 s to evaluate." in response.content.decode()


def test_preview_without_javascript_renders_the_page(team: Team, console: ConsoleFor) -> None:
    shop(team.tenant)
    response = console("member").post(PREVIEW, TWO_CONDITIONS)
    assert response.status_code == 200
    assert b"<html" in response.content
    assert b'data-matched="1"' in response.content


def test_save_definition_creates_the_segment_with_version_1(team: Team, console: ConsoleFor) -> None:
    response = console("member").post(NEW, {**TWO_CONDITIONS, "action": "save"})
    segment = Segment.objects.for_tenant(team.tenant).get()
    assert response["Location"] == f"/t/acme/segments/{segment.pk}/"
    assert (segment.name, segment.description, segment.created_by) == (
        "Pro buyers",
        "Paying pros",
        team.member,
    )
    assert segment.definition == {
        "logic": "AND",
        "conditions": [
            {
                "type": "event_count",
                "event_type": "order_placed",
                "operator": "gte",
                "value": 2,
                "window_days": None,
            },
            {"type": "user_property", "property": "plan", "operator": "eq", "value": "pro"},
        ],
    }
    (version,) = SegmentVersion.objects.for_tenant(team.tenant).filter(segment=segment)
    assert version.number == 1


def test_save_refuses_a_bad_definition_and_keeps_the_form(team: Team, console: ConsoleFor) -> None:
    response = console("member").post(
        NEW, {**TWO_CONDITIONS, "r.1-property": "bad property!", "action": "save"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "conditions[1].property: must be a property name" in html
    assert 'value="order_placed"' in html
    assert not Segment.objects.for_tenant(team.tenant).exists()


def test_save_refuses_a_missing_name(team: Team, console: ConsoleFor) -> None:
    response = console("member").post(NEW, {**TWO_CONDITIONS, "name": "", "action": "save"})
    assert response.status_code == 400
    assert b"This field is required." in response.content
    assert not Segment.objects.for_tenant(team.tenant).exists()


def test_the_detail_page_loads_the_saved_rules_into_the_builder(team: Team, console: ConsoleFor) -> None:
    console("member").post(NEW, {**TWO_CONDITIONS, "r-logic": "OR", "action": "save"})
    segment = Segment.objects.for_tenant(team.tenant).get()
    html = console("member").get(f"/t/acme/segments/{segment.pk}/").content.decode()
    assert 'name="r-logic" value="OR" checked' in html
    assert 'name="r.0-event_type" value="order_placed"' in html
    assert 'name="r.1-value" value="pro"' in html


def test_saving_changes_makes_a_new_version_and_history_lists_them(team: Team, console: ConsoleFor) -> None:
    member = console("member")
    member.post(NEW, {**TWO_CONDITIONS, "action": "save"})
    segment = Segment.objects.for_tenant(team.tenant).get()
    url = f"/t/acme/segments/{segment.pk}/"
    member.post(url, {**TWO_CONDITIONS, "r.0-value": "3", "action": "save"})
    member.post(url, {**TWO_CONDITIONS, "r.0-value": "3", "name": "Renamed", "action": "save"})
    numbers = list(
        SegmentVersion.objects.for_tenant(team.tenant)
        .filter(segment=segment)
        .values_list("number", flat=True)
    )
    assert sorted(numbers) == [1, 2]  # a rename alone is no new version
    history = member.get(url + "history/").content.decode()
    assert history.index("Version 2") < history.index("Version 1")
    assert "&quot;value&quot;: 3" in history
    assert "member@acme.test" in history


def test_recompute_polls_until_computed_then_shows_the_member_count(
    team: Team, console: ConsoleFor, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    shop(team.tenant)
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)
    member = console("member")
    detail = member.get(f"/t/acme/segments/{segment.pk}/").content.decode()
    assert "Recompute" in detail
    with django_capture_on_commit_callbacks(execute=False) as queued:
        computing = htmx(member, "post", f"/t/acme/segments/{segment.pk}/recompute/").content.decode()
    # Until the worker is done, the status card asks for itself again every second.
    assert 'data-status="computing"' in computing
    assert 'hx-trigger="every 1s"' in computing
    assert "<progress" in computing
    status_url = f"/t/acme/segments/{segment.pk}/status/"
    assert f'hx-get="{status_url}"' in computing
    still = htmx(member, "get", status_url)
    assert 'hx-trigger="every 1s"' in still.content.decode()
    assert "no-cache" in still["Cache-Control"]
    for callback in queued:  # the worker runs the compute
        callback()
    done = htmx(member, "get", status_url).content.decode()
    assert 'data-status="computed"' in done
    assert 'data-member-count="2"' in done
    assert "every 1s" not in done  # polling stops
    assert 'id="export" class="card"' in done  # the Export card comes along, out of band
    assert 'hx-swap-oob="outerHTML"' in done
    assert "Export CSV" in done


def test_recompute_without_javascript_redirects_back(
    team: Team, console: ConsoleFor, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    shop(team.tenant)
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)
    with django_capture_on_commit_callbacks(execute=True):
        response = console("member").post(f"/t/acme/segments/{segment.pk}/recompute/")
    assert response["Location"] == f"/t/acme/segments/{segment.pk}/"
    segment.refresh_from_db()
    assert (segment.status, segment.member_count) == ("computed", 2)


def test_a_failed_compute_shows_its_error(team: Team, console: ConsoleFor) -> None:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)
    Segment.objects.for_tenant(team.tenant).filter(pk=segment.pk).update(
        status="failed", error="Boom: disk full"
    )
    html = console("viewer").get(f"/t/acme/segments/{segment.pk}/status/").content.decode()
    assert "The last compute failed: Boom: disk full" in html
    assert "every 1s" not in html


def test_a_membership_row_offers_the_other_segments_of_this_tenant_only(
    team: Team, console: ConsoleFor
) -> None:
    mine = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)
    segment_create(tenant=team.other_tenant, actor=team.outsider, name="Globex buyers", definition=BUYERS)
    state = {**TWO_CONDITIONS, "r.1-type": "segment_membership"}
    html = htmx(console("member"), "post", NEW, state).content.decode()
    assert f'<option value="{mine.pk}">Buyers</option>' in html
    assert "Globex buyers" not in html
    own = htmx(console("member"), "post", f"/t/acme/segments/{mine.pk}/", state).content.decode()
    assert f'<option value="{mine.pk}">' not in own  # a segment cannot contain itself


@pytest.mark.parametrize("who", ["owner", "admin", "member"])
def test_members_and_up_get_the_builder(team: Team, console: ConsoleFor, who: str) -> None:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)
    html = console(who).get(f"/t/acme/segments/{segment.pk}/").content.decode()
    assert "Save Definition" in html
    assert re.search(r'<input type="text" id="r\.0-event_type"[^>]*value="order_placed"', html)


def test_update_by_service_shows_on_the_page(team: Team, console: ConsoleFor) -> None:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=BUYERS)
    segment_update(segment=segment, actor=team.owner, description="Two orders or more")
    assert "Two orders or more" in console("viewer").get(f"/t/acme/segments/{segment.pk}/").content.decode()


def test_strangers_cannot_preview(team: Team) -> None:
    assert Client().post(PREVIEW, TWO_CONDITIONS).status_code == 302
