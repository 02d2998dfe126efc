"""A segment's Activations card: add a webhook connector, Activate / Pause, Sync Now, the last
sync and error; Viewers see it without controls; outsiders get a 404; posts need the CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from segops_server.activations.models import Activation, ActivationStatus, ActivationSync
from segops_server.activations.tests.helpers import RECEIVER, activation_make, buyers, compute, orders
from segops_server.console.tests.conftest import ConsoleFor, htmx
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.webhooks.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_urls_allowed(settings: Any) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def segment(team: Team) -> Segment:
    orders(team, ann=1, bob=1)
    return compute(buyers(team))


def _base(segment: Segment) -> str:
    return f"/t/acme/segments/{segment.pk}/activations/"


def _stored(team: Team) -> list[Activation]:
    return list(Activation.objects.for_tenant(team.tenant).order_by("pk"))


def test_a_member_adds_activates_and_syncs_a_webhook_connector(
    team: Team, console: ConsoleFor, segment: Segment
) -> None:
    member = console("member")
    page = member.get(f"/t/acme/segments/{segment.pk}/").content.decode()
    assert 'id="activations"' in page
    assert "Add a webhook connector" in page

    card = htmx(member, "post", _base(segment), {"url": RECEIVER, "secret": "typed-once"}).content.decode()
    [activation] = _stored(team)
    assert activation.config == {"url": RECEIVER, "secret": "typed-once"}
    assert activation.status == "inactive"
    assert 'data-activation-status="inactive"' in card
    assert "typed-once" not in card
    assert "Activate" in card

    card = htmx(
        member, "post", f"{_base(segment)}{activation.pk}/status/", {"status": "active"}
    ).content.decode()
    assert 'data-activation-status="active"' in card
    assert 'data-sync-status="running"' in card
    assert "2 entered, 0 exited" in card
    assert "Pause" in card
    assert Delivery.objects.for_tenant(team.tenant).count() == 1

    card = htmx(member, "post", f"{_base(segment)}{activation.pk}/sync/").content.decode()
    assert "Sync queued: 2 members in 1 batches." in card  # tests run the task at once
    assert ActivationSync.objects.for_tenant(team.tenant).count() == 2

    card = htmx(
        member, "post", f"{_base(segment)}{activation.pk}/status/", {"status": "inactive"}
    ).content.decode()
    assert 'data-activation-status="inactive"' in card
    assert "Sync Now" not in card


def test_the_card_shows_the_last_error_and_the_last_sync_time(
    team: Team, console: ConsoleFor, segment: Segment
) -> None:
    activation = activation_make(segment, status=ActivationStatus.ACTIVE)
    Activation.objects.for_tenant(team.tenant).filter(pk=activation.pk).update(
        status=ActivationStatus.ERROR, last_error="HTTP 500 from the receiver"
    )
    card = htmx(console("viewer"), "get", _base(segment)).content.decode()
    assert 'data-activation-status="error"' in card
    assert "HTTP 500 from the receiver" in card
    assert "Never synced." in card


def test_a_bad_url_is_said_on_the_form_and_nothing_is_added(
    team: Team, console: ConsoleFor, segment: Segment, settings: Any
) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = False
    answer = htmx(console("member"), "post", _base(segment), {"url": "http://example.com/", "secret": "x"})
    assert answer.status_code == 400
    assert "https://" in answer.content.decode()
    assert _stored(team) == []


def test_sync_now_on_a_paused_connector_says_to_activate_it_first(
    team: Team, console: ConsoleFor, segment: Segment
) -> None:
    activation = activation_make(segment)
    answer = htmx(console("member"), "post", f"{_base(segment)}{activation.pk}/sync/")
    assert answer.status_code == 409
    assert "activate it first" in answer.content.decode()


def test_a_viewer_sees_the_card_without_controls_and_may_not_change_it(
    team: Team, console: ConsoleFor, segment: Segment
) -> None:
    activation = activation_make(segment)
    viewer = console("viewer")
    page = viewer.get(f"/t/acme/segments/{segment.pk}/").content.decode()
    assert 'id="activations"' in page
    assert f'data-activation="{activation.pk}"' in page
    assert "Add a webhook connector" not in page
    assert "Sync Now" not in page
    assert ">Activate<" not in page
    assert viewer.post(_base(segment), {"url": RECEIVER, "secret": "x"}).status_code == 403
    assert viewer.post(f"{_base(segment)}{activation.pk}/status/", {"status": "active"}).status_code == 403
    assert viewer.post(f"{_base(segment)}{activation.pk}/sync/").status_code == 403
    assert viewer.post(f"{_base(segment)}{activation.pk}/delete/").status_code == 403
    assert [a.status for a in _stored(team)] == ["inactive"]


def test_an_outsider_and_another_segments_path_get_a_404(
    team: Team, console: ConsoleFor, segment: Segment
) -> None:
    activation = activation_make(segment)
    outsider = console("outsider")
    assert outsider.get(_base(segment)).status_code == 404
    assert outsider.post(f"{_base(segment)}{activation.pk}/status/", {"status": "active"}).status_code == 404
    assert outsider.post(f"{_base(segment)}{activation.pk}/delete/").status_code == 404
    # Under another segment of the same workspace, the activation is not found either.
    other = buyers(team)
    assert console("member").post(f"{_base(other)}{activation.pk}/sync/").status_code == 404
    assert [a.status for a in _stored(team)] == ["inactive"]


def test_delete_removes_the_connector(team: Team, console: ConsoleFor, segment: Segment) -> None:
    activation = activation_make(segment)
    card = htmx(console("member"), "post", f"{_base(segment)}{activation.pk}/delete/").content.decode()
    assert "Activation deleted." in card
    assert _stored(team) == []


def test_a_post_without_the_csrf_token_is_refused(team: Team, segment: Segment) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.member)
    refused = client.post(_base(segment), {"url": RECEIVER, "secret": "x"})
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    page = client.get(f"/t/acme/segments/{segment.pk}/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    added = client.post(
        _base(segment), {"url": RECEIVER, "secret": "x", "csrfmiddlewaretoken": token.group(1).decode()}
    )
    assert added.status_code == 302  # without htmx: back to the segment's page
    assert len(_stored(team)) == 1
