"""Single-event track through the short way (core/fastpath.py): it answers valid secret-key
events exactly as the DRF view does, and hands everything else to the DRF view before writing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from segops_server.accounts.plans import PLANS, Plan, PlanName
from segops_server.audit.models import AuditEvent
from segops_server.core.quotas import per_month_take
from segops_server.ingestion.tests.helpers import TRACK, both_storage_paths, event, stored_events
from segops_server.keys.services import IssuedKey, api_key_revoke
from segops_server.testing.factories import Team
from segops_server.testing.keys import api_key_row, make_api_key
from segops_server.testing.wsgi import Answer, Application

pytestmark = pytest.mark.django_db


def _auth(key: str, **headers: str) -> dict[str, Any]:
    return {"headers": {"Authorization": f"ApiKey {key}", **headers}}


def _same_answer(fast: Answer, django: Answer) -> None:
    assert (fast.status, fast.headers, fast.body) == (django.status, django.headers, django.body)


@both_storage_paths
def test_it_stores_a_valid_event_and_answers_as_the_drf_view(
    team: Team, ingest_key: IssuedKey, autocommit: bool
) -> None:
    app = Application()
    fast = app.fast("POST", TRACK, event("alice", payload={"plan": "pro"}), **_auth(ingest_key.key))
    django = app.django("POST", TRACK, event("alice", payload={"plan": "pro"}), **_auth(ingest_key.key))
    assert fast.served_by == "fast path"
    assert fast.status == 202
    assert fast.json() == {"queued": True}
    assert fast.header("allow") == "POST, OPTIONS"
    assert fast.header("x-content-type-options") == "nosniff"
    _same_answer(fast, django)
    stored = stored_events(team.tenant)
    assert [(e.user_id, e.event_type, e.payload) for e in stored] == [
        ("alice", "page_viewed", {"plan": "pro"})
    ] * 2


def test_it_records_the_keys_last_use(team: Team, ingest_key: IssuedKey) -> None:
    Application().fast("POST", TRACK, event(), **_auth(ingest_key.key), REMOTE_ADDR="203.0.113.8")
    row = api_key_row(ingest_key)
    assert row.last_used_at is not None
    assert row.last_used_ip == "203.0.113.8"


def test_it_acknowledges_a_repeated_message_id_and_stores_it_once(team: Team, ingest_key: IssuedKey) -> None:
    app = Application()
    for _ in range(2):
        answer = app.fast("POST", TRACK, event(message_id="m-1"), **_auth(ingest_key.key))
        assert (answer.served_by, answer.status) == ("fast path", 202)
    assert len(stored_events(team.tenant)) == 1


def _bearer(team: Team) -> dict[str, str]:
    client = team.client("member")
    return {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}  # type: ignore[attr-defined]


# Each case: what the request changes from a valid one. Every one is answered by the DRF view.
DECLINED = {
    "invalid event": ({"body": {"user_id": "u"}}, 400),
    "bad event type": ({"body": event(event_type="Page Viewed")}, 400),
    "not JSON": ({"body": b"{oops"}, 400),
    "a JSON list": ({"body": [event()]}, 400),
    "form content type": ({"content_type": "text/plain"}, 415),
    "names a tenant in the body": ({"body": event(tenant_slug="globex")}, 403),
    "names its own tenant in the body": ({"body": event(tenant_slug="acme")}, 202),
    "names a tenant in a header": ({"headers": {"X-SegOps-Tenant": "globex"}}, 403),
    "a query parameter": ({"query": "?tenant_slug=globex"}, 403),
    "an unknown query parameter": ({"query": "?debug=1"}, 202),
    "no key": ({"headers": {}}, 401),
    "a malformed key": ({"key": "sk_live_nope"}, 401),
    "a key in the URL": ({"query": "?key={key}"}, 401),
    "a malformed ApiKey header": ({"headers": {"Authorization": "ApiKey a b"}}, 401),
    "a body over the limit": ({"CONTENT_LENGTH": "600000"}, 413),
    "a host not allowed": ({"HTTP_HOST": "evil.example"}, 400),
}


@pytest.mark.parametrize("case", DECLINED)
def test_it_hands_anything_unusual_to_the_drf_view_which_answers_as_before(
    team: Team, ingest_key: IssuedKey, case: str
) -> None:
    change, status = DECLINED[case]
    key = change.get("key", ingest_key.key)
    headers = change.get("headers", {"Authorization": f"ApiKey {key}"})
    if change.get("headers"):
        headers = {"Authorization": f"ApiKey {key}", **change["headers"]}
    options = {k: v for k, v in change.items() if k in ("content_type", "CONTENT_LENGTH", "HTTP_HOST")}
    path = TRACK + change.get("query", "").format(key=ingest_key.key)
    body = change.get("body", event())
    app = Application()
    fast = app.fast("POST", path, body, headers=headers, **options)
    before = len(stored_events(team.tenant))
    django = app.django("POST", path, body, headers=headers, **options)
    assert fast.served_by == "django"
    assert fast.status == status, fast.body
    _same_answer(fast, django)
    if status == 202:  # both ways stored it once each
        assert len(stored_events(team.tenant)) == before + 1


def test_it_hands_an_idempotency_key_to_the_drf_view_which_replays_it(
    team: Team, ingest_key: IssuedKey
) -> None:
    app = Application()
    first, again = (
        app.fast("POST", TRACK, event(), **_auth(ingest_key.key, **{"Idempotency-Key": "abc"}))
        for _ in range(2)
    )
    assert [(a.served_by, a.status) for a in (first, again)] == [("django", 202), ("django", 202)]
    assert again.header("idempotent-replayed") == "true"
    assert len(stored_events(team.tenant)) == 1


def test_it_hands_a_persons_token_to_the_drf_view(team: Team) -> None:
    answer = Application().fast("POST", TRACK, event(), headers=_bearer(team))
    assert (answer.served_by, answer.status) == ("django", 401)


def test_it_hands_a_key_without_the_scope_to_the_drf_view(team: Team) -> None:
    reader = make_api_key(team.tenant, scopes=["segments:read"])
    answer = Application().fast("POST", TRACK, event(), **_auth(reader.key))
    assert (answer.served_by, answer.status) == ("django", 403)
    assert "events:write" in answer.json()["detail"]


def test_it_hands_a_public_key_to_the_drf_view(team: Team) -> None:
    public = make_api_key(team.tenant, type="public", allowed_origins=["https://acme.test"])
    answer = Application().fast("POST", TRACK, event(), **_auth(public.key))
    assert (answer.served_by, answer.status) == ("django", 401)


def test_a_revoked_key_is_refused_and_audited_once(team: Team, ingest_key: IssuedKey) -> None:
    api_key_revoke(api_key=ingest_key.api_key, actor=team.owner)
    answer = Application().fast("POST", TRACK, event(), **_auth(ingest_key.key))
    assert (answer.served_by, answer.status) == ("django", 401)
    used = AuditEvent.objects.for_tenant(team.tenant).filter(action="key.used_after_revocation")
    assert used.count() == 1
    assert stored_events(team.tenant) == []


def test_a_tenant_over_its_monthly_events_is_refused_without_being_counted_twice(
    team: Team, ingest_key: IssuedKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PLANS, PlanName.FREE, Plan(events_per_month=2, calls_per_minute=None))
    team.tenant.plan = PlanName.FREE
    team.tenant.save(update_fields=["plan"])
    app = Application()
    answers = [app.fast("POST", TRACK, event(), **_auth(ingest_key.key)) for _ in range(3)]
    assert [(a.served_by, a.status) for a in answers] == [
        ("fast path", 202),
        ("fast path", 202),
        ("django", 429),
    ]
    assert answers[2].header("retry-after") is not None
    assert len(stored_events(team.tenant)) == 2
    # Exactly two were counted: the third, refused twice over, added nothing.
    assert per_month_take(name=f"events:{team.tenant.pk}", amount=1, limit=3) is None
    assert per_month_take(name=f"events:{team.tenant.pk}", amount=1, limit=3) is not None


def test_it_is_off_when_the_setting_is_off(team: Team, ingest_key: IssuedKey) -> None:
    with override_settings(SEGOPS_FAST_PATH=False):
        answer = Application().fast("POST", TRACK, event(), **_auth(ingest_key.key))
    assert (answer.served_by, answer.status) == ("django", 202)
