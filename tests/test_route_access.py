"""Every route in the URLconf, tried by an outsider, a Viewer, a key without scopes and a stranger.

The routes are read from Django's URL resolver, with the methods each view answers, so the
tests follow the code. What each caller may do is the table `ROUTES` below, one row per route
name, written from docs/api.md, docs/security.md and docs/console.md (not from the code).
A route the table does not name fails `test_it_knows_every_route`: a new route cannot ship
without saying who may call it, and then being tried by all of them.

The callers, all against tenant acme (the victim, full of named objects):

- `outsider`: globex's owner, signed in (JWT for the API, session for the console), naming acme
  (header, URL slug) and acme's objects: 404, never a 2xx, and none of acme's data in the body.
- `outsider-at-home`: the same person naming their own tenant globex, with acme's object ids in
  the URL: those objects are 404; routes that name no object answer about globex, never acme.
- `viewer`: acme's Viewer: reads allowed, writes refused with 403 unless the table says a Viewer
  may (preview, export).
- `scopeless-key`: an acme `sk_` key with `scopes=[]`: refused everywhere but the open routes.
- `anonymous`: no credentials: 401 from the API, a redirect to sign-in from the console, except
  the open routes (health, schema, docs, sign-in and sign-up, whoami).

Every refused request must leave acme as it was (`_fingerprint`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from segops_server.accounts.models import ROLE_RANK, Invitation, Membership, Role
from segops_server.accounts.services import member_invite
from segops_server.accounts.tokens import token_pair_issue
from segops_server.activations.models import Activation, ActivationSync
from segops_server.ingestion.models import Event, IdentityAlias
from segops_server.keys.models import ApiKey
from segops_server.schemas.models import EventSchema
from segops_server.schemas.services import schema_create
from segops_server.segments.definitions.services import segment_create
from segops_server.segments.models import Segment, SegmentExport
from segops_server.testing.factories import Team, client_for
from segops_server.testing.keys import key_client, make_api_key
from segops_server.testing.routes import EVERY_METHOD, Route, url_routes
from segops_server.testing.wsgi import Application
from segops_server.webhooks.deliveries import delivery_queue
from segops_server.webhooks.models import WEBHOOK_EVENTS, Delivery, Webhook
from segops_server.wsgi import build_application

pytestmark = pytest.mark.django_db

READS = ("GET", "HEAD", "OPTIONS")

# ---------------------------------------------------------------------------------------------
# The table: who may call each route.
# ---------------------------------------------------------------------------------------------

OPEN = "open"  # anyone, signed in or not, key or not (the answer may still be a 400 for the body)
PERSON = "person"  # a signed-in person, whatever their tenants; no key, no stranger
TENANT = "tenant"  # a member of the tenant with the role below; keys only with a scope
MACHINE = "machine"  # API keys and public-key sessions only; a person's JWT is not a credential


@dataclass(frozen=True)
class Rule:
    """Who may call one route. `roles` overrides the minimum role per method for TENANT routes
    (default: Viewer reads, Member writes, as in docs/api.md). `body` and `query` are what a
    caller sends, written so that a request that got past the checks would act (a refusal then
    cannot hide behind a 400 for a bad body); `{segment}`, `{key}`… are acme's objects."""

    access: str
    roles: dict[str, Role] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    # Per caller and method, where a route answers otherwise than its kind says (why: inline).
    expect: dict[tuple[str, str], str] = field(default_factory=dict)
    # (caller, method) whose answer may show acme's data by design (why: inline).
    shows_victim: tuple[tuple[str, str], ...] = ()

    def needed_role(self, method: str) -> Role:
        if method in self.roles:
            return self.roles[method]
        return Role.VIEWER if method in READS else Role.MEMBER


def tenant(**roles: Role) -> Rule:
    return Rule(TENANT, roles=roles)


# Reading needs an Admin: HEAD runs the GET and OPTIONS describes it, so they need one too.
ADMIN_READS = dict.fromkeys(READS, Role.ADMIN)
# Webhooks send members out: a Viewer may not even read them (docs/api.md, "Webhooks").
MEMBER_READS = dict.fromkeys(READS, Role.MEMBER)


DEFINITION = {
    "logic": "AND",
    "conditions": [{"type": "event_count", "event_type": "order_placed", "operator": "gte", "value": 1}],
}

ACTIVATION = {
    "segment": "{segment}",
    "connector_type": "webhook",
    "config": {"url": "https://8.8.8.8/pwned", "secret": "pwned"},
}

ROUTES: dict[str, Rule] = {
    # --- API: people and tenants (docs/api.md, "People and tenants")
    "register": Rule(OPEN),
    "token-obtain": Rule(OPEN),
    "token-refresh": Rule(OPEN),
    "logout": Rule(OPEN),
    "me": Rule(PERSON),
    "password-change": Rule(PERSON),  # "403 with an API key"
    "invitation-accept": Rule(
        PERSON,
        body={"token": "{invitation_token}"},
        # acme's real invitation is for invitee@acme.test: signed in as anyone else is a 403.
        expect={("outsider", "POST"): "403", ("viewer", "POST"): "403"},
    ),
    "tenant-list": Rule(PERSON, body={"name": "Other", "slug": "other-{seq}"}),
    "tenant-detail": Rule(TENANT, roles={"PATCH": Role.ADMIN, "DELETE": Role.OWNER}, body={"name": "Pwned"}),
    "member-list": Rule(TENANT, roles={"POST": Role.ADMIN}, body={"email": "new@evil.test", "role": "admin"}),
    "member-detail": Rule(TENANT, roles={"PATCH": Role.ADMIN, "DELETE": Role.ADMIN}, body={"role": "admin"}),
    "invitation-list": tenant(**ADMIN_READS),
    "invitation-detail": tenant(**ADMIN_READS, DELETE=Role.ADMIN),
    "audit-log": tenant(**ADMIN_READS),
    # --- API: keys (docs/api.md, "API keys"; docs/security.md: keys cannot manage keys)
    "api-key-list": Rule(TENANT, roles={**ADMIN_READS, "POST": Role.ADMIN}, body={"name": "Pwned"}),
    "api-key-detail": tenant(**ADMIN_READS, DELETE=Role.ADMIN),
    "api-key-roll": Rule(TENANT, roles={**ADMIN_READS, "POST": Role.ADMIN}, body={"grace_period_hours": 1}),
    "api-key-revoke-leaked": Rule(OPEN),  # anyone may kill a leaked key (no body here: acme's stays)
    "session": Rule(MACHINE, body={"anonymous_id": "visitor"}),  # pk_ keys only
    "whoami": Rule(OPEN),
    # --- API: ingestion (docs/ingestion.md: a key with events:write, or a session token)
    "track": Rule(MACHINE, body={"user_id": "intruder", "event_type": "forged"}),
    "track-batch": Rule(MACHINE, body={"events": [{"user_id": "intruder", "event_type": "forged"}]}),
    # --- API: explorer and segments (docs/api.md, "Segments": Viewer reads, Member writes)
    "explorer-users": Rule(TENANT, query={"q": "zebra"}),
    "explorer-user": tenant(),
    "explorer-user-events": tenant(),
    "explorer-user-segments": tenant(),
    "explorer-user-explain": tenant(),
    "segment-list": Rule(TENANT, body={"name": "Pwned", "definition": DEFINITION}),
    "segment-preview": Rule(TENANT, roles={"POST": Role.VIEWER}, body={"definition": DEFINITION, "limit": 5}),
    "segment-membership": Rule(TENANT, query={"user_id": "{event_user}", "segment_id": "{segment}"}),
    "segment-detail": Rule(TENANT, body={"name": "Pwned"}),
    "segment-versions": tenant(),
    "segment-compute": tenant(),
    "segment-members": tenant(),
    "segment-changes": tenant(),
    "segment-export": Rule(
        TENANT, roles={"POST": Role.VIEWER}, body={"format": "csv"}, query={"export_id": "{export}"}
    ),
    "segment-export-download": tenant(),
    # --- API: issue 14 (docs/api.md, "Sandbox, estimate and analytics")
    # The sandbox stores nothing but is a Member's tool; keys with segments:read.
    "explorer-sandbox-publish": Rule(
        TENANT, body={"user_id": "{event_user}", "event_type": "zebra_purchase"}
    ),
    "segment-estimate": Rule(TENANT, roles={"POST": Role.VIEWER}),  # a count, as a preview
    "analytics-overview": tenant(),
    "analytics-segments": tenant(),
    "analytics-overlap": tenant(),
    "analytics-activations": tenant(),
    "analytics-usage": tenant(),
    # Features not part of this installation: a 404 saying so, to anyone (docs/api.md).
    "not-installed": Rule(OPEN),
    # --- API: webhooks (docs/api.md, "Webhooks": Member and up for every method, keys webhooks:write)
    "webhook-list": Rule(TENANT, roles=MEMBER_READS, body={"url": "https://93.184.216.34/pwned"}),
    "webhook-detail": Rule(TENANT, roles=MEMBER_READS, body={"description": "Pwned"}),
    "webhook-deliveries": Rule(TENANT, roles=MEMBER_READS),
    "webhook-redeliver": Rule(TENANT, roles=MEMBER_READS),
    "webhook-test": Rule(TENANT, roles=MEMBER_READS),
    # --- API: activations (docs/api.md, "Activations": Viewer reads, Member writes)
    "activation-list": Rule(TENANT, body=ACTIVATION, query={"segment": "{segment}"}),
    "activation-detail": Rule(TENANT, body={"status": "active", "config": {"url": "https://8.8.8.8/p"}}),
    "activation-sync": tenant(),
    "activation-syncs": tenant(),
    # --- API: event schemas (docs/api.md, "Event schemas": Viewer reads, infers and validates)
    "schema-list": Rule(
        TENANT, body={"event_type": "pwned_event", "properties": {}, "enforcement": "reject"}
    ),
    "schema-detail": Rule(TENANT, body={"enforcement": "off", "properties": {}}),
    "schema-infer": Rule(
        TENANT, roles={"POST": Role.VIEWER}, body={"events": [{"event_type": "probe", "payload": {"a": 1}}]}
    ),
    "schema-validate": Rule(
        TENANT, roles={"POST": Role.VIEWER}, body={"event_type": "zebra_purchase", "payload": {}}
    ),
    # --- API: identity (docs/api.md, "Identity": Admins and keys with identity:write)
    "identity-alias": Rule(
        TENANT, roles={"POST": Role.ADMIN}, body={"anonymous_id": "zebra-visitor", "user_id": "{event_user}"}
    ),
    "identity-merge": Rule(
        TENANT, roles={"POST": Role.ADMIN}, body={"from_user_id": "{event_user}", "into_user_id": "intruder"}
    ),
    # --- API: schema and probes (docs/api.md: no auth)
    "schema": Rule(OPEN),
    "docs": Rule(OPEN),
    "healthz": Rule(OPEN),
    "readyz": Rule(OPEN),
    # The operator's scrape: allowed from SEGOPS_METRICS_ALLOW_IPS (the test client is 127.0.0.1)
    # or with its bearer token, 404 to anyone else (observability/tests); no tenant's data in it.
    "metrics": Rule(OPEN),
    # --- Console outside a tenant (docs/console.md)
    "console:entry": Rule(OPEN),
    "console:sign-in": Rule(OPEN),
    "console:sign-up": Rule(OPEN),
    "console:sign-out": Rule(OPEN),
    "console:tenant-new": Rule(PERSON, body={"name": "Other", "slug": "other-{seq}"}),
    "console:invitation-accept": Rule(
        PERSON,
        # The emailed link is the credential: whoever holds it sees the offer ("Join Acme"), GET
        # only shows it, and joining as another email is refused (docs/security.md, invitations).
        expect={("outsider", "POST"): "403", ("viewer", "POST"): "403"},
        shows_victim=(("outsider", "GET"), ("outsider", "POST")),
    ),
    # --- Console: /t/<slug>/… (console/access.py: Viewer reads, Member writes unless stated)
    "console:tenant-home": tenant(),
    "console:segment-list": tenant(),
    "console:segment-new": Rule(TENANT, body={"name": "Pwned", "definition": json.dumps(DEFINITION)}),
    "console:segment-preview": Rule(
        TENANT, roles={"POST": Role.VIEWER}, body={"definition": json.dumps(DEFINITION)}
    ),
    "console:segment-detail": Rule(TENANT, body={"name": "Pwned", "definition": json.dumps(DEFINITION)}),
    "console:segment-recompute": tenant(),
    "console:segment-status": tenant(),
    "console:segment-history": tenant(),
    "console:segment-changes": tenant(),
    "console:segment-activations": Rule(TENANT, body={"url": "https://8.8.8.8/pwned", "secret": "pwned"}),
    "console:activation-status": Rule(TENANT, body={"status": "inactive"}),
    "console:activation-sync": tenant(),
    "console:activation-delete": tenant(),
    "console:segment-export": Rule(TENANT, roles={"POST": Role.VIEWER}, body={"format": "csv"}),
    "console:segment-export-status": tenant(),
    "console:segment-export-download": tenant(),
    "console:explorer": Rule(TENANT, query={"q": "zebra"}),
    "console:explorer-user": Rule(TENANT, query={"user_id": "{event_user}"}),
    "console:settings": tenant(),
    "console:settings-general": Rule(
        TENANT, roles={"POST": Role.ADMIN}, body={"name": "Pwned", "slug": "pwned"}
    ),
    "console:tenant-delete": Rule(TENANT, roles={"POST": Role.OWNER}, body={"confirm": "acme"}),
    "console:settings-team": tenant(POST=Role.ADMIN),
    "console:team-invite": Rule(
        TENANT, roles={"POST": Role.ADMIN}, body={"email": "new@evil.test", "role": "admin"}
    ),
    "console:team-role": Rule(TENANT, roles={"POST": Role.ADMIN}, body={"role": "admin"}),
    "console:team-remove": tenant(GET=Role.ADMIN, POST=Role.ADMIN),
    "console:invitation-cancel": tenant(POST=Role.ADMIN),
    "console:key-list": tenant(GET=Role.ADMIN),
    "console:key-new": Rule(TENANT, roles={"GET": Role.ADMIN, "POST": Role.ADMIN}, body={"name": "Pwned"}),
    "console:key-revoke": tenant(GET=Role.ADMIN, POST=Role.ADMIN),
    "console:key-roll": Rule(
        TENANT, roles={"GET": Role.ADMIN, "POST": Role.ADMIN}, body={"grace_period_hours": "1"}
    ),
    "console:settings-audit": tenant(GET=Role.ADMIN),
    # Settings → Webhooks: Member and up, reads included (rules.WEBHOOKS, as the API).
    "console:webhook-list": tenant(GET=Role.MEMBER),
    "console:webhook-new": Rule(
        TENANT,
        roles={"GET": Role.MEMBER},
        body={"url": "https://93.184.216.34/pwned", "events": "segment.recomputed"},
    ),
    "console:webhook-deliveries": tenant(GET=Role.MEMBER),
    "console:webhook-test": tenant(),
    "console:webhook-active": Rule(TENANT, body={"is_active": "false"}),
    "console:webhook-delete": tenant(GET=Role.MEMBER),
    "console:webhook-redeliver": tenant(),
}

CALLERS = ("outsider", "outsider-at-home", "viewer", "scopeless-key", "anonymous")

# Path parameters that name one of acme's objects (user_id only as a member's numeric id; in the
# explorer's paths it is an event user id, which is no object of its own).
OBJECT_PARAMS = (
    "segment_id",
    "key_id",
    "invitation_id",
    "export_id",
    "token",
    "webhook_id",
    "delivery_id",
    "activation_id",
    "schema_id",
)


def _names_object(route: Route) -> bool:
    return any(p in OBJECT_PARAMS or (p == "user_id" and numeric) for p, numeric in route.params.items())


ALL_ROUTES = url_routes()
BY_NAME: dict[str, Route] = {route.name: route for route in ALL_ROUTES}
CASES = [
    pytest.param(route.name, method, caller, id=f"{route.name}-{method}-{caller}")
    for route in ALL_ROUTES
    if route.name in ROUTES
    for method in route.methods
    for caller in CALLERS
    # At home, only a tenant's routes change meaning (the others name no tenant).
    if caller != "outsider-at-home" or ROUTES[route.name].access == TENANT
]

# The short way (core/fastpath.py) answers some requests before Django sees them: those routes are
# tried once more through the whole WSGI application, as a server calls it.
SHORT_WAY = sorted((r.url_name, r.method) for r in build_application()._routes)
SHORT_WAY_CASES = [
    pytest.param(name, method, caller, id=f"{name}-{method}-{caller}")
    for name, method in SHORT_WAY
    for caller in CALLERS
    if name in ROUTES and (caller != "outsider-at-home" or ROUTES[name].access == TENANT)
]

# ---------------------------------------------------------------------------------------------
# Acme, full of named objects, and the callers.
# ---------------------------------------------------------------------------------------------

EVENT_USER = "zebra-user-1"


@dataclass
class Victim:
    team: Team
    values: dict[str, str]  # what `{…}` in a Rule stands for
    markers: list[str]  # strings of acme's data that no outsider's answer may contain
    scopeless_key: str


@pytest.fixture
def victim(team: Team, settings: Any, tmp_path: Any) -> Victim:
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            **settings.STORAGES["exports"],
            "OPTIONS": {**settings.STORAGES["exports"]["OPTIONS"], "location": tmp_path / "exports"},
        },
    }
    team.tenant.name = "Acme Zebracorp"
    team.tenant.save()
    issued = make_api_key(team.tenant, name="Zebra Ingestor")
    scopeless = make_api_key(team.tenant, name="Zebra Scopeless", scopes=[])
    event = {
        "user_id": EVENT_USER,
        "event_type": "zebra_purchase",
        "payload": {"zebra_note": "zebra-payload-secret"},
    }
    trait = {"user_id": EVENT_USER, "event_type": "context_identified", "payload": {"plan": "zebra-platinum"}}
    sent = key_client(issued.key).post(
        "/api/ingestion/track/batch/", {"events": [event, trait]}, format="json"
    )
    assert sent.status_code == 202, sent.content
    assert sent.json()["queued"] == 2, sent.content
    segment = segment_create(
        tenant=team.tenant,
        actor=team.owner,
        name="Zebra Whales",
        description="zebra-description-secret",
        definition=DEFINITION,
    )
    invited = member_invite(
        tenant=team.tenant, email="invitee@acme.test", role="viewer", invited_by=team.owner
    )
    assert invited.invitation is not None
    export = SegmentExport(tenant=team.tenant, segment=segment, format="csv", requested_generation=1)
    export.save()
    webhook = Webhook(
        tenant=team.tenant,
        url="https://zebra-hooks.example.com/segops",
        secret="whsec_zebra-webhook-secret",
        description="zebra-webhook-description",
        events=WEBHOOK_EVENTS,
    )
    webhook.save()
    delivery = delivery_queue(
        tenant_id=team.tenant.pk,
        event="segment.recomputed",
        payload={"event": "segment.recomputed", "segment_name": "Zebra Whales"},
        segment_id=segment.pk,
        webhook_id=webhook.pk,
    )
    activation = Activation(
        tenant=team.tenant,
        segment=segment,
        connector_type="webhook",
        config={"url": "https://zebra-receiver.example/hook", "secret": "zebra-activation-secret"},
        status="active",
    )
    activation.save()
    schema = schema_create(
        tenant=team.tenant,
        event_type="zebra_purchase",
        properties={"zebra_schema_field": {"type": "string", "required": True}},
        enforcement="warn",
    )
    values = {
        "tenant_slug": team.tenant.slug,
        "segment_id": str(segment.pk),
        "segment": str(segment.pk),
        "key_id": str(issued.api_key.pk),
        "invitation_id": str(invited.invitation.pk),
        "invitation_token": invited.token,
        "token": invited.token,
        "export_id": str(export.pk),
        "export": str(export.pk),
        "webhook_id": str(webhook.pk),
        "delivery_id": str(delivery.pk),
        "activation_id": str(activation.pk),
        "schema_id": str(schema.pk),
        "member_id": str(team.member.pk),
        "event_user": EVENT_USER,
        "feature": "pim",
        "seq": str(segment.pk),
    }
    markers = [
        "Zebracorp",
        "Zebra Whales",
        "zebra-description-secret",
        "Zebra Ingestor",
        "Zebra Scopeless",
        issued.api_key.display_prefix,
        "zebra_purchase",
        "zebra-payload-secret",
        "zebra-platinum",
        "invitee@acme.test",
        "admin@acme.test",
        "member@acme.test",
        "viewer@acme.test",
        "owner@acme.test",
        str(export.pk),
        "zebra-hooks.example.com",
        "zebra-webhook-secret",
        "zebra-webhook-description",
        delivery.message_id,
        "zebra-receiver.example",
        "zebra-activation-secret",
        "zebra_schema_field",
    ]
    return Victim(team=team, values=values, markers=markers, scopeless_key=scopeless.key)


def _fingerprint(victim: Victim) -> Any:
    """Everything of acme's a refused request must leave alone (the audit trail aside), events
    included: a refused track must store nothing, on the short way too."""
    tenant = victim.team.tenant
    tenant.refresh_from_db()
    return (
        tenant.name,
        tenant.slug,
        sorted(Membership.objects.for_tenant(tenant).values_list("user_id", "role")),
        sorted(Invitation.objects.for_tenant(tenant).values_list("id", "email", "role", "expires_at")),
        sorted(ApiKey.objects.for_tenant(tenant).values_list("id", "name", "revoked_at", "expires_at")),
        sorted(Segment.objects.for_tenant(tenant).values_list("id", "name", "description", "status")),
        SegmentExport.objects.for_tenant(tenant).count(),
        Event.objects.for_tenant(tenant).count(),
        sorted(
            Webhook.objects.for_tenant(tenant).values_list(
                "id", "url", "secret", "description", "is_active", "events", "segment_ids"
            )
        ),
        sorted(
            Delivery.objects.for_tenant(tenant).values_list(
                "id", "status", "attempt_count", "next_attempt_at"
            )
        ),
        sorted(Activation.objects.for_tenant(tenant).values_list("id", "status", "config")),
        ActivationSync.objects.for_tenant(tenant).count(),
        sorted(
            EventSchema.objects.for_tenant(tenant).values_list(
                "id", "event_type", "properties", "enforcement", "violation_count", "rejection_count"
            )
        ),
        sorted(IdentityAlias.objects.for_tenant(tenant).values_list("anonymous_id", "user_id")),
    )


def _client(caller: str, victim: Victim, *, console: bool) -> Client:
    team = victim.team
    user = {"outsider": team.outsider, "outsider-at-home": team.outsider, "viewer": team.viewer}.get(caller)
    if console:
        client = Client()
        if caller == "scopeless-key":
            client.defaults["HTTP_AUTHORIZATION"] = f"ApiKey {victim.scopeless_key}"
        elif user is not None:
            client.force_login(user)
        return client
    if caller == "scopeless-key":
        return key_client(victim.scopeless_key)
    named = team.other_tenant if caller == "outsider-at-home" else team.tenant
    return client_for(user, named if user is not None else None)


def _url(route: Route, rule: Rule, caller: str, victim: Victim, values: dict[str, str] | None = None) -> str:
    values = values or victim.values
    kwargs: dict[str, str] = {}
    for param, numeric in route.params.items():
        if param == "tenant_slug":
            kwargs[param] = victim.team.other_tenant.slug if caller == "outsider-at-home" else values[param]
        elif param == "user_id":
            kwargs[param] = values["member_id"] if numeric else values["event_user"]
        else:
            kwargs[param] = values[param]
    url = reverse(route.name, kwargs=kwargs)
    if rule.query:
        url += "?" + urlencode(_filled(rule.query, values))
    return url


def _send(client: Client, route: Route, method: str, url: str, body: dict[str, Any]) -> Any:
    call = getattr(client, method.lower())
    if method in READS:
        return call(url)
    if route.console:
        return call(url, body)
    return call(url, json.dumps(body), content_type="application/json")


def _content(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _filled(value: Any, values: dict[str, str]) -> Any:
    """`value` with each `{name}` replaced by acme's object (JSON in a form field stays as is)."""
    if isinstance(value, str):
        for name, replacement in values.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, dict):
        return {k: _filled(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, values) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# What each caller must get.
# ---------------------------------------------------------------------------------------------


def _expected(rule: Rule, route: Route, method: str, caller: str) -> str:
    """One of: open, allowed, own, sign-in, refused, or a status code."""
    if (caller, method) in rule.expect:
        return rule.expect[(caller, method)]
    if rule.access == OPEN:
        return "open"
    signed_in = caller in ("outsider", "outsider-at-home", "viewer")
    if route.console and not signed_in:
        return "sign-in"  # the console knows people by their session only; a key is nobody there
    if caller == "anonymous":
        return "401"
    if rule.access == PERSON:
        # The policy applies to every method, OPTIONS included: a key is refused.
        return "403" if caller == "scopeless-key" else "allowed"
    if rule.access == MACHINE:
        # A person's JWT is no credential there (401); a secret key without events:write is 403,
        # and a secret key where a public one is needed is 401.
        return "refused" if caller == "scopeless-key" else "401"
    if caller == "outsider":
        return "404"
    if caller == "outsider-at-home":
        # OPTIONS describes the view (name, renderers, parsers) and reads no object.
        return "404" if _names_object(route) and method != "OPTIONS" else "own"
    if caller == "scopeless-key":
        return "403"
    return "allowed" if ROLE_RANK[rule.needed_role(method)] <= ROLE_RANK[Role.VIEWER] else "403"


def _check(
    expected: str, status: int, header: Callable[[str], str | None], content: bytes, route: Route, method: str
) -> None:
    where = f"{status} {content[:300]!r}"
    if expected == "open":
        assert status not in (401, 403, 500), where
    elif expected == "allowed":
        assert status not in (401, 403, 404, 405), where
        assert status < 500, where
    elif expected == "own":
        assert status < 500, where
    elif expected == "sign-in":
        assert status == 302, where
        assert (header("Location") or "").startswith("/sign-in/?next="), header("Location")
    elif expected == "refused":
        assert status in (401, 403), where
    else:
        assert status == int(expected), where
    if status == 401 and not route.console:
        assert header("WWW-Authenticate"), "every 401 says how to authenticate"
    if status >= 400 and not route.console and method != "HEAD":  # HEAD answers carry no body
        # One error shape (STYLE.md 10): a refusal says why and nothing else.
        body = json.loads(content)
        assert isinstance(body, dict), where
        if "detail" in body:
            assert isinstance(body["detail"], str), where
        else:
            assert body, where
            assert all(isinstance(v, list) for v in body.values()), where


def _check_no_leak(victim: Victim, content: bytes, what: str) -> None:
    text = content.decode(errors="replace")
    leaked = [marker for marker in victim.markers if marker in text]
    assert not leaked, f"{what} shows acme's {leaked}"


@pytest.mark.parametrize(("name", "method", "caller"), CASES)
def test_it_gives_each_caller_what_the_table_says(
    name: str, method: str, caller: str, victim: Victim
) -> None:
    route, rule = BY_NAME[name], ROUTES[name]
    expected = _expected(rule, route, method, caller)
    before = _fingerprint(victim)

    client = _client(caller, victim, console=route.console)
    url = _url(route, rule, caller, victim)
    response = _send(client, route, method, url, _filled(rule.body, victim.values))
    content = _content(response)

    _check(expected, response.status_code, response.headers.get, content, route, method)
    # Acme's Viewer is one of acme: any page, even a refusal, may show acme; nobody else's may.
    if caller != "viewer" and (caller, method) not in rule.shows_victim:
        _check_no_leak(victim, content, f"{method} {url} as {caller}")
    if expected != "allowed":
        assert _fingerprint(victim) == before, f"{method} {url} as {caller} changed acme"
    if expected == "404" and caller.startswith("outsider"):
        # Learns nothing: acme's real objects answer exactly as made-up ones would.
        made_up = _made_up(victim, named_tenant=caller == "outsider")
        client = _client(caller, victim, console=route.console)
        if not route.console and caller == "outsider":
            client.defaults["HTTP_X_SEGOPS_TENANT"] = made_up["tenant_slug"]
        url = _url(route, rule, caller, victim, made_up)
        other = _send(client, route, method, url, _filled(rule.body, made_up))
        assert other.status_code == response.status_code
        assert _without_tokens(_content(other)) == _without_tokens(content)


def _made_up(victim: Victim, *, named_tenant: bool) -> dict[str, str]:
    """acme's values with every object (and, for `named_tenant`, the tenant) replaced by none."""
    nothing = {
        "segment_id": "999999999",
        "segment": "999999999",
        "key_id": "999999999",
        "invitation_id": "999999999",
        "member_id": "999999999",
        "export_id": "00000000-0000-4000-8000-000000000000",
        "export": "00000000-0000-4000-8000-000000000000",
        "webhook_id": "999999999",
        "delivery_id": "999999999",
        "activation_id": "999999999",
        "schema_id": "999999999",
    }
    if named_tenant:
        nothing["tenant_slug"] = "no-such-tenant"
    return {**victim.values, **nothing}


def _without_tokens(html: bytes) -> bytes:
    """The CSRF token is masked afresh on every page."""
    return re.sub(rb'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', rb"\1", html)


@pytest.mark.parametrize(("name", "method", "caller"), SHORT_WAY_CASES)
def test_it_gives_each_caller_the_same_on_the_short_way(
    name: str, method: str, caller: str, victim: Victim
) -> None:
    route, rule = BY_NAME[name], ROUTES[name]
    expected = _expected(rule, route, method, caller)
    before = _fingerprint(victim)
    team = victim.team
    headers: dict[str, str] = {}
    if caller == "scopeless-key":
        headers["Authorization"] = f"ApiKey {victim.scopeless_key}"
    elif caller != "anonymous":
        user = team.viewer if caller == "viewer" else team.outsider
        named = team.other_tenant if caller == "outsider-at-home" else team.tenant
        headers["Authorization"] = f"Bearer {token_pair_issue(user=user)['access']}"
        headers["X-SegOps-Tenant"] = named.slug
    url = _url(route, rule, caller, victim)
    body = _filled(rule.body, victim.values) if method not in READS else None

    answer = Application().fast(method, url, body, headers=headers)

    _check(expected, answer.status, answer.header, answer.body, route, method)
    if caller != "viewer":
        _check_no_leak(victim, answer.body, f"{method} {url} as {caller} (short way)")
    if expected != "allowed":
        assert _fingerprint(victim) == before, f"{method} {url} as {caller} changed acme"


def test_it_knows_every_route() -> None:
    """A route missing from ROUTES (or a row whose route is gone) fails here, by name."""
    names = [route.name for route in ALL_ROUTES]
    assert not [n for n in names if n.startswith("<unnamed")], "every route needs a name for the table"
    assert len(names) == len(set(names)), "two routes share a name: the table cannot tell them apart"
    missing = sorted(set(names) - set(ROUTES))
    assert not missing, f"add these routes to ROUTES (who may call them?): {missing}"
    stale = sorted(set(ROUTES) - set(names))
    assert not stale, f"these rows of ROUTES name no route any more: {stale}"


@pytest.mark.parametrize(
    "name", [route.name for route in ALL_ROUTES if set(EVERY_METHOD) - set(route.methods)]
)
def test_it_tries_every_method_a_route_answers(name: str, victim: Victim) -> None:
    """The methods read from the views are all there are: any other is a 405, even for the Owner."""
    route = BY_NAME[name]
    team = victim.team
    if route.console:
        client = Client()
        client.force_login(team.owner)
    elif ROUTES[name].access == MACHINE:
        # Past authentication, so that the answer is about the method: the key the route takes.
        kind = "public" if name == "session" else "secret"
        client = key_client(make_api_key(team.tenant, name="Method probe", type=kind).key)
    else:
        client = client_for(team.owner, team.tenant)
    url = _url(route, ROUTES[name], "owner", victim)
    for method in sorted(set(EVERY_METHOD) - set(route.methods)):
        response = _send(client, route, method, url, {})
        assert response.status_code == 405, (method, url, response.status_code)
