"""Settings → Webhooks: the list, + Add Webhook with its secret shown once, a webhook's deliveries
with Redeliver, Send test, Pause/Resume and Delete — Member and up, as the API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from segops_server.console.tests.conftest import ConsoleFor, form_token, htmx, signed_in
from segops_server.testing.factories import Team
from segops_server.webhooks.deliveries import delivery_queue
from segops_server.webhooks.models import WEBHOOK_EVENTS, Delivery, DeliveryAttempt, Webhook

LIST = "/t/acme/settings/webhooks/"
NEW = "/t/acme/settings/webhooks/new/"
RECEIVER = "https://93.184.216.34/hooks/segops"
SECRET_RE = re.compile(rb'id="webhook-secret" class="secret" type="text" readonly value="([^"]+)"')


def _webhook(team: Team, **fields: Any) -> Webhook:
    fields.setdefault("url", RECEIVER)
    webhook = Webhook(tenant=team.tenant, secret="whsec_" + "A" * 43 + "=", events=WEBHOOK_EVENTS, **fields)
    webhook.save()
    return webhook


def _deliveries_url(webhook: Webhook) -> str:
    return f"{LIST}{webhook.pk}/deliveries/"


def _add(client: Client, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "url": RECEIVER,
        "events": list(WEBHOOK_EVENTS),
        "form_token": form_token(client.get(NEW).content),
    }
    data.update(fields)
    return client.post(NEW, data)


def test_it_lists_webhooks_with_their_status(team: Team, console: ConsoleFor) -> None:
    _webhook(team, url="https://93.184.216.34/active", description="CRM sync")
    _webhook(team, url="https://93.184.216.34/paused", is_active=False)
    _webhook(
        team, url="https://93.184.216.34/dead", is_active=False, disabled_reason="No success for 24 hours."
    )
    Webhook(tenant=team.other_tenant, url="https://93.184.216.34/globex", secret="x" * 20, events=[]).save()
    html = console("member").get(LIST).content.decode()
    for text in [
        "/active",
        "CRM sync",
        "/paused",
        "Paused",
        "Disabled",
        "No success for 24 hours.",
        "Active",
        "never",
    ]:
        assert text in html, text
    assert "globex" not in html
    assert "whsec_" not in html


def test_it_adds_a_webhook_and_shows_its_secret_once(team: Team, console: ConsoleFor) -> None:
    member = console("member")
    response = _add(member, description="CRM sync", events=["segment.membership_changed"])
    assert response.status_code == 201, response.content.decode()
    match = SECRET_RE.search(response.content)
    assert match is not None
    secret = match.group(1).decode()
    assert "you will not see it again" in response.content.decode()
    assert 'data-copy="webhook-secret"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    row = Webhook.objects.for_tenant(team.tenant).get()
    assert row.secret == secret
    assert secret.startswith("whsec_")
    assert row.events == ["segment.membership_changed"]
    assert row.created_by == team.member
    assert secret not in member.get(LIST).content.decode()
    assert secret not in member.get(_deliveries_url(row)).content.decode()


def test_a_resent_form_adds_nothing_twice(team: Team, console: ConsoleFor) -> None:
    member = console("member")
    token = form_token(member.get(NEW).content)
    data = {"url": RECEIVER, "events": list(WEBHOOK_EVENTS), "form_token": token}
    assert member.post(NEW, data).status_code == 201
    again = member.post(NEW, data)
    assert again.status_code == 302
    assert Webhook.objects.for_tenant(team.tenant).count() == 1


def test_it_refuses_a_private_url_on_the_form(team: Team, console: ConsoleFor, settings: Any) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = False
    response = _add(console("member"), url="https://127.0.0.1/hook")
    assert response.status_code == 400
    assert "loopback" in response.content.decode()
    assert Webhook.objects.for_tenant(team.tenant).count() == 0


def test_send_test_queues_a_ping_shown_in_the_deliveries(team: Team, console: ConsoleFor) -> None:
    webhook = _webhook(team)
    member = console("member")
    response = member.post(f"{LIST}{webhook.pk}/test/", follow=True)
    assert response.status_code == 200
    delivery = Delivery.objects.for_tenant(team.tenant).get()
    assert delivery.event == "ping"
    assert delivery.webhook_id == webhook.pk
    html = response.content.decode()
    assert "test ping is queued" in html
    assert delivery.message_id in html
    assert "Pending" in html


def test_the_deliveries_show_attempts_and_redeliver_queues_one_again(team: Team, console: ConsoleFor) -> None:
    webhook = _webhook(team)
    delivery = delivery_queue(
        tenant_id=team.tenant.pk, event="ping", payload={"event": "ping"}, webhook_id=webhook.pk
    )
    DeliveryAttempt(
        tenant=team.tenant,
        delivery=delivery,
        number=1,
        at=delivery.created_at,
        status_code=503,
        duration_ms=40,
        response="receiver-down-zebra",
    ).save()
    Delivery.objects.for_tenant(team.tenant).filter(pk=delivery.pk).update(
        status="failed",
        attempt_count=1,
        last_status_code=503,
        next_attempt_at=None,
        finished_at=delivery.created_at,
    )
    member = console("member")
    html = member.get(_deliveries_url(webhook)).content.decode()
    for text in ["Failed", "HTTP 503", "receiver-down-zebra", "40 ms", f"Redeliver delivery {delivery.pk}"]:
        assert text in html, text
    response = member.post(f"{_deliveries_url(webhook)}{delivery.pk}/redeliver/", follow=True)
    assert "is queued again" in response.content.decode()
    row = Delivery.objects.for_tenant(team.tenant).get()
    assert (row.status, row.attempt_count, row.finished_at) == ("pending", 0, None)
    assert DeliveryAttempt.objects.for_tenant(team.tenant).count() == 1


def test_pause_and_resume(team: Team, console: ConsoleFor) -> None:
    webhook = _webhook(team, disabled_reason="", is_active=True)
    member = console("member")
    url = f"{LIST}{webhook.pk}/active/"
    assert "Pause" in member.get(_deliveries_url(webhook)).content.decode()
    member.post(url, {"is_active": "false"})
    webhook.refresh_from_db()
    assert webhook.is_active is False
    assert "Resume" in member.get(_deliveries_url(webhook)).content.decode()
    Webhook.objects.for_tenant(team.tenant).update(disabled_reason="Failing for 24 hours.")
    member.post(url, {"is_active": "true"})
    webhook.refresh_from_db()
    assert webhook.is_active is True
    assert webhook.disabled_reason == ""
    member.post(url, {"is_active": "maybe"})
    webhook.refresh_from_db()
    assert webhook.is_active is True


def test_delete_asks_first_then_deletes(team: Team, console: ConsoleFor) -> None:
    webhook = _webhook(team)
    member = console("member")
    dialog = htmx(member, "get", f"{LIST}{webhook.pk}/delete/")
    assert dialog.status_code == 200
    assert b"<dialog" in dialog.content
    assert Webhook.objects.for_tenant(team.tenant).count() == 1
    response = member.post(f"{LIST}{webhook.pk}/delete/", follow=True)
    assert "is deleted" in response.content.decode()
    assert Webhook.objects.for_tenant(team.tenant).count() == 0


def test_members_see_the_settings_link_and_viewers_do_not(team: Team, console: ConsoleFor) -> None:
    assert f'href="{LIST}"' in console("member").get("/t/acme/settings/team/").content.decode()
    assert f'href="{LIST}"' not in console("viewer").get("/t/acme/settings/team/").content.decode()


@pytest.mark.parametrize("path", ["", "new/", "{id}/deliveries/", "{id}/delete/"])
def test_a_viewer_gets_403_and_an_outsider_404(team: Team, console: ConsoleFor, path: str) -> None:
    webhook = _webhook(team)
    url = LIST + path.format(id=webhook.pk)
    assert console("viewer").get(url).status_code == 403
    assert console("outsider").get(url).status_code == 404
    at_home = url.replace("/t/acme/", f"/t/{team.other_tenant.slug}/")
    if "{id}" in path:
        assert console("outsider").get(at_home).status_code == 404


@pytest.mark.parametrize("action", ["test/", "active/", "delete/"])
def test_viewers_and_outsiders_change_nothing(team: Team, console: ConsoleFor, action: str) -> None:
    webhook = _webhook(team)
    url = f"{LIST}{webhook.pk}/{action}"
    assert console("viewer").post(url, {"is_active": "false"}).status_code == 403
    assert console("outsider").post(url, {"is_active": "false"}).status_code == 404
    webhook.refresh_from_db()
    assert webhook.is_active is True
    assert Delivery.objects.for_tenant(team.tenant).count() == 0


def test_a_post_without_the_csrf_token_is_refused(team: Team) -> None:
    webhook = _webhook(team)
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.member)
    response = client.post(f"{LIST}{webhook.pk}/test/")
    assert response.status_code == 403
    assert Delivery.objects.for_tenant(team.tenant).count() == 0
    page = client.get(_deliveries_url(webhook))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    sent = client.post(f"{LIST}{webhook.pk}/test/", {"csrfmiddlewaretoken": token.group(1).decode()})
    assert sent.status_code == 302
    assert Delivery.objects.for_tenant(team.tenant).count() == 1


def test_a_signed_out_visitor_is_sent_to_sign_in(team: Team) -> None:
    response = Client().get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")
    assert signed_in(team.member).get(LIST).status_code == 200
