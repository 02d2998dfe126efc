"""Writes for webhooks: create, change, delete (audited), a test ping, and a delivery sent again."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from segops_server.accounts.models import Tenant, User
from segops_server.audit.models import Action
from segops_server.audit.services import audit_record
from segops_server.core.errors import Conflict, Invalid
from segops_server.keys.models import ApiKey
from segops_server.segments.models import Segment
from segops_server.webhooks.deliveries import delivery_queue
from segops_server.webhooks.models import WEBHOOK_EVENTS, Delivery, DeliveryEvent, DeliveryStatus, Webhook
from segops_server.webhooks.signing import hmac_key, secret_generate
from segops_server.webhooks.ssrf import destination_check

# Every webhook is sent every event it asks for after each compute: a few receivers per workspace
# is what integrations need, and the limit keeps one compute from fanning out without bound.
MAX_WEBHOOKS_PER_TENANT = 20
# A shorter HMAC key could be guessed offline from any one signed body a receiver leaks.
MIN_SECRET_LENGTH = 16
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class Caller:
    """Who changes a webhook, for the audit log: a person, or an API key."""

    actor: User | None = None
    api_key: ApiKey | None = None
    request: Any = None


@dataclass(frozen=True)
class CreatedWebhook:
    """A new webhook and its secret: the only answer that carries the secret."""

    webhook: Webhook
    secret: str


def url_clean(url: str) -> str:
    """The URL if it may receive deliveries (https, public addresses; see ssrf.py), else Invalid
    on `url`. The host is resolved now, so a name that does not resolve is refused at once."""
    url = url.strip()
    destination_check(url, allow_private=settings.SEGOPS_WEBHOOK_ALLOW_PRIVATE_URLS)
    return url


def secret_clean(secret: str) -> str:
    if len(secret) < MIN_SECRET_LENGTH:
        raise Invalid({"secret": [f"A secret needs at least {MIN_SECRET_LENGTH} characters."]})
    if _SPACE_OR_CONTROL.search(secret):
        raise Invalid({"secret": ["A secret must not contain spaces or control characters."]})
    try:
        hmac_key(secret)
    except ValueError as exc:
        raise Invalid({"secret": [str(exc)]}) from None
    return secret


def events_clean(events: list[str]) -> list[str]:
    chosen = set(events)
    unknown = sorted(chosen - set(WEBHOOK_EVENTS))
    if unknown:
        raise Invalid(
            {"events": [f"Unknown events: {', '.join(unknown)}. Choose from {', '.join(WEBHOOK_EVENTS)}."]}
        )
    if not chosen:
        raise Invalid({"events": ["Choose at least one event."]})
    return [event for event in WEBHOOK_EVENTS if event in chosen]


def segment_ids_clean(*, tenant: Tenant, segment_ids: list[int] | None) -> list[int] | None:
    """None (every segment, those made later too) or the sorted ids of this tenant's segments."""
    if segment_ids is None:
        return None
    wanted = sorted(set(segment_ids))
    if not wanted:
        raise Invalid({"segment_ids": ["Give at least one segment id, or null for every segment."]})
    found = set(Segment.objects.for_tenant(tenant).filter(pk__in=wanted).values_list("pk", flat=True))
    unknown = [str(pk) for pk in wanted if pk not in found]
    if unknown:
        # Another tenant's segment reads as unknown too: its existence is not this caller's to learn.
        raise Invalid({"segment_ids": [f"No segment with id {', '.join(unknown)} in this workspace."]})
    return wanted


def _audit(action: str, webhook: Webhook, caller: Caller, **detail: Any) -> None:
    audit_record(
        action=action,
        tenant=webhook.tenant,
        actor=caller.actor,
        api_key=caller.api_key,
        key_prefix=caller.api_key.display_prefix if caller.api_key else "",
        request=caller.request,
        webhook_id=webhook.pk,
        url=webhook.url,
        **detail,
    )


@transaction.atomic
def webhook_create(
    *,
    tenant: Tenant,
    caller: Caller,
    url: str,
    secret: str | None = None,
    description: str = "",
    is_active: bool = True,
    events: list[str] | None = None,
    segment_ids: list[int] | None = None,
) -> CreatedWebhook:
    # The tenant's row is locked so two creations at once cannot both pass the limit.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    if Webhook.objects.for_tenant(tenant).count() >= MAX_WEBHOOKS_PER_TENANT:
        raise Invalid(
            f"A workspace can have at most {MAX_WEBHOOKS_PER_TENANT} webhooks;"
            " delete one before adding another."
        )
    webhook = Webhook(
        tenant=tenant,
        url=url_clean(url),
        secret=secret_generate() if secret is None else secret_clean(secret),
        description=description,
        is_active=is_active,
        events=events_clean(WEBHOOK_EVENTS if events is None else events),
        segment_ids=segment_ids_clean(tenant=tenant, segment_ids=segment_ids),
        created_by=caller.actor,
    )
    webhook.save()
    _audit(Action.WEBHOOK_CREATED, webhook, caller, events=webhook.events, segment_ids=webhook.segment_ids)
    return CreatedWebhook(webhook=webhook, secret=webhook.secret)


@transaction.atomic
def webhook_update(*, webhook: Webhook, caller: Caller, **fields: Any) -> Webhook:
    """Change the fields given; `is_active: true` also forgets why the webhook was disabled, so
    its 24 hours of failures start again from its next failure."""
    cleaners: dict[str, Callable[[Any], Any]] = {
        "url": url_clean,
        "secret": secret_clean,
        "events": events_clean,
        "segment_ids": lambda ids: segment_ids_clean(tenant=webhook.tenant, segment_ids=ids),
    }
    changed: list[str] = []
    for name, value in fields.items():
        value = cleaners[name](value) if name in cleaners else value
        if getattr(webhook, name) != value:
            setattr(webhook, name, value)
            changed.append(name)
    if fields.get("is_active") is True and (webhook.failing_since or webhook.disabled_reason):
        webhook.failing_since = None
        webhook.disabled_reason = ""
        changed.extend(name for name in ("failing_since", "disabled_reason") if name not in changed)
    if changed:
        webhook.save(update_fields=[*changed, "updated_at"])
        # The names of what changed, never a secret's value.
        _audit(Action.WEBHOOK_CHANGED, webhook, caller, changed=sorted(changed))
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook, caller: Caller) -> None:
    """Its deliveries go with it: nothing is sent to a receiver its owner removed."""
    _audit(Action.WEBHOOK_DELETED, webhook, caller)
    webhook.delete()


@transaction.atomic
def webhook_ping(*, webhook: Webhook) -> Delivery:
    """Queue a `ping` to the webhook (sent by the worker like any delivery, signed and recorded)."""
    payload = {
        "event": DeliveryEvent.PING.value,
        "tenant_slug": webhook.tenant.slug,
        "webhook_id": webhook.pk,
    }
    return delivery_queue(
        tenant_id=webhook.tenant_id, event=DeliveryEvent.PING, payload=payload, webhook_id=webhook.pk
    )


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery, now: datetime | None = None) -> Delivery:
    """Send a delivery again, as it was (same message id, so a receiver can tell it is the same
    message): back to pending, due now, with a fresh set of retries. Its past attempts stay."""
    now = now or timezone.now()
    row = Delivery.objects.unscoped_all_tenants().select_for_update().get(pk=delivery.pk)
    if (
        row.status == DeliveryStatus.PENDING
        and row.lease_expires_at is not None
        and row.lease_expires_at > now
    ):
        # Resetting it under the worker sending it would send it twice at once.
        raise Conflict("This delivery is being sent right now; redeliver it once this attempt ends.")
    row.status = DeliveryStatus.PENDING
    row.attempt_count = 0
    row.next_attempt_at = now
    row.finished_at = None
    row.lease_owner = ""
    row.lease_expires_at = None
    row.save(
        update_fields=[
            "status",
            "attempt_count",
            "next_attempt_at",
            "finished_at",
            "lease_owner",
            "lease_expires_at",
        ]
    )
    return row
