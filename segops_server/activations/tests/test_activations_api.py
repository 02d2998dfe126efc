"""/api/activations/: create (inactive, secrets masked), read, change, delete, Sync now, the log."""

from __future__ import annotations

from typing import Any

import pytest

from segops_server.activations.models import Activation, ActivationStatus, ActivationSync
from segops_server.activations.services import MAX_PER_SEGMENT
from segops_server.activations.tests.helpers import RECEIVER, activation_make, buyers, compute, orders
from segops_server.audit.models import AuditEvent
from segops_server.segments.models import Segment
from segops_server.testing.factories import Team
from segops_server.testing.keys import key_client, make_api_key
from segops_server.webhooks.models import Delivery

pytestmark = pytest.mark.django_db

CONFIG = {"url": RECEIVER, "secret": "s3cret-value"}


def _create(team: Team, on: Segment, who: str = "member", **body: Any) -> Any:
    sent = {"segment": on.pk, "connector_type": "webhook", "config": CONFIG, **body}
    return team.client(who).post("/api/activations/", sent, format="json")


def _stored(activation_id: int, team: Team) -> Activation:
    return Activation.objects.for_tenant(team.tenant).get(pk=activation_id)


def _deliveries(team: Team) -> list[Delivery]:
    return list(Delivery.objects.for_tenant(team.tenant).order_by("id"))


def test_it_creates_an_inactive_activation_with_its_secret_masked(team: Team) -> None:
    segment = buyers(team)
    created = _create(team, segment, status="active")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "inactive"
    assert body["config"] == {"url": RECEIVER, "secret": "***"}
    assert body["segment"] == segment.pk
    assert body["connector_type"] == "webhook"
    assert body["last_synced_at"] is None
    assert body["last_error"] == ""
    assert body["last_sync"] is None
    assert _stored(body["id"], team).config == CONFIG
    assert team.client("viewer").get(f"/api/activations/{body['id']}/").json()["config"]["secret"] == "***"
    audit = AuditEvent.objects.for_tenant(team.tenant).filter(action="activation.created").get()
    assert audit.detail["activation_id"] == body["id"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"connector_type": "klaviyo"}, "connector_type", "not available in this installation"),
        ({"connector_type": "braze"}, "connector_type", "not available in this installation"),
        ({"connector_type": "talonone"}, "connector_type", "not available in this installation"),
        ({"connector_type": "mailchimp"}, "connector_type", "not a valid choice"),
        ({"config": {"url": RECEIVER}}, "config", "secret"),
        ({"config": {"url": RECEIVER, "secret": 7}}, "config", "secret"),
        ({"config": {"secret": "x"}}, "config", "url"),
        ({"config": {**CONFIG, "extra": 1}}, "config", "Unknown setting extra"),
        ({"config": "https://example.com"}, "config", "object"),
        ({"config": {**CONFIG, "url": "ftp://example.com/"}}, "config", "http"),
        ({"segment": 999_999}, "segment", "No segment"),
        ({"segment": "abc"}, "segment", "integer"),
    ],
)
def test_it_refuses_bad_input_with_a_400_naming_the_field(
    team: Team, body: dict[str, Any], field: str, words: str
) -> None:
    answer = _create(team, buyers(team), **body)
    assert answer.status_code == 400, answer.content
    assert words in " ".join(answer.json()[field])
    assert not Activation.objects.for_tenant(team.tenant).exists()


def test_it_refuses_http_and_private_addresses_unless_the_installation_allows_them(
    team: Team, settings: Any
) -> None:
    settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS = False
    segment = buyers(team)
    plain = _create(team, segment, config={**CONFIG, "url": "http://example.com/hook"})
    assert plain.status_code == 400
    assert "https" in plain.json()["config"][0]
    loopback = _create(team, segment, config={**CONFIG, "url": "https://127.0.0.1/hook"})
    assert loopback.status_code == 400
    assert "loopback" in loopback.json()["config"][0]


def test_another_tenants_segment_is_a_400_and_its_activations_are_404(team: Team) -> None:
    theirs = Segment(tenant=team.other_tenant, name="Theirs")
    theirs.save()
    answer = _create(team, theirs)
    assert answer.status_code == 400
    assert answer.json() == {"segment": ["No segment with this id in this workspace."]}
    activation = activation_make(theirs)
    for method in ("get", "patch", "delete"):
        assert getattr(team.client("owner"), method)(f"/api/activations/{activation.pk}/").status_code == 404
    assert team.client("owner").post(f"/api/activations/{activation.pk}/sync/").status_code == 404
    assert team.client("owner").get(f"/api/activations/{activation.pk}/syncs/").status_code == 404
    assert team.client("owner").get("/api/activations/").json()["count"] == 0


def test_it_limits_the_activations_of_one_segment(team: Team) -> None:
    segment = buyers(team)
    for _ in range(MAX_PER_SEGMENT):
        activation_make(segment)
    answer = _create(team, segment)
    assert answer.status_code == 400
    assert str(MAX_PER_SEGMENT) in answer.json()["segment"][0]


def test_it_lists_in_the_page_envelope_filtered_by_segment(team: Team) -> None:
    one, two = buyers(team), buyers(team)
    first, second = activation_make(one), activation_make(two)
    everything = team.client("viewer").get("/api/activations/").json()
    assert set(everything) == {"count", "next", "previous", "results"}
    assert [a["id"] for a in everything["results"]] == [second.pk, first.pk]
    assert {a["config"]["secret"] for a in everything["results"]} == {"***"}
    only = team.client("viewer").get(f"/api/activations/?segment={one.pk}").json()
    assert [a["id"] for a in only["results"]] == [first.pk]
    assert team.client("viewer").get("/api/activations/?segment=x").status_code == 400


def test_a_patch_of_the_config_keeps_a_masked_secret_and_changes_the_rest(team: Team) -> None:
    activation = activation_make(buyers(team))
    url = f"/api/activations/{activation.pk}/"
    changed = team.client("member").patch(
        url, {"config": {"url": "http://127.0.0.1:10/new", "secret": "***"}}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["config"] == {"url": "http://127.0.0.1:10/new", "secret": "***"}
    assert _stored(activation.pk, team).config == {"url": "http://127.0.0.1:10/new", "secret": "s3cret-value"}
    team.client("member").patch(url, {"config": {"url": RECEIVER, "secret": "fresh"}}, format="json")
    assert _stored(activation.pk, team).config["secret"] == "fresh"
    assert AuditEvent.objects.for_tenant(team.tenant).filter(action="activation.changed").count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "error"}, "status"),
        ({"status": "on"}, "status"),
        ({"connector_type": "braze"}, "connector_type"),
        ({"segment": 999_999}, "segment"),
        ({"config": {"url": RECEIVER}}, "config"),
    ],
)
def test_a_patch_refuses_what_a_client_cannot_set(team: Team, body: dict[str, Any], field: str) -> None:
    activation = activation_make(buyers(team))
    answer = team.client("member").patch(f"/api/activations/{activation.pk}/", body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()
    assert _stored(activation.pk, team).status == "inactive"


def test_activating_a_computed_segment_sends_every_member_at_once(team: Team) -> None:
    orders(team, ann=1, bob=1)
    segment = compute(buyers(team))
    activation = activation_make(segment, synced_generation=7)
    answer = team.client("member").patch(
        f"/api/activations/{activation.pk}/", {"status": "active"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "active"
    assert body["last_sync"]["kind"] == "full"
    assert body["last_sync"]["entered"] == 2
    assert body["last_sync"]["status"] == "running"
    [delivery] = _deliveries(team)
    assert delivery.users == {"entered": ["ann", "bob"], "exited": []}
    assert delivery.payload == {
        "event": "activation.sync",
        "activation_id": activation.pk,
        "segment_id": segment.pk,
    }
    assert (delivery.activation_id, delivery.sync_id) == (activation.pk, body["last_sync"]["id"])
    assert _stored(activation.pk, team).synced_generation == segment.generation
    # Active already: nothing more is queued.
    team.client("member").patch(f"/api/activations/{activation.pk}/", {"status": "active"}, format="json")
    assert len(_deliveries(team)) == 1


def test_activating_a_segment_never_computed_queues_nothing_and_pausing_stops(team: Team) -> None:
    activation = activation_make(buyers(team), synced_generation=3)
    url = f"/api/activations/{activation.pk}/"
    assert team.client("member").patch(url, {"status": "active"}, format="json").json()["last_sync"] is None
    assert _stored(activation.pk, team).synced_generation is None
    assert _deliveries(team) == []
    paused = team.client("member").patch(url, {"status": "inactive"}, format="json")
    assert paused.json()["status"] == "inactive"


def test_sync_now_sends_every_member_and_logs_it(team: Team) -> None:
    orders(team, ann=1, bob=1, cat=1)
    segment = compute(buyers(team))
    activation = activation_make(
        segment, status=ActivationStatus.ACTIVE, synced_generation=segment.generation
    )
    answer = team.client("member").post(f"/api/activations/{activation.pk}/sync/")
    assert answer.status_code == 202, answer.content
    sync = answer.json()
    assert (sync["kind"], sync["generation"], sync["entered"], sync["exited"]) == ("full", 1, 3, 0)
    assert (sync["batches"], sync["batches_done"], sync["status"]) == (1, 0, "running")
    assert _deliveries(team)[0].users == {"entered": ["ann", "bob", "cat"], "exited": []}
    log = team.client("viewer").get(f"/api/activations/{activation.pk}/syncs/").json()
    assert log["count"] == 1
    assert log["results"][0] == sync
    again = team.client("member").post(f"/api/activations/{activation.pk}/sync/").json()
    assert [
        s["id"]
        for s in team.client("viewer").get(f"/api/activations/{activation.pk}/syncs/").json()["results"]
    ] == [
        again["id"],
        sync["id"],
    ]


def test_sync_now_is_a_409_when_paused_or_never_computed(team: Team) -> None:
    orders(team, ann=1)
    segment = buyers(team)
    active = activation_make(segment, status=ActivationStatus.ACTIVE)
    never = team.client("member").post(f"/api/activations/{active.pk}/sync/")
    assert never.status_code == 409
    assert "not been computed" in never.json()["detail"]
    compute(segment)
    paused = activation_make(segment)
    refused = team.client("member").post(f"/api/activations/{paused.pk}/sync/")
    assert refused.status_code == 409
    assert "activate it first" in refused.json()["detail"]
    assert not ActivationSync.objects.for_tenant(team.tenant).filter(activation=paused).exists()


def test_delete_removes_it_with_its_log_and_unsent_batches(team: Team) -> None:
    orders(team, ann=1)
    segment = compute(buyers(team))
    activation = activation_make(segment, status=ActivationStatus.ACTIVE)
    team.client("member").post(f"/api/activations/{activation.pk}/sync/")
    assert team.client("member").delete(f"/api/activations/{activation.pk}/").status_code == 204
    assert not Activation.objects.for_tenant(team.tenant).exists()
    assert not ActivationSync.objects.for_tenant(team.tenant).exists()
    assert _deliveries(team) == []
    assert AuditEvent.objects.for_tenant(team.tenant).filter(action="activation.deleted").count() == 1


def test_viewers_and_read_keys_read_while_writes_need_a_member_or_webhooks_write(team: Team) -> None:
    segment = buyers(team)
    activation = activation_make(segment)
    assert team.client("viewer").get(f"/api/activations/{activation.pk}/").status_code == 200
    assert _create(team, segment, who="viewer").status_code == 403
    reader = key_client(make_api_key(team.tenant, scopes=["segments:read", "segments:write"]).key)
    assert reader.get("/api/activations/").status_code == 200
    refused = reader.post(
        "/api/activations/",
        {"segment": segment.pk, "connector_type": "webhook", "config": CONFIG},
        format="json",
    )
    assert refused.status_code == 403
    assert "webhooks:write" in refused.json()["detail"]
    writer = key_client(make_api_key(team.tenant, scopes=["webhooks:write"]).key)
    created = writer.post(
        "/api/activations/",
        {"segment": segment.pk, "connector_type": "webhook", "config": CONFIG},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert writer.get("/api/activations/").status_code == 403  # reading needs segments:read
