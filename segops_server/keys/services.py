"""Writes for API keys: create, roll, revoke, revoke-leaked, and the per-request verification."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NoReturn

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from segops_server.accounts.models import Tenant, User
from segops_server.audit.models import Action
from segops_server.audit.services import audit_record, client_ip
from segops_server.core.errors import Invalid, Unauthenticated
from segops_server.core.rawsql import instance_from_row, select_columns
from segops_server.core.writelock import write_without_waiting
from segops_server.keys import cache as key_cache
from segops_server.keys.format import (
    hmac_secret_generate,
    key_digest,
    key_display_prefix,
    key_generate,
    key_is_well_formed,
)
from segops_server.keys.models import KIND_PREFIX, ApiKey, KeyStatus, KeyType

LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    """A new key with its secrets: the only moment the plain key and HMAC secret exist."""

    api_key: ApiKey
    key: str
    hmac_secret: str | None


def _issue(*, template: ApiKey) -> IssuedKey:
    key = key_generate(kind=KIND_PREFIX[KeyType(template.type)], environment=template.environment)
    template.digest = key_digest(key)
    template.display_prefix = key_display_prefix(key)
    secret = hmac_secret_generate() if template.type == KeyType.PUBLIC else None
    template.hmac_secret = secret or ""
    template.save()
    return IssuedKey(api_key=template, key=key, hmac_secret=secret)


@transaction.atomic
def api_key_create(
    *,
    tenant: Tenant,
    created_by: User,
    name: str,
    type: str = KeyType.SECRET,
    environment: str = "live",
    scopes: list[str],
    expires_at: datetime | None = None,
    allowed_origins: list[str] | None = None,
    require_signed_user_id: bool = False,
    request: Any = None,
) -> IssuedKey:
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid({"expires_at": ["Must be in the future."]})
    public = type == KeyType.PUBLIC
    issued = _issue(
        template=ApiKey(
            tenant=tenant,
            name=name,
            type=type,
            environment=environment,
            scopes=[] if public else sorted(set(scopes)),
            created_by=created_by,
            expires_at=expires_at,
            allowed_origins=(allowed_origins or []) if public else [],
            require_signed_user_id=require_signed_user_id if public else False,
        )
    )
    audit_record(
        action=Action.KEY_CREATED,
        tenant=tenant,
        actor=created_by,
        api_key=issued.api_key,
        key_prefix=issued.api_key.display_prefix,
        request=request,
        name=name,
    )
    return issued


@transaction.atomic
def api_key_roll(*, api_key: ApiKey, actor: User, grace: timedelta, request: Any = None) -> IssuedKey:
    """A new key with the same name, type and scopes; the old one keeps working for `grace`."""
    if api_key.status != KeyStatus.ACTIVE:
        raise Invalid({"detail": "Only an active key can be rolled."})
    now = timezone.now()
    issued = _issue(
        template=ApiKey(
            tenant=api_key.tenant,
            name=api_key.name,
            type=api_key.type,
            environment=api_key.environment,
            scopes=api_key.scopes,
            created_by=actor,
            expires_at=None,
            allowed_origins=api_key.allowed_origins,
            require_signed_user_id=api_key.require_signed_user_id,
        )
    )
    old_expiry = now + grace
    if api_key.expires_at is None or api_key.expires_at > old_expiry:
        api_key.expires_at = old_expiry
    api_key.rolled_into = issued.api_key
    api_key.save(update_fields=["expires_at", "rolled_into"])
    audit_record(
        action=Action.KEY_ROLLED,
        tenant=api_key.tenant,
        actor=actor,
        api_key=api_key,
        key_prefix=api_key.display_prefix,
        request=request,
        new_key_id=issued.api_key.pk,
        grace_seconds=int(grace.total_seconds()),
    )
    return issued


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User | None, request: Any = None, leaked: bool = False) -> None:
    """Immediate on every process: verification reads the key row on each request, or (with
    SEGOPS_KEY_CACHE) every process's cache is dropped when this commits."""
    if api_key.revoked_at is not None:
        return
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    audit_record(
        action=Action.KEY_REVOKED_LEAKED if leaked else Action.KEY_REVOKED,
        tenant=api_key.tenant,
        actor=actor,
        api_key=api_key,
        key_prefix=api_key.display_prefix,
        request=request,
    )


def _lookup(raw: str) -> ApiKey | None:
    """The key (with its tenant) whose digest matches, in one hand-written indexed query.

    Authentication is where the tenant is learnt: the digest, unique across tenants, is the
    scope. Without SEGOPS_KEY_CACHE no cache sits here, so a revocation is seen by the very next
    request on any process; with it, see keys/cache.py for why that still holds.
    """
    digest = key_digest(raw)
    tagged = None
    if key_cache.enabled():
        cached = key_cache.get(digest)
        if cached is not None:
            return cached
        tagged = key_cache.epoch()
    n_key = len(ApiKey._meta.concrete_fields)
    with connection.cursor() as cursor:
        cursor.execute(_lookup_sql(), [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    key = instance_from_row(ApiKey, row[:n_key])
    if not hmac.compare_digest(key.digest, digest):
        return None
    key.tenant = instance_from_row(Tenant, row[n_key:])
    if tagged is not None:
        key_cache.put(digest, key, tagged)
    return key


@cache
def _lookup_sql() -> str:
    return (
        f"SELECT {select_columns(ApiKey, 'k')}, {select_columns(Tenant, 't')} "  # noqa: S608 (our names)
        f"FROM {ApiKey._meta.db_table} k JOIN {Tenant._meta.db_table} t ON t.id = k.tenant_id "
        "WHERE k.digest = %s"
    )


def api_key_revoke_leaked(*, raw: str, request: Any = None) -> None:
    """Anyone who finds a key may kill it; the answer is the same whether it existed or not."""
    if not key_is_well_formed(raw):
        return
    key = _lookup(raw)
    if key is not None:
        api_key_revoke(api_key=key, actor=None, request=request, leaked=True)


def _fail(message: str, *, raw: str, request: Any, key: ApiKey | None = None, action: str = "") -> NoReturn:
    audit_record(
        action=action or Action.KEY_AUTH_FAILED,
        tenant=key.tenant if key else None,
        api_key=key,
        key_prefix=key_display_prefix(raw) if key_is_well_formed(raw) else "",
        request=request,
        reason=message,
    )
    raise Unauthenticated(message)


@dataclass(frozen=True)
class KeyRefusal:
    message: str
    key: ApiKey | None = None
    action: str = Action.KEY_AUTH_FAILED


def api_key_check(raw: str) -> ApiKey | KeyRefusal:
    """The key behind `raw` if it is real and live, else why not (nothing recorded here)."""
    if not key_is_well_formed(raw):
        # Refused on shape and checksum alone: no database read for typos or forgeries.
        return KeyRefusal("Invalid API key.")
    key = _lookup(raw)
    if key is None:
        return KeyRefusal("Invalid API key.")
    if key.revoked_at is not None:
        return KeyRefusal("API key has been revoked.", key, Action.KEY_USED_AFTER_REVOCATION)
    if key.expires_at is not None and key.expires_at <= timezone.now():
        return KeyRefusal("API key has expired.", key)
    return key


def api_key_authenticate(*, raw: str, request: Any) -> ApiKey:
    """The key behind `raw`, if it is real and live; otherwise an audited 401."""
    checked = api_key_check(raw)
    if isinstance(checked, KeyRefusal):
        _fail(checked.message, raw=raw, request=request, key=checked.key, action=checked.action)
    api_key_touch(checked, request)
    return checked


def api_key_touch(key: ApiKey, request: Any) -> None:
    """Record last use at most once a minute per key; a conditional UPDATE so workers don't pile up."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    # Bookkeeping on every read path: skipped (until the key's next request) rather than waited
    # for when SQLite's write lock is taken, so the delivery API never waits for a writer.
    with write_without_waiting():
        ApiKey.objects.unscoped_all_tenants().filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=key.pk
        ).update(last_used_at=now, last_used_ip=client_ip(request))
    key.last_used_at = now  # a cached copy (SEGOPS_KEY_CACHE) then waits its minute too
