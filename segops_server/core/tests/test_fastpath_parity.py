"""Parity by property: every request to a short-way route (core/fastpath.py) gets the same answer
and leaves the same rows whether the short way is on or off.

Hypothesis builds requests to single-event track and to the delivery API from credentials of every
kind, the headers the full path reads (Accept, Content-Type, Content-Encoding, X-SegOps-Tenant,
Idempotency-Key, X-Request-Id, Origin, Cookie, an unknown one), bodies valid and not, and query
strings. Each request is sent twice from the same database state: once through the application
as served (the short way first, Django for what it declines) and once through Django alone. Each
send runs in a savepoint that is rolled back, with the process's own state (quota leases, the
key cache, Django's cache) cleared before it, so both start alike; what each stored is the
difference of the rows before and after it.

Compared: status, every header and the body, byte for byte, except
- X-Request-Id: each answer has its own; testing/wsgi.py compares only that it is well formed
  (or, when the client sent a malformed one, what is sent back);
- the value and expiry time of a csrftoken cookie Django sets (when a request carries a malformed
  one): a new random secret each time, and a date from the clock; that it is set, and its other
  attributes, are compared;
- the seconds in Retry-After (a quota reached): counted down from the clock to the window's end;
- the rows' ids and times (primary keys, created/received/last-used times) and the window in a
  quota counter's key: they come from the sequence and the clock, so a time is compared only as
  set or not set.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import models, transaction
from django.test import override_settings
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from segops_server.accounts.models import Tenant
from segops_server.accounts.plans import PLANS, PlanName
from segops_server.accounts.tokens import token_pair_issue
from segops_server.core.models import QuotaCounter
from segops_server.core.quotas import leases_clear
from segops_server.keys import cache as key_cache
from segops_server.keys.models import KeyType
from segops_server.keys.services import api_key_revoke
from segops_server.keys.sessions import session_token_mint
from segops_server.schemas.services import schema_create
from segops_server.segments.tests.test_segments_api import _create, _history
from segops_server.testing.factories import Team
from segops_server.testing.keys import make_api_key
from segops_server.testing.wsgi import Answer, Application

TRACK = "/api/ingestion/track/"
MEMBERSHIP = "/api/segments/membership/"

# The apps whose rows a request to these routes may write (events and what follows them, quota
# counters, idempotency records, audit entries, the key's last use, event schemas' counts).
_WATCHED_APPS = ("ingestion", "core", "audit", "keys", "segments", "accounts", "schemas")


# A quota counter's key ends in its window ("calls:7:m29412345", "events:7:202611"): two sends of
# one request may fall either side of a minute's end.
_WINDOW = re.compile(r":m?\d+$")


def _rows() -> Counter[str]:
    """Every watched row as text, its id and times reduced to what is comparable."""
    found: Counter[str] = Counter()
    for model in apps.get_models():
        if model._meta.app_label not in _WATCHED_APPS:
            continue
        fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.name == "key"]
        manager = getattr(model.objects, "unscoped_all_tenants", None)
        queryset = manager() if manager is not None else model._default_manager.all()
        for row in queryset.values(*[f.attname for f in fields]):
            comparable = {}
            for field in fields:
                value = row[field.attname]
                if isinstance(field, models.DateTimeField | models.DateField):
                    value = value is not None  # the clock's, not the request's
                elif isinstance(field, models.ForeignKey | models.AutoField) and field.name != "tenant":
                    value = value is not None  # ids of rows the request wrote come from a sequence
                elif model is QuotaCounter and field.name == "key":
                    value = _WINDOW.sub(":<window>", value)  # the minute or month the clock is in
                comparable[field.name] = value
            found[f"{model._meta.label}: {json.dumps(comparable, sort_keys=True, default=str)}"] += 1
    return found


def _fresh_process_state() -> None:
    cache.clear()
    leases_clear()
    key_cache.clear()


def _quota_set(tenant: Tenant, quota: str) -> None:
    """The tenant's plan, and its allowance used up when `quota` says so (this window and the
    next, should the clock turn between the two sends)."""
    plan = PlanName.ENTERPRISE if quota == "unlimited" else PlanName.FREE
    Tenant.objects.filter(pk=tenant.pk).update(plan=plan)
    limits = PLANS[PlanName.FREE]
    now = time.time()
    minute = int(now // 60)
    month = datetime.fromtimestamp(now, tz=UTC)
    next_month = (month.replace(day=28) + timedelta(days=4)).strftime("%Y%m")
    used_up = {
        "calls used up": [(f"calls:{tenant.pk}:m{w}", limits.calls_per_minute) for w in (minute, minute + 1)],
        "events used up": [
            (f"events:{tenant.pk}:{m}", limits.events_per_month) for m in (f"{month:%Y%m}", next_month)
        ],
    }
    for key, used in used_up.get(quota, []):
        QuotaCounter.objects.create(key=key, used=used, expires_at=month + timedelta(days=60))


def _send(
    call: Any, tenant: Tenant, quota: str, method: str, path: str, body: Any, **options: Any
) -> tuple[Answer, Counter[str]]:
    """The answer and the rows it added (+) and removed (-), then everything rolled back."""
    _fresh_process_state()
    with transaction.atomic():
        _quota_set(tenant, quota)
        before = _rows()
        answer = call(method, path, body, **options)
        after = _rows()
        transaction.set_rollback(True)
    diff = Counter(after)
    diff.subtract(before)
    return answer, Counter({k: v for k, v in diff.items() if v})


_CSRF_COOKIE = re.compile(r"csrftoken=[A-Za-z0-9]+;")
_EXPIRES = re.compile(r"expires=[^;]+;")
_AVAILABLE_IN = re.compile(rb"available in \d+ seconds?")


def _comparable(answer: Answer) -> Answer:
    """The answer without the csrftoken cookie's random value, a cookie's expiry time or the
    seconds Retry-After (and a 429's message, and so its length) counts."""
    headers = [
        (k, _EXPIRES.sub("expires=<clock>;", _CSRF_COOKIE.sub("csrftoken=<random>;", v)))
        if k == "set-cookie"
        else (k, v)
        for k, v in answer.headers
    ]
    headers = [(k, "<clock>") if k == "retry-after" else (k, v) for k, v in headers]
    body = _AVAILABLE_IN.sub(b"available in <clock> seconds", answer.body)
    if body != answer.body:  # "9 seconds" and "10 seconds" differ in length too
        headers = [(k, "<clock>") if k == "content-length" else (k, v) for k, v in headers]
    return dataclasses.replace(answer, headers=headers, body=body)


class Credentials:
    """One of every kind, all for acme unless named otherwise."""

    def __init__(self, team: Team) -> None:
        tenant = team.tenant
        self.values: dict[str, str | None] = {
            "none": None,
            "every scope": f"ApiKey {make_api_key(tenant, name='All').key}",
            "events:write only": f"ApiKey {make_api_key(tenant, scopes=['events:write']).key}",
            "segments:read only": f"ApiKey {make_api_key(tenant, scopes=['segments:read']).key}",
            "no scope": f"ApiKey {make_api_key(tenant, scopes=[]).key}",
            "malformed": "ApiKey sk_live_nope",
            "two words": "ApiKey a b",
            "unknown scheme": "Basic dXNlcjpwYXNz",
            "person's JWT": f"Bearer {token_pair_issue(user=team.member)['access']}",
            "malformed bearer": "Bearer not-a-token",
            "outsider's key": f"ApiKey {make_api_key(team.other_tenant).key}",
        }
        revoked = make_api_key(tenant, name="Revoked")
        api_key_revoke(api_key=revoked.api_key, actor=None)
        self.values["revoked"] = f"ApiKey {revoked.key}"
        public = make_api_key(tenant, name="Browser", type=KeyType.PUBLIC, scopes=["events:write"])
        self.values["public key"] = f"ApiKey {public.key}"
        session = session_token_mint(key=public.api_key, user_id="u-1", anonymous_id=None)
        self.values["pk_ session token"] = f"Bearer {session}"
        # The same secret key in the other header keys are read from (keys/authentication.py).
        self.x_api_key = make_api_key(tenant, name="Header").key


_EVENT_TYPES = st.sampled_from(["page_viewed", "order_placed", "page_viewed", "Page Viewed", ""])
_USER_IDS = st.sampled_from(["u-1", "alice", "u-1", " alice", "", "x" * 300, "ünï"])
_events = st.fixed_dictionaries(
    {"user_id": _USER_IDS, "event_type": _EVENT_TYPES},
    optional={
        "payload": st.one_of(
            st.dictionaries(st.sampled_from(["plan", "amount"]), st.integers(-5, 5) | st.text(max_size=3)),
            st.integers(),
        ),
        "message_id": st.sampled_from(["m-1", "", 7]),
        "tenant_slug": st.sampled_from(["acme", "globex"]),
        "timestamp": st.sampled_from(["2026-11-01T10:00:00Z", "yesterday", 3]),
        "anonymous_id": st.sampled_from(["anon-1", ""]),
    },
)
_bodies = st.one_of(
    st.just(json.dumps({"user_id": "u-1", "event_type": "page_viewed"})),
    _events.map(json.dumps),
    _events.map(json.dumps),
    st.sampled_from(
        [
            "",
            "{oops",
            "[]",
            '[{"user_id": "u-1", "event_type": "page_viewed"}]',
            "null",
            '"text"',
            '{"user_id": 5, "event_type": []}',
            "[" * 600 + "]" * 600,  # deeper than MAX_JSON_DEPTH
            json.dumps({"user_id": "u-1", "event_type": "page_viewed", "payload": {"x": "y" * 600_000}}),
            '{"user_id": "u-1", "event_type": "page_viewed"}'.encode("utf-16").decode("latin-1"),
        ]
    ),
)
_ACCEPT = [
    None,
    "*/*",
    "application/json",
    "application/*",
    "text/html",
    "application/json; indent=4",
    "application/json;q=0.9",
    "application/json, text/plain, */*",
    "text/html, */*",
    "text/html;q=0.9, application/json; indent=2",
    "Application/JSON",
    "application/xml",
    "",
]
_CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/json;charset=UTF-8",
    "Application/JSON",
    "application/json-patch+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "",
]
_HEADER_VALUES: dict[str, list[str]] = {
    "Accept": [a for a in _ACCEPT if a is not None],
    "X-SegOps-Tenant": ["acme", "globex", "nobody"],
    "Idempotency-Key": ["abc", ""],
    "Content-Encoding": ["gzip", "identity"],
    "X-Request-Id": ["req-123", "not a valid id!"],
    "Origin": ["https://shop.example", "null"],
    "Cookie": ["sessionid=abc; csrftoken=def", "theme=dark"],
    "X-API-Key": ["sk_live_nope"],
    "X-Forwarded-For": ["203.0.113.8"],
    "Host": ["evil.example", "testserver"],
    "X-Unknown": ["1"],
}
# Mostly none or one (so requests the short way answers are common), sometimes many.
_headers = st.one_of(
    st.just({}),
    st.sampled_from(sorted(_HEADER_VALUES)).flatmap(
        lambda name: st.sampled_from(_HEADER_VALUES[name]).map(lambda value: {name: value})
    ),
    st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in _HEADER_VALUES.items()}),
)
_TRACK_QUERIES = ["", "?debug=1", "?tenant_slug=globex", "?format=json", "?key=sk_live_nope"]
_MEMBERSHIP_QUERIES = [
    "user_id=alice",
    "user_id=carol",
    "user_id=nobody",
    "user_id=%20alice",
    "user_id=",
    "",
    "user_id=alice&segment_id={s}",
    "user_id=carol&segment_id={s}",
    "user_id=alice&segment_id=999999",
    "user_id=alice&segment_id=abc",
    "user_id=alice&segment_id=0",
    "user_id=alice&segment_id=1234567890123456789",
    "user_id=alice&user_id=bob",
    "user_id=alice&format=json",
    "user_id=alice&debug=1",
    "user_id=alice&tenant=globex",
    # What the short way reads from the environ itself or leaves to Django's QueryDict
    # (core/environ_request.py): escapes, `+`, `;`, empty pairs, a key in the URL.
    "user_id=al%69ce",
    "user_id=al+ice",
    "user_id=alice;segment_id={s}",
    "user_id",
    "user_id=alice&",
    "&user_id=alice",
    "user_id=ali=ce",
    "user_id=%C3%BCn%C3%AF",
    "user_id=alice&user_id=alice",
    "user_id=sk_live_nope",
]

_request = st.one_of(
    st.fixed_dictionaries(
        {
            "method": st.sampled_from(["POST"] * 6 + ["PUT", "HEAD", "OPTIONS"]),
            "path": st.sampled_from([TRACK] * 10 + [TRACK + q for q in _TRACK_QUERIES]),
            "body": _bodies,
            "content_type": st.sampled_from(["application/json"] * 12 + _CONTENT_TYPES),
        }
    ),
    st.fixed_dictionaries(
        {
            "method": st.sampled_from(["GET"] * 6 + ["HEAD", "OPTIONS", "POST"]),
            "path": st.sampled_from([f"{MEMBERSHIP}?{q}" for q in _MEMBERSHIP_QUERIES]),
            "body": st.just(""),
            "content_type": st.sampled_from(["", "application/json"]),
        }
    ),
)

_VALID_TRACK = {
    "method": "POST",
    "path": TRACK,
    "body": json.dumps({"user_id": "u-1", "event_type": "page_viewed"}),
    "content_type": "application/json",
}
_FULL = "every scope"
_VALID_MEMBERSHIP = {"method": "GET", "path": f"{MEMBERSHIP}?user_id=alice", "body": "", "content_type": ""}


@pytest.fixture
def world(team: Team, django_capture_on_commit_callbacks: Any) -> tuple[Credentials, int, Tenant]:
    """Acme with its credentials, a computed "Buyers" segment (alice and bob, not carol), and event
    schemas the generated events meet or not: order_placed's rejects, page_viewed's warns."""
    _history(team)
    segment_id = int(_create(team).json()["id"])
    with django_capture_on_commit_callbacks(execute=True):
        team.client("member").post(f"/api/segments/{segment_id}/compute/")
    schema_create(
        tenant=team.tenant,
        event_type="order_placed",
        properties={"amount": {"type": "integer", "required": True}},
        enforcement="reject",
    )
    schema_create(
        tenant=team.tenant,
        event_type="page_viewed",
        properties={"plan": {"type": "string", "required": True}},
        enforcement="warn",
    )
    return Credentials(team), segment_id, team.tenant


@pytest.mark.django_db
@override_settings(SEGOPS_KEY_CACHE=True)
@settings(
    max_examples=int(os.environ.get("SEGOPS_HYPOTHESIS_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    request=_request,
    credential=st.sampled_from(
        [
            *["every scope"] * 8,
            "events:write only",
            "segments:read only",
            "no scope",
            "revoked",
            "malformed",
            "two words",
            "unknown scheme",
            "person's JWT",
            "malformed bearer",
            "pk_ session token",
            "public key",
            "outsider's key",
            "key in X-API-Key",
            "none",
        ]
    ),
    headers=_headers,
    quota=st.sampled_from(["unlimited", "free plan", "free plan", "calls used up", "events used up"]),
)
# The drifts once known, always tried: DRF's 406 (nothing stored) and its indented JSON, and the
# CSRF cookie CsrfViewMiddleware renews when a request carries a malformed one.
@example(request=_VALID_TRACK, credential=_FULL, headers={"Accept": "text/html"}, quota="free plan")
@example(
    request=_VALID_TRACK,
    credential=_FULL,
    headers={"Accept": "application/json; indent=4"},
    quota="free plan",
)
@example(request=_VALID_MEMBERSHIP, credential=_FULL, headers={"Accept": "text/html"}, quota="free plan")
@example(
    request=_VALID_MEMBERSHIP,
    credential=_FULL,
    headers={"Accept": "application/json; indent=4"},
    quota="free plan",
)
@example(request=_VALID_TRACK, credential=_FULL, headers={"Cookie": "csrftoken=def"}, quota="free plan")
# Event schemas: a rejected event (a 400 naming the property, counted) and a warned one (stored
# with its violations, counted), both ways.
@example(
    request={**_VALID_TRACK, "body": json.dumps({"user_id": "u-1", "event_type": "order_placed"})},
    credential=_FULL,
    headers={},
    quota="free plan",
)
@example(
    request={
        **_VALID_TRACK,
        "body": json.dumps({"user_id": "u-1", "event_type": "page_viewed", "payload": {"plan": 3}}),
    },
    credential=_FULL,
    headers={},
    quota="free plan",
)
def test_it_answers_and_stores_alike_with_and_without_the_short_way(
    world: tuple[Credentials, int, Tenant],
    request: dict[str, Any],
    credential: str,
    headers: dict[str, str],
    quota: str,
) -> None:
    credentials, segment_id, tenant = world
    if credential == "key in X-API-Key":
        sent = {"X-API-Key": credentials.x_api_key, **headers}
    else:
        authorization = credentials.values[credential]
        sent = {**headers, **({"Authorization": authorization} if authorization else {})}
    path = request["path"].format(s=segment_id)
    app = Application()
    options = {"content_type": request["content_type"], "headers": sent}
    fast, fast_rows = _send(app.fast, tenant, quota, request["method"], path, request["body"], **options)
    django, django_rows = _send(
        app.django, tenant, quota, request["method"], path, request["body"], **options
    )
    fast, django = _comparable(fast), _comparable(django)
    event(f"{request['path'].split('?')[0]} {fast.status} served by {fast.served_by}")
    sent_as = f"{request['method']} {path} {sent} {request['content_type']!r}, {fast.served_by}"
    assert (fast.status, fast.headers, fast.body) == (django.status, django.headers, django.body), sent_as
    assert fast_rows == django_rows, sent_as
