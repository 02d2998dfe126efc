"""/api/webhooks/: create (secret shown once), list, read, change, delete; who may; the limits."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.audit.models import AuditEvent
from segops_server.core.models import IdempotentResponse
from segops_server.segments.definitions.services import segment_create
from segops_server.testing.factories import Team, client_for, make_tenant
from segops_server.testing.keys import key_client, make_api_key
from segops_server.webhooks.models import WEBHOOK_EVENTS, Webhook
from segops_server.webhooks.services import MAX_WEBHOOKS_PER_TENANT

URL = "/api/webhooks/"
RECEIVER = "https://93.184.216.34/hooks/segops"  # a public address: nothing to resolve
DEFINITION = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1}],
}


def _create(team: Team, who: str = "member", **body: Any) -> Any:
    return team.client(who).post(URL, {"url": RECEIVER, **body}, format="json")


def _row(team: Team, webhook_id: int) -> Webhook:
    return Webhook.objects.for_tenant(team.tenant).get(pk=webhook_id)


def test_it_creates_a_webhook_with_a_generated_secret_shown_once(team: Team) -> None:
    created = _create(team, description="CRM sync")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["secret"] == _row(team, body["id"]).secret
    assert created["Cache-Control"] == "no-store"
    assert body["events"] == WEBHOOK_EVENTS
    assert body["segment_ids"] is None
    assert body["is_active"] is True
    assert body["description"] == "CRM sync"
    assert body["failing_since"] is None
    assert body["last_success_at"] is None
    assert body["disabled_reason"] == ""
    for answer in (
        team.client("member").get(f"{URL}{body['id']}/"),
        team.client("member").get(URL),
        team.client("member").patch(f"{URL}{body['id']}/", {"description": "x"}, format="json"),
    ):
        assert answer.status_code == 200
        assert "secret" not in answer.content.decode()
    assert team.client("member").get(URL).json()["results"][0]["id"] == body["id"]


def test_it_keeps_a_secret_given_and_never_shows_it_back(team: Team) -> None:
    created = _create(team, secret="my-own-passphrase-123")
    assert created.status_code == 201
    assert created.json()["secret"] == "my-own-passphrase-123"
    assert _row(team, created.json()["id"]).secret == "my-own-passphrase-123"


@pytest.mark.parametrize(
    ("secret", "words"),
    [("short", "at least 16"), ("has a space in it ok", "spaces"), ("whsec_***not-base64***", "base64")],
)
def test_it_refuses_a_weak_or_malformed_secret(team: Team, secret: str, words: str) -> None:
    answer = _create(team, secret=secret)
    assert answer.status_code == 400
    assert words in " ".join(answer.json()["secret"])


def test_it_answers_409_to_a_retried_creation_without_the_secret(team: Team) -> None:
    client = team.client("member")
    first = client.post(URL, {"url": RECEIVER}, format="json", HTTP_IDEMPOTENCY_KEY="wh-1")
    again = client.post(URL, {"url": RECEIVER}, format="json", HTTP_IDEMPOTENCY_KEY="wh-1")
    assert first.status_code == 201
    assert again.status_code == 409
    assert f"webhook {first.json()['id']}" in again.json()["detail"]
    assert first.json()["secret"] not in again.content.decode()
    assert again["Cache-Control"] == "no-store"
    stored = " ".join(str(b) for b in IdempotentResponse.objects.values_list("body", flat=True))
    assert first.json()["secret"] not in stored
    assert Webhook.objects.for_tenant(team.tenant).count() == 1


def test_it_filters_by_events_and_segments(team: Team) -> None:
    segment = segment_create(tenant=team.tenant, actor=team.owner, name="Buyers", definition=DEFINITION)
    created = _create(team, events=["segment.membership_changed"], segment_ids=[segment.pk, segment.pk])
    assert created.status_code == 201, created.content
    assert created.json()["events"] == ["segment.membership_changed"]
    assert created.json()["segment_ids"] == [segment.pk]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "events"),
        ({"events": ["segment.deleted"]}, "events"),
        ({"segment_ids": []}, "segment_ids"),
        ({"segment_ids": ["abc"]}, "segment_ids"),
        ({"segment_ids": [1, 0]}, "segment_ids"),
        ({"url": ""}, "url"),
        ({"url": "not a url"}, "url"),
        ({"description": "x" * 501}, "description"),
    ],
)
def test_it_refuses_bad_fields(team: Team, body: dict[str, Any], field: str) -> None:
    answer = _create(team, **body)
    assert answer.status_code == 400
    errors = answer.json()[field]
    assert isinstance(errors, list)  # the one field-error shape, items' errors included
    assert all(isinstance(message, str) for message in errors)
    assert Webhook.objects.for_tenant(team.tenant).count() == 0


def test_it_names_the_unknown_segments_and_treats_another_tenants_as_unknown(team: Team) -> None:
    theirs = segment_create(
        tenant=team.other_tenant, actor=team.outsider, name="Theirs", definition=DEFINITION
    )
    answer = _create(team, segment_ids=[theirs.pk, 999999])
    assert answer.status_code == 400
    message = answer.json()["segment_ids"][0]
    assert str(theirs.pk) in message
    assert "999999" in message


def test_it_changes_fields_and_audits_what_changed(team: Team) -> None:
    webhook_id = _create(team).json()["id"]
    changed = team.client("member").patch(
        f"{URL}{webhook_id}/",
        {"description": "new", "events": ["segment.recomputed"], "secret": "a-new-secret-of-enough-length"},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["events"] == ["segment.recomputed"]
    assert "secret" not in changed.json()
    assert _row(team, webhook_id).secret == "a-new-secret-of-enough-length"
    actions = list(AuditEvent.objects.for_tenant(team.tenant).values_list("action", "detail"))
    assert tuple(a for a, _ in actions if a.startswith("webhook.")) == ("webhook.created", "webhook.changed")
    changed_detail = next(d for a, d in actions if a == "webhook.changed")
    assert changed_detail["changed"] == ["description", "events", "secret"]
    assert "a-new-secret" not in str(actions)


def test_resuming_forgets_why_it_was_disabled(team: Team) -> None:
    webhook_id = _create(team).json()["id"]
    row = _row(team, webhook_id)
    row.is_active = False
    row.disabled_reason = "Every delivery failed for 24 hours."
    row.failing_since = row.created_at
    row.save()
    paused = team.client("member").get(f"{URL}{webhook_id}/").json()
    assert paused["disabled_reason"]
    assert paused["failing_since"]
    resumed = team.client("member").patch(f"{URL}{webhook_id}/", {"is_active": True}, format="json").json()
    assert resumed["is_active"] is True
    assert resumed["disabled_reason"] == ""
    assert resumed["failing_since"] is None


def test_it_deletes_and_audits(team: Team) -> None:
    webhook_id = _create(team).json()["id"]
    deleted = team.client("member").delete(f"{URL}{webhook_id}/")
    assert deleted.status_code == 204
    assert team.client("member").get(f"{URL}{webhook_id}/").status_code == 404
    assert AuditEvent.objects.for_tenant(team.tenant).filter(action="webhook.deleted").count() == 1


def test_it_allows_at_most_the_limit_per_tenant(team: Team) -> None:
    for _ in range(MAX_WEBHOOKS_PER_TENANT):
        Webhook(tenant=team.tenant, url=RECEIVER, secret="s" * 20, events=WEBHOOK_EVENTS).save()
    answer = _create(team)
    assert answer.status_code == 400
    assert f"at most {MAX_WEBHOOKS_PER_TENANT} webhooks" in answer.json()["detail"]


@pytest.mark.parametrize("who", ["member", "admin", "owner"])
def test_members_and_up_may_manage_webhooks(team: Team, who: str) -> None:
    assert _create(team, who).status_code == 201
    assert team.client(who).get(URL).status_code == 200


def test_a_viewer_may_not_even_list_them(team: Team) -> None:
    webhook_id = _create(team).json()["id"]
    viewer = team.client("viewer")
    assert viewer.get(URL).status_code == 403
    assert viewer.get(f"{URL}{webhook_id}/").status_code == 403
    assert viewer.post(URL, {"url": RECEIVER}, format="json").status_code == 403
    assert viewer.delete(f"{URL}{webhook_id}/").status_code == 403


def test_keys_need_the_webhooks_write_scope(team: Team) -> None:
    allowed = key_client(make_api_key(team.tenant, scopes=["webhooks:write"]).key)
    created = allowed.post(URL, {"url": RECEIVER}, format="json")
    assert created.status_code == 201
    assert allowed.get(URL).status_code == 200
    event = AuditEvent.objects.for_tenant(team.tenant).get(action="webhook.created")
    assert event.api_key_id is not None
    assert event.actor_id is None
    segments_key = key_client(make_api_key(team.tenant, scopes=["segments:read", "segments:write"]).key)
    for answer in (
        segments_key.get(URL),
        segments_key.get(f"{URL}{created.json()['id']}/"),
        segments_key.post(URL, {"url": RECEIVER}, format="json"),
    ):
        assert answer.status_code == 403
        assert "webhooks:write" in answer.json()["detail"]


def test_another_tenants_webhook_is_not_found(team: Team) -> None:
    webhook_id = _create(team).json()["id"]
    outsider = client_for(team.outsider, team.other_tenant)
    for answer in (
        outsider.get(f"{URL}{webhook_id}/"),
        outsider.patch(f"{URL}{webhook_id}/", {"description": "pwned"}, format="json"),
        outsider.delete(f"{URL}{webhook_id}/"),
        outsider.get(f"{URL}{webhook_id}/deliveries/"),
        outsider.post(f"{URL}{webhook_id}/test/"),
    ):
        assert answer.status_code == 404
    assert outsider.get(URL).json()["count"] == 0
    assert client_for(team.outsider, team.tenant).get(URL).status_code == 404
    assert _row(team, webhook_id).description == ""


def test_a_webhook_id_names_its_tenant(team: Team) -> None:
    """A person in two tenants need not name the tenant for /api/webhooks/<id>/."""
    webhook_id = _create(team).json()["id"]
    make_tenant("second", owner=team.member)  # the member now belongs to two tenants
    client = client_for(team.member)  # names no tenant
    assert client.get(f"{URL}{webhook_id}/").status_code == 200
    assert client.post(f"{URL}{webhook_id}/test/").status_code == 202
    assert client.get(URL).status_code == 400  # a list names no object: which tenant is ambiguous
